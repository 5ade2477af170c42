"""Touchpoint writes for large volumes, shared by the CSV import and POST /api/v1/touchpoints/bulk.

Rows go into a temporary staging table (COPY on PostgreSQL, batched executemany on SQLite);
references (account external id, domain or name; contact email / external id; program
external id) are then checked and resolved with set-based SQL, and one INSERT … SELECT … ON CONFLICT (source,
external_id) DO UPDATE … WHERE something changed writes them, new rows in (account, occurred_at)
order. (PostgreSQL's partitioned table has no such unique key: there the stored touches are found
through accounts_touchpoint_key, updated, and the new ones inserted; accounts.partitions.) A touch
that is already stored with the same values is left alone, so re-importing a file reports it as unchanged.

Everything happens inside the caller's transaction; the staging table disappears with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection

from accounts import partitions, references, signals
from accounts.services import InvalidRecord, Problem, validate_domain

STAGE = "imports_touchpoint_stage"
# The reason given for an ambiguous account name; the caller replaces it with the candidates.
AMBIGUOUS = "ambiguous account name"
_COLUMNS = ("row_no", "source", "external_id", "kind", "occurred_at", "minutes", "score",
            "account_ext", "contact_email", "contact_ext", "program_ext", "account_domain", "account_name",
            "performed_by")
_BATCH = 5000


class StagedRow(NamedTuple):
    row_no: int
    source: str
    external_id: str
    kind: str
    occurred_at: dt.datetime
    minutes: Decimal | None
    score: int | None
    account_ext: str | None
    contact_email: str | None
    contact_ext: str | None
    program_ext: str | None
    # When no account_ext is given: the account's normalised domain, else its name (case-insensitive).
    account_domain: str | None = None
    account_name: str | None = None
    # The rep who performed the touch: a user's email, normalised (sales activity).
    performed_by: str | None = None


def touchpoint_refs(*, refs: Mapping[str, str | None], check_email: Callable[[str], str | None]) -> dict[str, Any]:
    """The references a source gave for a touch, normalised for staging (shared by the CSV import and
    POST /touchpoints/bulk; looked up later, in SQL). The account is the first of its id, domain and
    name given (accounts.references); `check_email` normalises an email or returns None when it is
    not one. Raises InvalidRecord naming the field at fault."""
    problems = []
    email = None
    if refs.get("contact_email"):
        email = check_email(refs["contact_email"])
        if email is None:
            problems.append(Problem("contact_email", f"{refs['contact_email']!r} is not an email address"))
    performed_by = None
    if refs.get("performed_by"):
        performed_by = check_email(refs["performed_by"])
        if performed_by is None:
            problems.append(Problem("performed_by", f"{refs['performed_by']!r} is not an email address"))
    account_ext = (refs.get("account_external_id") or "").strip() or None
    account_domain = account_name = None
    if not account_ext:
        try:
            account_domain = validate_domain(refs.get("account_domain"))
        except ValueError as exc:
            problems.append(Problem("account_domain", str(exc)))
        if not account_domain:
            account_name = (refs.get("account_name") or "").strip() or None
    contact_ext = (refs.get("contact_external_id") or "").strip() or None
    if not (account_ext or account_domain or account_name or email or contact_ext) and not problems:
        problems.append(Problem("account_external_id", "a touchpoint needs an account (external id, domain or "
                                                      "name), a contact email or a contact external id"))
    if problems:
        raise InvalidRecord(problems)
    return {"account_ext": account_ext, "contact_email": email, "contact_ext": contact_ext,
            "program_ext": (refs.get("program_external_id") or "").strip() or None,
            "account_domain": account_domain, "account_name": account_name, "performed_by": performed_by}


def staged_row(row_no: int, clean: Mapping[str, Any], refs: Mapping[str, Any]) -> StagedRow:
    """touchpoint_clean()'s output and touchpoint_refs()'s, as the row to stage."""
    return StagedRow(row_no, clean["source"], clean["external_id"], clean["kind"], clean["occurred_at"],
                     clean["minutes"], clean["score"], refs["account_ext"], refs["contact_email"],
                     refs["contact_ext"], refs["program_ext"], refs["account_domain"], refs["account_name"],
                     refs.get("performed_by"))


@dataclass(frozen=True)
class StageProblem:
    row_no: int
    field: str
    reason: str


# No account id given: the account by domain, else by name (lower-cased; `an.n` > 1 is ambiguous).
# FOLD( is the name-folding function, filled in per database by TouchpointStage._sql: lower() on
# PostgreSQL, unicode_lower() on SQLite (accounts.references.sql_lower).
_BY_DOMAIN = "s.account_ext IS NULL AND s.account_domain IS NOT NULL"
_BY_NAME = "s.account_ext IS NULL AND s.account_domain IS NULL AND s.account_name IS NOT NULL"
_NO_ACCOUNT_GIVEN = "s.account_ext IS NULL AND s.account_domain IS NULL AND s.account_name IS NULL"
_NAMES = (f"(SELECT FOLD(name) AS lname, min(id) AS id, count(*) AS n FROM accounts_account "
          f"WHERE FOLD(name) IN (SELECT FOLD(account_name) FROM {STAGE}) GROUP BY FOLD(name))")
# The rep a touch names by email: the user with that email (the first by id, as an account's owner
# is found by accounts.services.owner_for_email). Unlike an account's owner, an unknown one is a
# row error: activity is never credited to a user nobody can log in as.
_PERFORMERS = (f"(SELECT FOLD(email) AS email, min(id) AS id FROM auth_user "
               f"WHERE FOLD(email) IN (SELECT performed_by FROM {STAGE}) GROUP BY FOLD(email))")

# One check per reference; each is a WHERE clause over the staging row `s`, and a reason.
_CHECKS: tuple[tuple[str, str, str], ...] = (
    ("account_external_id",
     "s.account_ext IS NOT NULL AND NOT EXISTS (SELECT 1 FROM accounts_account a WHERE a.external_id = s.account_ext)",
     "'unknown account ' || s.account_ext"),
    ("account_domain",
     f"{_BY_DOMAIN} AND NOT EXISTS (SELECT 1 FROM accounts_account a WHERE a.domain = s.account_domain)",
     "'no account has the domain ' || s.account_domain"),
    ("account_name",
     f"{_BY_NAME} AND NOT EXISTS (SELECT 1 FROM accounts_account a WHERE FOLD(a.name) = FOLD(s.account_name))",
     "'no account is named ' || s.account_name"),
    ("account_name",
     f"{_BY_NAME} AND (SELECT count(*) FROM accounts_account a WHERE FOLD(a.name) = FOLD(s.account_name)) > 1",
     f"'{AMBIGUOUS} ' || s.account_name"),
    ("contact_email",
     "s.contact_email IS NOT NULL AND NOT EXISTS (SELECT 1 FROM accounts_contact c WHERE c.email = s.contact_email)",
     "'unknown contact ' || s.contact_email"),
    ("contact_external_id",
     "s.contact_ext IS NOT NULL AND s.contact_email IS NULL AND NOT EXISTS "
     "(SELECT 1 FROM accounts_contact c WHERE c.external_id = s.contact_ext)",
     "'unknown contact (external id ' || s.contact_ext || ')'"),
    ("program_external_id",
     "s.program_ext IS NOT NULL AND NOT EXISTS (SELECT 1 FROM accounts_program p WHERE p.external_id = s.program_ext)",
     "'unknown program ' || s.program_ext"),
    ("performed_by",
     "s.performed_by IS NOT NULL AND NOT EXISTS (SELECT 1 FROM auth_user u WHERE FOLD(u.email) = s.performed_by)",
     "'no user has the email ' || s.performed_by"),
    ("account_external_id",
     f"{_NO_ACCOUNT_GIVEN} AND NOT EXISTS (SELECT 1 FROM accounts_contact c WHERE c.account_id IS NOT NULL AND "
     "((s.contact_email IS NOT NULL AND c.email = s.contact_email) OR "
     "(s.contact_email IS NULL AND c.external_id = s.contact_ext))) AND ("
     "EXISTS (SELECT 1 FROM accounts_contact c WHERE c.email = s.contact_email) OR "
     "EXISTS (SELECT 1 FROM accounts_contact c WHERE s.contact_email IS NULL AND c.external_id = s.contact_ext))",
     "'the contact has no account: give account_external_id or assign the contact to an account'"),
)


_JOINS = (
    f"FROM {STAGE} s "
    "LEFT JOIN accounts_account a ON a.external_id = s.account_ext "
    f"LEFT JOIN accounts_account ad ON {_BY_DOMAIN} AND ad.domain = s.account_domain "
    f"LEFT JOIN {_NAMES} an ON {_BY_NAME} AND an.lname = FOLD(s.account_name) "
    "LEFT JOIN accounts_contact ce ON ce.email = s.contact_email "
    "LEFT JOIN accounts_contact cx ON s.contact_email IS NULL AND cx.external_id = s.contact_ext "
    "LEFT JOIN accounts_program p ON p.external_id = s.program_ext "
    f"LEFT JOIN {_PERFORMERS} u ON u.email = s.performed_by "
)
# The _CHECKS in one scan (external ids, domains and emails are unique and names are grouped, so
# the joins never multiply rows).
_COUNT_PROBLEMS = (
    "SELECT "
    "count(*) FILTER (WHERE s.account_ext IS NOT NULL AND a.id IS NULL), "
    f"count(*) FILTER (WHERE {_BY_DOMAIN} AND ad.id IS NULL), "
    f"count(*) FILTER (WHERE {_BY_NAME} AND an.id IS NULL), "
    f"count(*) FILTER (WHERE {_BY_NAME} AND an.n > 1), "
    "count(*) FILTER (WHERE s.contact_email IS NOT NULL AND ce.id IS NULL), "
    "count(*) FILTER (WHERE s.contact_ext IS NOT NULL AND s.contact_email IS NULL AND cx.id IS NULL), "
    "count(*) FILTER (WHERE s.program_ext IS NOT NULL AND p.id IS NULL), "
    "count(*) FILTER (WHERE s.performed_by IS NOT NULL AND u.id IS NULL), "
    f"count(*) FILTER (WHERE {_NO_ACCOUNT_GIVEN} AND COALESCE(ce.id, cx.id) IS NOT NULL "
    "AND COALESCE(ce.account_id, cx.account_id) IS NULL) " + _JOINS
)
# The account a staged row names, in order: its id, its domain, its (unambiguous) name, its contact's.
_ACCOUNT = "COALESCE(a.id, ad.id, CASE WHEN an.n = 1 THEN an.id END, ce.account_id, cx.account_id)"


class TouchpointStage:
    """Use inside transaction.atomic(): create(), add() rows, problems(), upsert()."""

    def __init__(self) -> None:
        self.vendor = connection.vendor
        self.count = 0
        self.partitioned = False  # set by upsert(): PostgreSQL's monthly partitions (accounts.partitions)
        self.stored = 0
        self._pending: list[tuple] = []

    def create(self) -> None:
        with connection.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {STAGE}")
            ts = "timestamptz" if self.vendor == "postgresql" else "datetime"
            on_commit = " ON COMMIT DROP" if self.vendor == "postgresql" else ""
            cur.execute(
                f"CREATE TEMPORARY TABLE {STAGE} (row_no bigint, source varchar(50), external_id varchar(150), "
                f"kind varchar(30), occurred_at {ts}, minutes decimal(8, 2), score integer, account_ext varchar(100), "
                f"contact_email varchar(254), contact_ext varchar(100), program_ext varchar(100), "
                f"account_domain varchar(255), account_name varchar(255), performed_by varchar(254)){on_commit}"
            )

    def add(self, rows: Iterable[StagedRow]) -> None:
        pending = self._pending
        for row in rows:
            pending.append(row)  # a StagedRow is a tuple in column order
            if len(pending) >= _BATCH:
                self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        with connection.cursor() as cur:
            if self.vendor == "postgresql":
                # COPY is the fastest way in; psycopg adapts datetimes and decimals itself.
                with cur.cursor.copy(f"COPY {STAGE} ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
                    for values in self._pending:
                        copy.write_row(values)
            else:
                adapt_dt = connection.ops.adapt_datetimefield_value
                cur.executemany(
                    f"INSERT INTO {STAGE} ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})",
                    [v[:4] + (adapt_dt(v[4]), None if v[5] is None else str(v[5])) + v[6:] for v in self._pending],
                )
        self.count += len(self._pending)
        self._pending.clear()

    def problems(self, *, limit: int | None) -> tuple[list[StageProblem], int, int]:
        """Duplicate keys and unknown references: (first `limit` problems by row, or all with None;
        problem count; rows affected)."""
        self.flush()
        with connection.cursor() as cur:
            if self.vendor == "postgresql":
                cur.execute(f"ANALYZE {STAGE}")
            cur.execute(self._sql(_COUNT_PROBLEMS))
            counts = cur.fetchone()
            found: list[StageProblem] = []
            total = 0
            cur.execute(
                f"SELECT s.row_no, d.first_row FROM {STAGE} s JOIN (SELECT source, external_id, min(row_no) AS first_row "
                f"FROM {STAGE} GROUP BY source, external_id HAVING count(*) > 1) d "
                f"ON d.source = s.source AND d.external_id = s.external_id WHERE s.row_no > d.first_row ORDER BY s.row_no"
            )
            dup_rows = cur.fetchall()
            total += len(dup_rows)
            found += [StageProblem(r, "external_id", f"duplicate (source, external_id): already in row {first}")
                      for r, first in dup_rows[:limit]]
            # Details only for the checks that found something (usually none: one scan in all).
            cap = "" if limit is None else f" LIMIT {int(limit)}"
            for (field, where, reason), n in zip(_CHECKS, counts, strict=True):
                if n:
                    total += n
                    cur.execute(self._sql(f"SELECT s.row_no, {reason} FROM {STAGE} s WHERE {where} "
                                          f"ORDER BY s.row_no{cap}"))
                    found += [StageProblem(r, field, text) for r, text in cur.fetchall()]
            rows_affected = len({r for r, _ in dup_rows})
            if total > len(dup_rows):
                where_any = " OR ".join(f"({w})" for _, w, _ in _CHECKS)
                dup_clause = (f"s.row_no IN ({', '.join(str(r) for r, _ in dup_rows)})" if dup_rows else "1 = 0")
                cur.execute(self._sql(f"SELECT count(*) FROM {STAGE} s WHERE ({where_any}) AND NOT ({dup_clause})"))
                rows_affected += cur.fetchone()[0]
        found = _with_candidates(found)
        found.sort(key=lambda p: p.row_no)
        return found[:limit], total, rows_affected

    def _sql(self, text: str) -> str:
        """Name matching folds case the same way on every database (accounts.references.sql_lower)."""
        return text.replace("FOLD(", f"{references.sql_lower(self.vendor)}(")

    def discard(self, rows: set[int]) -> None:
        """Drop these staged rows (rejected ones, when the import skips bad rows)."""
        ordered = sorted(rows)
        with connection.cursor() as cur:
            for start in range(0, len(ordered), _BATCH):
                chunk = ordered[start:start + _BATCH]
                cur.execute(f"DELETE FROM {STAGE} WHERE row_no IN ({', '.join(['%s'] * len(chunk))})", chunk)
        self.count -= len(ordered)

    # How the upsert (and signals.stage_changes) find the stored touch of a staged row `s`, as `t`.
    # Partitioned (PostgreSQL, accounts.partitions): through the key table, looked up once into
    # the stage by _find_stored(), since the partitioned table has no index on the key itself.
    STORED_BY_KEY = "LEFT JOIN accounts_touchpoint t ON t.source = s.source AND t.external_id = s.external_id "
    STORED_BY_ID = "LEFT JOIN accounts_touchpoint t ON t.id = s.stored_id AND t.occurred_at = s.stored_at "

    @property
    def stored_join(self) -> str:
        return self.STORED_BY_ID if self.partitioned else self.STORED_BY_KEY

    def upsert(self) -> tuple[int, int, int]:
        """Write the staged rows: (created, updated, unchanged).

        New rows go in in (account, occurred_at) order, so each account's touches sit together in
        the table and its indexes grow at few places. Only new and changed rows reach the INSERT:
        ON CONFLICT DO UPDATE would lock (and so rewrite) every conflicting row even when its WHERE
        then skips it, which made re-imports slow.
        """
        self.flush()
        self.partitioned = partitions.is_partitioned()
        if self.partitioned:
            self._find_stored()
        signals.stage_changes(self)  # on commit: touchpoints_changed (the metrics refresh those accounts)
        if self.partitioned:
            return self._upsert_partitioned()
        columns = ("account_id", "contact_id", "program_id", "kind", "occurred_at", "minutes", "score",
                   "performed_by_id")
        resolved = (_ACCOUNT, "COALESCE(ce.id, cx.id)", "p.id", "s.kind",
                    "s.occurred_at", "s.minutes", "s.score", "u.id")
        differs = " OR ".join(f"t.{c} IS DISTINCT FROM {v}" for c, v in zip(columns, resolved, strict=True))
        changed = " OR ".join(f"t.{c} IS DISTINCT FROM excluded.{c}" for c in columns)
        insert = (
            f"INSERT INTO accounts_touchpoint AS t (account_id, contact_id, program_id, kind, occurred_at, minutes, "
            f"score, performed_by_id, source, external_id) "
            f"SELECT {', '.join(resolved)}, s.source, s.external_id {_JOINS}"
            f"{self.STORED_BY_KEY}"
            f"WHERE t.id IS NULL OR {differs} "
            f"ORDER BY 1, s.occurred_at "
            f"ON CONFLICT (source, external_id) DO UPDATE SET account_id = excluded.account_id, "
            f"contact_id = excluded.contact_id, program_id = excluded.program_id, kind = excluded.kind, "
            f"occurred_at = excluded.occurred_at, minutes = excluded.minutes, score = excluded.score, "
            f"performed_by_id = excluded.performed_by_id "
            f"WHERE {changed}"
        )
        with connection.cursor() as cur:
            if self.vendor == "postgresql":
                # One pass: a row the upsert inserted has xmax 0, an updated one does not. Counting
                # the new rows beforehand took a second anti-join against the whole table (7 s of
                # a 48 s import of 200,000 rows into 10 million).
                cur.execute(self._sql(
                    f"WITH written AS ({insert} RETURNING (xmax = 0) AS inserted) "
                    f"SELECT count(*) FILTER (WHERE inserted), count(*) FROM written"
                ))
                created, written = cur.fetchone()
            else:
                cur.execute(
                    f"SELECT count(*) FROM {STAGE} s WHERE NOT EXISTS (SELECT 1 FROM accounts_touchpoint t "
                    f"WHERE t.source = s.source AND t.external_id = s.external_id)"
                )
                created = cur.fetchone()[0]
                cur.execute(self._sql(insert))
                written = cur.rowcount
        updated = written - created
        return created, updated, self.count - written

    def _find_stored(self) -> None:
        """Partitioned: the months' partitions made, and each staged row's stored touch (id and
        occurred_at, from the key table) noted in the stage. The lock keeps a concurrent upsert from
        storing a key between this look-up and the insert."""
        partitions.lock()
        with connection.cursor() as cur:
            cur.execute(f"SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date FROM {STAGE}")
            partitions.ensure_months(r[0] for r in cur.fetchall())
            cur.execute(f"ALTER TABLE {STAGE} ADD COLUMN stored_id bigint, ADD COLUMN stored_at timestamptz")
            cur.execute(f"UPDATE {STAGE} s SET stored_id = k.touchpoint_id, stored_at = k.occurred_at "
                        f"FROM {partitions.KEYS} k WHERE k.source = s.source AND k.external_id = s.external_id")
            self.stored = cur.rowcount
            cur.execute(f"ANALYZE {STAGE}")

    def _upsert_partitioned(self) -> tuple[int, int, int]:
        """PostgreSQL's monthly partitions (accounts.partitions): a unique key there must include
        occurred_at, so there is no ON CONFLICT (source, external_id). Stored touches are updated in
        place (moving to another month's partition when their date changed), new ones inserted."""
        columns = ("account_id", "contact_id", "program_id", "kind", "occurred_at", "minutes", "score",
                   "performed_by_id")
        resolved = (_ACCOUNT, "COALESCE(ce.id, cx.id)", "p.id", "s.kind", "s.occurred_at", "s.minutes", "s.score",
                    "u.id")
        updated = 0
        with connection.cursor() as cur:
            if self.stored:
                differs = " OR ".join(f"t.{c} IS DISTINCT FROM r.{c}" for c in columns)
                cur.execute(self._sql(
                    f"UPDATE accounts_touchpoint t SET {', '.join(f'{c} = r.{c}' for c in columns)} "
                    f"FROM (SELECT s.stored_id, s.stored_at, "
                    f"{', '.join(f'{v} AS {c}' for c, v in zip(columns, resolved, strict=True))} {_JOINS}"
                    f"WHERE s.stored_id IS NOT NULL) r "
                    f"WHERE t.id = r.stored_id AND t.occurred_at = r.stored_at AND ({differs})"
                ))
                updated = cur.rowcount
            cur.execute(self._sql(
                f"INSERT INTO accounts_touchpoint ({', '.join(columns)}, source, external_id) "
                f"SELECT {', '.join(resolved)}, s.source, s.external_id {_JOINS}"
                f"WHERE s.stored_id IS NULL ORDER BY 1, s.occurred_at"
            ))
            created = cur.rowcount
        return created, updated, self.count - created - updated


def _with_candidates(found: list[StageProblem]) -> list[StageProblem]:
    """Account-name problems in accounts.references' words, as the other kinds' imports give them: an
    unknown name quoted, an ambiguous one with the accounts it could mean (one query for all)."""
    prefix, unknown = f"{AMBIGUOUS} ", "no account is named "
    names = {p.reason.removeprefix(prefix).lower() for p in found if p.reason.startswith(prefix)}
    resolved = references.resolve(("name", n) for n in names) if names else references.Resolved({}, {})
    named = []
    for p in found:
        if p.reason.startswith(prefix):
            name = p.reason.removeprefix(prefix)
            p = StageProblem(p.row_no, p.field, references.ambiguous_reason(
                name, resolved.ambiguous.get(("name", name.lower()), [])))
        elif p.field == "account_name" and p.reason.startswith(unknown):
            name = p.reason.removeprefix(unknown)
            p = StageProblem(p.row_no, p.field, resolved.reason(("name", name.lower()), as_written=name))
        named.append(p)
    return named
