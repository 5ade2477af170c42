"""Touchpoints partitioned by month on PostgreSQL (migration accounts 0007; docs/operations.md).

`accounts_touchpoint` is declaratively partitioned by RANGE (occurred_at): one partition per
calendar month in UTC (`accounts_touchpoint_p2024_01` holds [2024-01-01, 2024-02-01) UTC) and a
DEFAULT partition (`accounts_touchpoint_default`) for touches of a month that has none yet.
SQLite keeps one plain table, and every function here is a no-op there.

PostgreSQL only allows unique keys on a partitioned table that include the partition key, so the
table's primary key is (id, occurred_at) (Django still treats `id` as the primary key: ids stay
unique, from one sequence) and the rule that (source, external_id) identifies a touch lives in
`accounts_touchpoint_key`: one row per touch, primary key (source, external_id), with the touch's id
and occurred_at. Statement triggers on the partitioned table keep it in step with every INSERT,
UPDATE, DELETE and TRUNCATE on the table (COPY too), so a second touch with a stored
(source, external_id) fails with an IntegrityError from any write path, whatever month it falls in;
the imports look existing touches up there first and update them (accounts.staging).

New months: the import and the bulk API create the partitions for the months they bring
(ensure_months) before writing; any other writer (the admin, one-touch API calls, the demo data)
lands in DEFAULT until `manage.py touchpoint_partitions create` moves those rows into their months.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection

TABLE = "accounts_touchpoint"
KEYS = "accounts_touchpoint_key"
DEFAULT = f"{TABLE}_default"
_NAME = re.compile(rf"^{TABLE}_p(\d{{4}})_(\d{{2}})$")
_BOUND = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")


@dataclass(frozen=True)
class Partition:
    name: str
    start: dt.datetime | None  # None: the DEFAULT partition
    end: dt.datetime | None
    rows: int  # the planner's estimate (pg_class.reltuples), exact enough for a listing


def month_start(day: dt.date | dt.datetime) -> dt.date:
    return dt.date(day.year, day.month, 1)


def next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: dt.date) -> str:
    return f"{TABLE}_p{month.year:04d}_{month.month:02d}"


def _bound(month: dt.date) -> str:
    return f"{month.isoformat()} 00:00:00+00"


def is_partitioned() -> bool:
    """True on PostgreSQL once migration 0007 has run (and not been reversed)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cur:
        cur.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cur.fetchone()
    return bool(row) and row[0] == "p"


def partitions() -> list[Partition]:
    """The attached partitions, oldest month first, DEFAULT last."""
    if not is_partitioned():
        return []
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
            [TABLE],
        )
        rows = cur.fetchall()
    found = []
    for name, bound, tuples in rows:
        match = _BOUND.search(bound or "")
        start = end = None
        if match:
            start, end = (dt.datetime.fromisoformat(v).astimezone(dt.UTC) for v in match.groups())
        found.append(Partition(name, start, end, max(int(tuples), 0)))
    return sorted(found, key=lambda p: (p.start is None, p.start or dt.datetime.min.replace(tzinfo=dt.UTC)))


def _columns(cur) -> str:
    cur.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum",
        [TABLE],
    )
    return ", ".join(f'"{r[0]}"' for r in cur.fetchall())


def ensure_months(months: Iterable[dt.date]) -> list[str]:
    """Create the partitions of these months that do not exist yet; returns the names created.

    Each new partition is built apart and attached (ATTACH takes a SHARE UPDATE EXCLUSIVE lock on
    the table, so reads and writes go on; the DEFAULT partition is locked while it is checked).
    Rows of that month already in DEFAULT move into it first, keeping their ids. Runs in the
    caller's transaction; call it holding `lock()` when other writers may race for the same month.
    """
    wanted = sorted({month_start(m) for m in months})
    if not wanted or not is_partitioned():
        return []
    have = {p.start.date() for p in partitions() if p.start is not None}
    created = []
    with connection.cursor() as cur:
        columns = None
        for month in wanted:
            if month in have:
                continue
            name, start, end = partition_name(month), _bound(month), _bound(next_month(month))
            # A month detached earlier keeps its table (and name): its new touches get a second one.
            cur.execute("SELECT count(*) FROM pg_class WHERE relkind IN ('r', 'p') AND relname LIKE %s "
                        "AND relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = %s::regclass)",
                        [f"{name}%", TABLE])
            taken = cur.fetchone()[0]
            name = f"{name}_{taken}" if taken else name
            columns = columns or _columns(cur)
            cur.execute(f'CREATE TABLE "{name}" (LIKE "{TABLE}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
                        f'INCLUDING STORAGE)')
            # The range as a CHECK first, so ATTACH need not scan the new table to prove it.
            check = f"{name}_range"
            cur.execute(f'ALTER TABLE "{name}" ADD CONSTRAINT "{check}" '
                        f"CHECK (occurred_at >= '{start}' AND occurred_at < '{end}')")
            cur.execute(f'WITH moved AS (DELETE FROM "{DEFAULT}" WHERE occurred_at >= %s AND occurred_at < %s '
                        f"RETURNING {columns}) INSERT INTO \"{name}\" ({columns}) SELECT {columns} FROM moved",
                        [start, end])
            cur.execute(f'ALTER TABLE "{TABLE}" ATTACH PARTITION "{name}" FOR VALUES FROM (%s) TO (%s)',
                        [start, end])
            cur.execute(f'ALTER TABLE "{name}" DROP CONSTRAINT "{check}"')
            created.append(name)
    return created


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first days of the months from `first`'s to `last`'s, both included."""
    months = [month_start(first)]
    while months[-1] < month_start(last):
        months.append(next_month(months[-1]))
    return months


def months_in_default() -> list[dt.date]:
    """The months of the touches waiting in DEFAULT."""
    if not is_partitioned():
        return []
    with connection.cursor() as cur:
        cur.execute(f"SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date FROM \"{DEFAULT}\"")
        return sorted(r[0] for r in cur.fetchall())


def create_ahead(*, today: dt.date, months: int) -> list[str]:
    """This month's and the next `months` months' partitions, and those of the rows in DEFAULT."""
    wanted = [month_start(today)]
    for _ in range(months):
        wanted.append(next_month(wanted[-1]))
    return ensure_months([*wanted, *months_in_default()])


def detach_before(month: dt.date) -> list[str]:
    """Detach the monthly partitions that end on or before `month` (its first day); returns their names.

    The detached tables stay in the database, out of every query, to be archived (pg_dump -t) or
    dropped. Their touches' keys leave accounts_touchpoint_key, so a later import of one of them
    stores it again as a new touch.
    """
    cutoff = dt.datetime(month.year, month.month, 1, tzinfo=dt.UTC)
    old = [p for p in partitions() if p.end is not None and p.end <= cutoff]
    with connection.cursor() as cur:
        for p in old:
            cur.execute(f'DELETE FROM "{KEYS}" k USING "{p.name}" t '
                        "WHERE k.source = t.source AND k.external_id = t.external_id AND k.touchpoint_id = t.id")
            cur.execute(f'ALTER TABLE "{TABLE}" DETACH PARTITION "{p.name}"')
    return [p.name for p in old]


def lock() -> None:
    """Serialise the touchpoint upserts (imports, bulk API) until the transaction ends: two at once
    would both find a key missing and the second insert would fail on it."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{TABLE} upsert"])
