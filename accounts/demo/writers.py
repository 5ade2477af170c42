"""Write generated bundles to the database in bulk: COPY on PostgreSQL, bulk_create elsewhere.

Both writers take the same chunk of `AccountBundle`s and store the same rows, so a seed gives the
same data on SQLite and PostgreSQL. Touchpoint external ids ("T00000001", …) are numbered in
generation order by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Model

from accounts.models import Account, Contact, Opportunity, Segment, Touchpoint

from .generator import AccountBundle

if TYPE_CHECKING:
    import psycopg

SOURCE = "demo"
BATCH_SIZE = 5_000


class BulkWriter:
    """bulk_create in batches: portable, and quick enough for the default few hundred accounts."""

    def __init__(self, *, now: datetime, owner_ids: Sequence[int], program_ids: Sequence[int],
                 segment_ids: dict[str, int]) -> None:
        self.now = now
        self.owner_ids = owner_ids
        self.program_ids = program_ids
        self.segment_ids = segment_ids

    def write(self, bundles: Sequence[AccountBundle], first_touch_number: int) -> tuple[int, int, int]:
        """Store a chunk; returns (contacts, touchpoints, opportunities) written."""
        accounts = Account.objects.bulk_create(
            [
                Account(
                    name=b.name, domain=b.domain, industry=b.industry, employees=b.employees,
                    annual_revenue=None if b.annual_revenue is None else Decimal(b.annual_revenue),
                    country=b.country, owner_id=self._owner(b), tier=b.tier, is_target=b.is_target,
                    external_id=b.external_id,
                )
                for b in bundles
            ],
            batch_size=BATCH_SIZE,
        )
        contact_objs = [
            Contact(account_id=account.pk, **vars(c)) for account, b in zip(accounts, bundles) for c in b.contacts
        ]
        Contact.objects.bulk_create(contact_objs, batch_size=BATCH_SIZE)
        contact_ids = iter(c.pk for c in contact_objs)
        through = Segment.accounts.through
        through.objects.bulk_create(
            [
                through(segment_id=self.segment_ids[key], account_id=account.pk)
                for account, b in zip(accounts, bundles)
                for key in b.segment_keys
            ],
            batch_size=BATCH_SIZE,
        )
        opportunities = [
            Opportunity(
                account_id=account.pk, name=o.name, amount=Decimal(o.amount), currency="USD", stage=o.stage,
                type=o.type, created_at=_dt(o.created), closed_at=None if o.closed is None else _dt(o.closed),
                is_closed=o.closed is not None, is_won=o.is_won, external_id=o.external_id,
            )
            for account, b in zip(accounts, bundles)
            for o in b.opportunities
        ]
        Opportunity.objects.bulk_create(opportunities, batch_size=BATCH_SIZE)
        touches = 0
        batch: list[Touchpoint] = []
        for account, b in zip(accounts, bundles):
            ids = [next(contact_ids) for _ in b.contacts]
            for contact, program, kind, at, minutes, score, performer in b.touches:
                batch.append(
                    Touchpoint(
                        account_id=account.pk,
                        contact_id=None if contact is None else ids[contact],
                        program_id=None if program is None else self.program_ids[program],
                        kind=kind, occurred_at=_dt(at), minutes=None if minutes is None else Decimal(minutes),
                        score=score, source=SOURCE, external_id=_touch_id(first_touch_number + touches),
                        performed_by_id=None if performer is None else self.owner_ids[performer],
                    )
                )
                touches += 1
                if len(batch) >= BATCH_SIZE:
                    Touchpoint.objects.bulk_create(batch)
                    batch = []
        Touchpoint.objects.bulk_create(batch)
        return len(contact_objs), touches, len(opportunities)

    def _owner(self, b: AccountBundle) -> int | None:
        return None if b.owner is None else self.owner_ids[b.owner]


class CopyWriter(BulkWriter):
    """PostgreSQL COPY through psycopg 3: ten million touchpoints without ten million INSERTs.

    Accounts and contacts take ids reserved from their sequences (one nextval query per chunk),
    so the touchpoints can name them without reading anything back.
    """

    def write(self, bundles: Sequence[AccountBundle], first_touch_number: int) -> tuple[int, int, int]:
        now = self.now
        account_ids = self._reserve(Account, len(bundles))
        contact_ids = self._reserve(Contact, sum(len(b.contacts) for b in bundles))
        with connection.cursor() as django_cursor:
            cursor = django_cursor.connection.cursor()  # the psycopg cursor under Django's wrapper
            self._copy(
                cursor, Account,
                ("id", "name", "domain", "industry", "employees", "annual_revenue", "country", "owner_id", "tier",
                 "is_target", "external_id", "created_at", "updated_at"),
                (
                    (aid, b.name, b.domain, b.industry, b.employees, b.annual_revenue, b.country, self._owner(b),
                     b.tier, b.is_target, b.external_id, now, now)
                    for aid, b in zip(account_ids, bundles)
                ),
            )
            contact_iter = iter(contact_ids)
            per_account: list[list[int]] = [[next(contact_iter) for _ in b.contacts] for b in bundles]
            self._copy(
                cursor, Contact,
                ("id", "account_id", "email", "first_name", "last_name", "title", "role", "department", "seniority",
                 "seniority_level", "phone", "opted_out", "external_id", "created_at", "updated_at"),
                (
                    (cid, aid, c.email, c.first_name, c.last_name, c.title, c.role, c.department, c.seniority,
                     c.seniority_level, c.phone, c.opted_out, c.external_id, now, now)
                    for aid, b, ids in zip(account_ids, bundles, per_account)
                    for cid, c in zip(ids, b.contacts)
                ),
            )
            through = Segment.accounts.through
            self._copy(
                cursor, through, ("segment_id", "account_id"),
                ((self.segment_ids[key], aid) for aid, b in zip(account_ids, bundles) for key in b.segment_keys),
            )
            opportunities = sum(len(b.opportunities) for b in bundles)
            self._copy(
                cursor, Opportunity,
                ("account_id", "name", "amount", "currency", "stage", "type", "created_at", "closed_at", "is_closed",
                 "is_won", "external_id", "updated_at"),
                (
                    (aid, o.name, o.amount, "USD", o.stage, o.type, _dt(o.created),
                     None if o.closed is None else _dt(o.closed), o.closed is not None, o.is_won, o.external_id, now)
                    for aid, b in zip(account_ids, bundles)
                    for o in b.opportunities
                ),
            )
            touches = sum(len(b.touches) for b in bundles)
            self._copy(
                cursor, Touchpoint,
                ("account_id", "contact_id", "program_id", "kind", "occurred_at", "minutes", "score", "source",
                 "external_id", "performed_by_id"),
                self._touch_rows(account_ids, bundles, per_account, first_touch_number),
            )
        return len(contact_ids), touches, opportunities

    def _touch_rows(
        self, account_ids: list[int], bundles: Sequence[AccountBundle], per_account: list[list[int]], number: int
    ) -> Iterator[tuple]:
        program_ids, owner_ids = self.program_ids, self.owner_ids
        ts = _TimestampText()
        for aid, b, ids in zip(account_ids, bundles, per_account):
            for contact, program, kind, at, minutes, score, performer in b.touches:
                yield (
                    aid,
                    None if contact is None else ids[contact],
                    None if program is None else program_ids[program],
                    kind, ts(at), minutes, score, SOURCE, _touch_id(number),
                    None if performer is None else owner_ids[performer],
                )
                number += 1

    @staticmethod
    def _reserve(model: type[Model], count: int) -> list[int]:
        if not count:
            return []
        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
            )
            return [row[0] for row in cursor.fetchall()]

    @staticmethod
    def _copy(cursor: psycopg.Cursor, model: type[Model], columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
        names = ", ".join(f'"{c}"' for c in columns)
        with cursor.copy(f'COPY "{model._meta.db_table}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)


@contextmanager
def touchpoint_indexes_deferred() -> Iterator[None]:
    """Drop the (empty) touchpoint table's indexes and constraints for the load, then rebuild them.

    Maintaining eight indexes and three foreign-key checks row by row costs PostgreSQL most of a
    ten-million-row load, more as the indexes outgrow shared_buffers; one sort per index and one
    join per foreign key at the end cost a fraction of that. The definitions are read back from
    the catalog, so the rebuilt schema is exactly the migrated one, and DDL is transactional: a
    failed load rolls the drops back too. Runs inside the caller's transaction, which holds the
    table's lock until it commits.
    """
    table = Touchpoint._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype IN ('f', 'u') ORDER BY conname",
            [table],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)"
            " ORDER BY indexname",
            [table, table],
        )
        indexes = cursor.fetchall()
        for name, _ in constraints:
            cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            # A partitioned table's index reads "ON ONLY" (accounts.partitions): rebuild it on every partition.
            cursor.execute(definition.replace(" ON ONLY ", " ON "))
        for name, definition in constraints:
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')


class _TimestampText:
    """Epoch seconds → 'YYYY-MM-DD HH:MM:SS+00', the date part cached per day (cheaper than datetimes)."""

    def __init__(self) -> None:
        self.days: dict[int, str] = {}

    def __call__(self, epoch: int) -> str:
        day, second = divmod(epoch, 86_400)
        prefix = self.days.get(day)
        if prefix is None:
            prefix = self.days[day] = datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%d ")
        hour, rest = divmod(second, 3_600)
        return f"{prefix}{hour:02d}:{rest // 60:02d}:{rest % 60:02d}+00"


def _dt(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _touch_id(number: int) -> str:
    return f"T{number:08d}"
