"""Signals the accounts app sends for other apps to act on, without importing them.

`touchpoints_changed` is sent after a transaction that wrote touchpoints commits (the CSV import and
POST /api/v1/touchpoints/bulk both write through accounts.staging), with the accounts whose touches
were created, changed or moved (both the old and the new account of a moved touch) and the earliest
UTC day among those touches (old and new dates). The metrics app recomputes those accounts' figures
for the published days from that day on (metrics.apps connects the receiver).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.dispatch import Signal

if TYPE_CHECKING:
    from accounts.staging import TouchpointStage

# Arguments: account_ids (frozenset[int]), earliest_day (datetime.date).
touchpoints_changed = Signal()


def send_touchpoints_changed(*, account_ids: set[int], earliest_day: dt.date) -> None:
    """Send touchpoints_changed once the current transaction commits (now, outside one); nothing
    when no account changed or the transaction rolls back."""
    if not account_ids:
        return
    ids = frozenset(account_ids)

    def send() -> None:  # a named function: Django logs a robust callback's __qualname__
        touchpoints_changed.send(sender=touchpoints_changed, account_ids=ids, earliest_day=earliest_day)

    transaction.on_commit(send, robust=True)


def stage_changes(stage: TouchpointStage) -> None:
    """Before TouchpointStage.upsert writes the staged rows: note which accounts and days the rows
    it will create or change touch, and send touchpoints_changed for them on commit.

    One grouped query over the stage, with the same joins as the upsert and the same "new or
    different" test on the columns the metrics read; a row that is already stored unchanged touches nothing. A changed touch counts
    for its new account and date and for its old ones (a touch moved away changes the old account).
    """
    from accounts.staging import _ACCOUNT, _JOINS, STAGE

    columns = ("account_id", "contact_id", "program_id", "kind", "occurred_at", "minutes", "score")
    resolved = (_ACCOUNT, "COALESCE(ce.id, cx.id)", "p.id", "s.kind", "s.occurred_at", "s.minutes", "s.score")
    differs = " OR ".join(f"t.{c} IS DISTINCT FROM {v}" for c, v in zip(columns, resolved, strict=True))
    sql = stage._sql(
        f"WITH changed AS (SELECT {_ACCOUNT} AS new_account, s.occurred_at AS new_at, "
        f"t.account_id AS old_account, t.occurred_at AS old_at {_JOINS}"
        f"{_stored_join(stage)}"
        f"WHERE t.id IS NULL OR {differs}) "
        f"SELECT account_id, MIN(at) FROM (SELECT new_account AS account_id, new_at AS at FROM changed "
        f"UNION ALL SELECT old_account, old_at FROM changed WHERE old_account IS NOT NULL) touched "
        f"WHERE account_id IS NOT NULL GROUP BY account_id"
    )
    with connection.cursor() as cur:
        cur.execute(sql)
        rows = cur.fetchall()
    if not rows:
        return
    earliest = min(_as_datetime(at) for _, at in rows)
    send_touchpoints_changed(account_ids={account_id for account_id, _ in rows},
                             earliest_day=earliest.astimezone(dt.UTC).date())


def _stored_join(stage: TouchpointStage) -> str:
    """The stage's own way to find a staged row's stored touch `t` (by key; through the key table
    on PostgreSQL's partitioned table)."""
    return getattr(stage, "stored_join", None) or (
        "LEFT JOIN accounts_touchpoint t ON t.source = s.source AND t.external_id = s.external_id "
    )


def _as_datetime(value: dt.datetime | str) -> dt.datetime:
    """SQLite gives a MIN over a UNION as the stored text ('YYYY-MM-DD HH:MM:SS[.ffffff]', UTC)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
