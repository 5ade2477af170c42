"""Small builders for hand-made metric scenarios. Every date is relative to one as-of day D."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from accounts.models import Account, Contact, Opportunity, Program, Touchpoint

D = date(2024, 6, 30)
_ids = itertools.count(1)


def at(days_before: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    """An instant on day D − days_before (negative: after D), UTC."""
    return datetime.combine(D - timedelta(days=days_before), time(hour, minute, second), tzinfo=UTC)


def account(name: str = "", *, is_target: bool = True, **fields) -> Account:
    n = next(_ids)
    return Account.objects.create(
        name=name or f"Account {n}", domain=fields.pop("domain", f"a{n}.example"), is_target=is_target,
        external_id=fields.pop("external_id", f"ACC-{n}"), **fields,
    )


def contact(acc: Account, *, seniority: str = "", role: str = "", **fields) -> Contact:
    n = next(_ids)
    return Contact.objects.create(
        account=acc, email=fields.pop("email", f"c{n}@{acc.domain}"), seniority=seniority, role=role,
        external_id=f"CON-{n}", **fields,
    )


def touch(acc: Account, kind: str, when: datetime, *, who: Contact | None = None, program: Program | None = None,
          minutes: str | None = None, score: int | None = None) -> Touchpoint:
    return Touchpoint.objects.create(
        account=acc, contact=who, program=program, kind=kind, occurred_at=when,
        minutes=Decimal(minutes) if minutes is not None else None, score=score, source="test",
        external_id=f"T-{next(_ids)}",
    )


def program(name: str, channel: str, **fields) -> Program:
    return Program.objects.create(name=name, channel=channel, external_id=fields.pop("external_id", name), **fields)


def opportunity(acc: Account, amount: str, created: datetime, *, closed: datetime | None = None, won: bool = False,
                external_id: str | None = None) -> Opportunity:
    return Opportunity.objects.create(
        account=acc, name=f"Opp {next(_ids)}", amount=Decimal(amount), created_at=created, closed_at=closed,
        is_closed=closed is not None, is_won=won, external_id=external_id or f"OPP-{next(_ids)}",
    )


def snapshot_rows() -> dict[str, list[tuple]]:
    """Every row of every table a metrics day writes, without row ids, in a fixed order: two runs
    (or a run and a refresh, or a backfill) that must agree compare equal."""
    from metrics.models import (
        AccountSnapshot,
        AttributionCredit,
        ChannelSnapshot,
        ContactSnapshot,
        InfluenceSummary,
        OutcomeComparison,
        OutcomeGroup,
        ProgramSnapshot,
        SegmentSnapshot,
    )

    dumped = {}
    for model in (AccountSnapshot, ContactSnapshot, SegmentSnapshot, ProgramSnapshot, ChannelSnapshot, OutcomeGroup,
                  OutcomeComparison, AttributionCredit, InfluenceSummary):
        names = [f.attname for f in model._meta.concrete_fields if f.name != "id"]
        dumped[model.__name__] = sorted(
            (tuple(repr(value) for value in row) for row in model.objects.values_list(*names)), key=str
        )
    return dumped
