"""The CSV import: validate the whole file, then write it in one transaction (or write nothing).

import_csv() streams the file twice for accounts, contacts, programs and opportunities (pass 1
checks every row and collects errors; pass 2, only when there were none, upserts in batches).
Touchpoints stream once into a staging table (imports.staging), are checked there with SQL,
and are written with one INSERT … SELECT. Either way the writes run in a single transaction, and
a dry run rolls it back after counting.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower

from accounts import services as rules
from accounts.models import Account, Contact, Opportunity, Program, Segment
from imports import parsing, presets
from imports.staging import StagedRow, TouchpointStage

if TYPE_CHECKING:
    from imports.models import ImportJob

ERROR_CAP = 100
BATCH = 1000
ProgressFn = Callable[[str, float], None]


@dataclass(frozen=True)
class RowError:
    row: int  # line number in the file; the header is line 1
    column: str
    reason: str


@dataclass
class ImportResult:
    kind: str
    preset: str = ""
    dry_run: bool = False
    encoding: str = ""
    mapping: dict[str, list[str]] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    users_created: list[str] = field(default_factory=list)
    contacts_unmatched: int = 0
    unmatched_examples: list[str] = field(default_factory=list)
    file_error: str = ""
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    # Not errors: values the import left out and says so (a CRM website that is not a usable domain).
    warnings: list[RowError] = field(default_factory=list)
    warning_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.file_error and not self.error_count

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        data["skipped_total"] = sum(self.skipped.values())
        return data


class _RowProblems(Exception):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(problems)
        self.problems = problems  # (field, reason)


class _Rollback(Exception):
    """Raised inside the write transaction to undo it (dry run, or errors found late)."""


# --- entry points --------------------------------------------------------------------------------

def import_csv(*, kind: str, path: Path, preset: str = "auto", dry_run: bool = False, timezone: str | None = None,
               data_plan: Path | None = None, progress: ProgressFn | None = None) -> ImportResult:
    """Import one CSV file of `kind`. Never raises for bad input: the result says what was wrong."""
    result = ImportResult(kind=kind, dry_run=dry_run)
    progress = progress or (lambda phase, fraction: None)
    try:
        if kind not in presets.KINDS:
            raise parsing.FileRejected(f"Unknown kind {kind!r}: use one of {', '.join(presets.KINDS)}.")
        if preset not in (*presets.PRESETS, "auto"):
            raise parsing.FileRejected(f"Unknown preset {preset!r}: use one of auto, {', '.join(presets.PRESETS)}.")
        job = _Job(kind=kind, path=Path(path), preset=preset, tz=parsing.timezone_named(timezone),
                   data_plan=data_plan, result=result, progress=progress)
        job.run(dry_run=dry_run)
    except parsing.FileRejected as exc:
        result.file_error = str(exc)
        result.created = result.updated = result.unchanged = 0
    return result


@dataclass
class Preview:
    kind: str
    preset: str
    encoding: str
    header: list[str]
    rows: list[list[str]]
    mapping: dict[str, list[str]]
    unmapped: list[str]
    missing: list[str]
    file_error: str = ""


def preview_csv(*, kind: str, path: Path, preset: str = "auto", rows: int = 10) -> Preview:
    """The first rows and the detected column mapping, without validating or writing anything."""
    try:
        encoding = parsing.detect_encoding(Path(path))
        with parsing.CsvSource(Path(path), encoding) as source:
            mapping = presets.choose_mapping(source.header, kind, preset)
            first = []
            for _, cells in source.rows():
                first.append(cells)
                if len(first) >= rows:
                    break
        return Preview(kind=kind, preset=mapping.preset, encoding=encoding.label, header=source.header, rows=first,
                       mapping=mapping.mapped_headers, unmapped=mapping.unmapped,
                       missing=[" or ".join(g) for g in mapping.missing])
    except parsing.FileRejected as exc:
        return Preview(kind=kind, preset=preset, encoding="", header=[], rows=[], mapping={}, unmapped=[], missing=[],
                       file_error=str(exc))


# --- the job -------------------------------------------------------------------------------------

class _Job:
    def __init__(self, *, kind: str, path: Path, preset: str, tz: dt.tzinfo, data_plan: Path | None,
                 result: ImportResult, progress: ProgressFn) -> None:
        self.kind = kind
        self.path = path
        self.tz = tz
        self.result = result
        self.progress = progress
        self.encoding = parsing.detect_encoding(path)
        result.encoding = self.encoding.label
        with parsing.CsvSource(path, self.encoding) as source:
            self.mapping = presets.choose_mapping(source.header, kind, preset)
        self.preset = self.mapping.preset
        result.preset = self.preset
        result.mapping = self.mapping.mapped_headers
        result.unmapped = self.mapping.unmapped
        if self.mapping.missing:
            wanted = "; ".join(" or ".join(g) for g in self.mapping.missing)
            aliases = "; ".join(
                f"{f}: {', '.join(presets.ALIASES[self.preset][kind].get(f, [f]))}"
                for g in self.mapping.missing for f in g
            )
            raise parsing.FileRejected(
                f"The columns do not look like {kind} for the {self.preset} preset. Missing: {wanted} "
                f"(column names recognised: {aliases}). Found: {', '.join(source.header)}."
            )
        self.refs = _References(data_plan=data_plan)
        self.skipped: Counter[str] = Counter()
        self._program_channels: dict[str, str | None] = {}
        self.phase = "validate"
        self.line = 0
        # Rows whose CRM website is dropped in pass 2 (decided in pass 1, where the whole file is seen).
        self.dropped_domains: set[int] = set()
        self.repeated_rows: set[int] = set()

    # Column names for error messages: the file's own header for the field.
    def column(self, name: str) -> str:
        idx = self.mapping.columns.get(name)
        return self.mapping.header[idx[0]] if idx else name

    def raw_rows(self, source: parsing.CsvSource) -> Iterator[tuple[int, dict[str, str]]]:
        """(line, {field: text}) per data row; a field fed by several columns takes the first non-blank."""
        single = [(name, idx[0]) for name, idx in self.mapping.columns.items() if len(idx) == 1]
        multi = [(name, idx) for name, idx in self.mapping.columns.items() if len(idx) > 1]
        width = max((i for idx in self.mapping.columns.values() for i in idx), default=0) + 1
        for line, cells in source.rows():
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            raw = {name: cells[i] for name, i in single}
            for name, idx in multi:
                raw[name] = next((cells[i] for i in idx if cells[i].strip()), "")
            yield line, raw

    def error(self, row: int, name: str, reason: str) -> None:
        self.result.error_count += 1
        if len(self.result.errors) < ERROR_CAP:
            self.result.errors.append(RowError(row, self.column(name), reason))

    def warn(self, row: int, name: str, reason: str) -> None:
        if self.phase != "validate":
            return
        self.result.warning_count += 1
        if len(self.result.warnings) < ERROR_CAP:
            self.result.warnings.append(RowError(row, self.column(name), reason))

    def program_channel(self, external_id: str) -> str | None:
        if external_id not in self._program_channels:
            self._program_channels[external_id] = (
                Program.objects.filter(external_id=external_id).values_list("channel", flat=True).first()
            )
        return self._program_channels[external_id]

    def run(self, *, dry_run: bool) -> None:
        if self.kind == "touchpoints":
            self._run_touchpoints(dry_run=dry_run)
        else:
            self._run_records(dry_run=dry_run)
        self.result.skipped = dict(self.skipped)

    # -- accounts, contacts, programs, opportunities --

    def _parsed(self, source: parsing.CsvSource, phase: str) -> Iterator[list[tuple[int, dict[str, Any]]]]:
        """Rows parsed and cleaned, in batches; row errors recorded, skipped rows counted (pass 1 only)."""
        parse = _PARSERS[self.kind]
        self.phase = phase
        batch: list[tuple[int, dict[str, Any]]] = []
        for n, (line, raw) in enumerate(self.raw_rows(source), 1):
            self.line = line
            if phase == "validate":
                self.result.rows += 1
            if line in self.repeated_rows:
                continue
            try:
                batch.append((line, parse(self, raw)))
            except _RowProblems as exc:
                if phase == "validate":
                    self.result.rejected += 1
                    for name, reason in exc.problems:
                        self.error(line, name, reason)
            except presets.Skip as exc:
                if phase == "validate":
                    self.skipped[exc.reason] += 1
            if len(batch) >= BATCH:
                yield batch
                batch = []
            if n % 2000 == 0:
                self.progress(phase, source.fraction_read)
        if batch:
            yield batch

    def _run_records(self, *, dry_run: bool) -> None:
        checker = _BATCH_CHECKS[self.kind](self)
        with parsing.CsvSource(self.path, self.encoding) as source:
            for batch in self._parsed(source, "validate"):
                for line, name, reason in checker.check(batch):
                    self.error(line, name, reason)
            self.progress("validate", 1.0)
        self.result.rejected += checker.rows_with_errors
        if self.result.rows == 0:
            raise parsing.FileRejected("The file has a header but no data rows.")
        if self.result.error_count:
            return
        writer = _WRITERS[self.kind](self)
        try:
            with transaction.atomic():
                with parsing.CsvSource(self.path, self.encoding) as source:
                    for batch in self._parsed(source, "write"):
                        writer.write(batch)
                self.progress("write", 1.0)
                if dry_run:
                    raise _Rollback
        except _Rollback:
            pass

    # -- touchpoints --

    def _run_touchpoints(self, *, dry_run: bool) -> None:
        ctx = presets.KindContext(program_channel=self.program_channel)
        stage = TouchpointStage()
        try:
            with transaction.atomic():
                stage.create()
                with parsing.CsvSource(self.path, self.encoding) as source:
                    stage.add(self._staged_rows(source, ctx))
                stage.flush()
                self.progress("validate", 1.0)
                if self.result.rows == 0:
                    raise parsing.FileRejected("The file has a header but no data rows.")
                problems, total, rows = stage.problems(limit=ERROR_CAP)
                for p in problems:
                    self.error(p.row_no, p.field, p.reason)
                self.result.error_count += total - len(problems)
                self.result.rejected += rows
                if self.result.error_count:
                    raise _Rollback
                created, updated, unchanged = stage.upsert()
                self.result.created, self.result.updated, self.result.unchanged = created, updated, unchanged
                self.progress("write", 1.0)
                if dry_run:
                    raise _Rollback
        except _Rollback:
            pass
        self.result.errors.sort(key=lambda e: e.row)

    def _staged_rows(self, source: parsing.CsvSource, ctx: presets.KindContext) -> Iterator[StagedRow]:
        """Parse and check each row (the per-row rules); references are checked later, in SQL."""
        default_source = "" if self.preset == "native" else self.preset
        tz = self.tz
        emails = _EmailCache()
        result = self.result
        for line, raw in self.raw_rows(source):
            result.rows += 1
            if not result.rows % 20000:
                self.progress("validate", source.fraction_read)
            try:
                kind, extra = presets.touchpoint_kind(self.preset, raw, ctx)
            except presets.Skip as exc:
                self.skipped[exc.reason] += 1
                continue
            problems: list[tuple[str, str]] = []
            try:
                occurred_at = parsing.parse_datetime(raw.get("occurred_at", ""), tz)
            except ValueError as exc:
                problems.append(("occurred_at", str(exc)))
                occurred_at = None
            minutes = self._minutes(raw, extra, occurred_at, problems)
            score = None
            if raw.get("score"):
                try:
                    score = parsing.parse_int(raw["score"])
                except ValueError as exc:
                    problems.append(("score", str(exc)))
            clean: dict[str, Any] = {}
            if not problems:
                try:
                    clean = rules.touchpoint_clean(data={
                        "kind": kind, "occurred_at": occurred_at, "minutes": minutes, "score": score,
                        "source": raw.get("source") or default_source, "external_id": raw.get("external_id", ""),
                    })
                except rules.InvalidRecord as exc:
                    problems += [(p.field, p.reason) for p in exc.problems]
            email = None
            if raw.get("contact_email"):
                email = emails.check(raw["contact_email"])
                if email is None:
                    problems.append(("contact_email", f"{raw['contact_email']!r} is not an email address"))
            account_ext = raw.get("account_external_id", "").strip() or None
            contact_ext = raw.get("contact_external_id", "").strip() or None
            if not (account_ext or email or contact_ext) and not any(f == "contact_email" for f, _ in problems):
                problems.append(("account_external_id", "a touchpoint needs an account, a contact email or a contact id"))
            if problems:
                result.rejected += 1
                for name, reason in problems:
                    self.error(line, name, reason)
                continue
            program_ext = (extra.get("program_external_id") or raw.get("program_external_id", "")).strip() or None
            yield StagedRow(line, clean["source"], clean["external_id"], clean["kind"], clean["occurred_at"],
                            clean["minutes"], clean["score"], account_ext, email, contact_ext, program_ext)

    def _minutes(self, raw: dict[str, str], extra: dict[str, str], occurred_at: dt.datetime | None,
                 problems: list[tuple[str, str]]) -> Decimal | None:
        """The source's duration: a minutes column, call seconds, or a meeting's end time."""
        try:
            if raw.get("minutes", "").strip():
                return parsing.parse_amount(raw["minutes"])[0]
            if raw.get("duration_seconds", "").strip():
                seconds = parsing.parse_amount(raw["duration_seconds"])[0]
                return None if seconds is None else seconds / 60
            if extra.get("end_time") and occurred_at is not None:
                end = parsing.parse_datetime(extra["end_time"], self.tz)
                return None if end is None else Decimal((end - occurred_at).total_seconds()) / 60
        except ValueError as exc:
            problems.append(("minutes", str(exc)))
        return None


class _EmailCache:
    """Touchpoint files repeat the same few thousand contacts' emails: validate each once."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self.known: dict[str, str | None] = {}

    def check(self, value: str) -> str | None:
        if value in self.known:
            return self.known[value]
        email = rules.normalise_email(value)
        try:
            validate_email(email)
        except ValidationError:
            email = None
        if len(self.known) < self.size:
            self.known[value] = email
        return email


# --- row parsers: CSV text → typed values → accounts.services.*_clean ---------------------------

def _typed(job: _Job, raw: dict[str, str], spec: dict[str, Callable[[str], Any]]) -> tuple[dict[str, Any], list]:
    data: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for name, convert in spec.items():
        if name in raw:
            try:
                data[name] = convert(raw[name])
            except ValueError as exc:
                problems.append((name, str(exc)))
    return data, problems


def _clean(fn: Callable[..., dict[str, Any]], data: dict[str, Any], problems: list) -> dict[str, Any]:
    try:
        clean = fn(data=data)
    except rules.InvalidRecord as exc:
        problems += [(p.field, p.reason) for p in exc.problems if p.field not in {f for f, _ in problems}]
        raise _RowProblems(problems) from exc
    if problems:
        raise _RowProblems(problems)
    return clean


def _text(value: str) -> str:
    return value.strip()


def _amount(value: str) -> Decimal | None:
    return parsing.parse_amount(value)[0]


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def _parse_account(job: _Job, raw: dict[str, str]) -> dict[str, Any]:
    data, problems = _typed(job, raw, {
        "external_id": _text, "name": _text, "domain": _text, "industry": _text, "employees": parsing.parse_int,
        "annual_revenue": _amount, "country": _text, "tier": _text, "is_target": parsing.parse_bool,
    })
    if data.get("is_target") is None:
        data.pop("is_target", None)
    if job.preset != "native" and data.get("domain"):
        # A CRM's Website is free text; when it is no usable domain the account is kept without one
        # (reported as a warning) rather than rejecting the file. A native `domain` column must be right.
        try:
            rules.validate_domain(data["domain"])
        except ValueError as exc:
            job.warn(job.line, "domain", f"{exc}; stored without a domain")
            data["domain"] = None
        if job.line in job.dropped_domains:
            data["domain"] = None
    clean = _clean(rules.account_clean, data, problems)
    if not clean.get("external_id") and not clean.get("domain") and job.preset == "native":
        raise _RowProblems([("external_id", "an account needs an external_id or a domain to be matched on re-import")])
    owner = rules.normalise_email(raw.get("owner_email"))
    if owner is not None:
        try:
            validate_email(owner)
        except ValidationError as exc:
            raise _RowProblems([("owner_email", f"{raw['owner_email']!r} is not an email address")]) from exc
    return {"fields": clean, "owner_email": owner, "owner_given": "owner_email" in raw,
            "segments": _split(raw.get("segments", ""))}


def _account_ref(job: _Job, raw: dict[str, str], kind: str) -> str:
    """The row's account id; a Salesforce CLI `@AccountRefN` needs the data plan to mean anything."""
    account_ref = raw.get("account_external_id", "").strip()
    if account_ref.startswith("@") and job.refs.plan is None:
        raise parsing.FileRejected(
            f"Column {job.column('account_external_id')!r} holds Salesforce CLI data-plan references "
            f"({account_ref}) instead of account Ids. Import it from the command line with "
            "--data-plan PATH/TO/…-data-plan.json (the plan's Account records resolve @AccountRefN to the N-th "
            f"account), or export the {kind} with their Account Id."
        )
    return account_ref


def _parse_contact(job: _Job, raw: dict[str, str]) -> dict[str, Any]:
    data, problems = _typed(job, raw, {
        "external_id": _text, "email": _text, "first_name": _text, "last_name": _text, "title": _text,
        "role": _text, "department": _text, "seniority": _text, "phone": _text, "opted_out": parsing.parse_bool,
    })
    if data.get("opted_out") is None:
        data.pop("opted_out", None)
    if not any(data.get(f) for f in ("email", "external_id", "first_name", "last_name")):
        raise presets.Skip("line without a contact (a report's account-only line)")
    clean = _clean(rules.contact_clean, data, problems)
    account_ref = _account_ref(job, raw, "contacts")
    return {"fields": clean, "account_ref": account_ref, "account_name": raw.get("account_name", "").strip()}


def _parse_program(job: _Job, raw: dict[str, str]) -> dict[str, Any]:
    tz = job.tz
    data, problems = _typed(job, raw, {
        "external_id": _text, "name": _text, "channel": lambda v: presets.map_channel(v.strip(), job.preset),
        "start_date": lambda v: parsing.parse_date(v, tz), "end_date": lambda v: parsing.parse_date(v, tz),
        "cost": _amount, "success_kinds": _split,
    })
    clean = _clean(rules.program_clean, data, problems)
    return {"fields": clean, "segment": raw.get("segment", "").strip()}


def _parse_opportunity(job: _Job, raw: dict[str, str]) -> dict[str, Any]:
    tz = job.tz
    data, problems = _typed(job, raw, {
        "external_id": _text, "name": _text, "currency": _text, "stage": _text,
        "type": lambda v: presets.map_opportunity_type(v.strip(), job.preset),
        "created_at": lambda v: parsing.parse_datetime(v, tz), "closed_at": lambda v: parsing.parse_datetime(v, tz),
        "is_closed": parsing.parse_bool, "is_won": parsing.parse_bool,
    })
    # Like every optional column: a file without one leaves the stored amounts alone.
    if "amount" in raw:
        try:
            amount, currency = parsing.parse_amount(raw["amount"])
            data["amount"] = amount
            if currency and not data.get("currency"):
                data["currency"] = currency
        except ValueError as exc:
            problems.append(("amount", str(exc)))
    if "close_date" in raw:
        # A CRM's close date is the expected one while the deal is open: it becomes closed_at only once closed.
        try:
            close = parsing.parse_datetime(raw["close_date"], tz)
        except ValueError as exc:
            problems.append(("close_date", str(exc)))
            close = None
        closed = data.get("is_closed")
        if closed is None:
            closed = rules.stage_outcome(data.get("stage")) != "open"
        data["closed_at"] = close if closed else None
    clean = _clean(rules.opportunity_clean, data, problems)
    account_ref = _account_ref(job, raw, "opportunities")
    if not account_ref:
        raise _RowProblems([("account_external_id", "is required")])
    return {"fields": clean, "account_ref": account_ref}


_PARSERS: dict[str, Callable[[_Job, dict[str, str]], dict[str, Any]]] = {
    "accounts": _parse_account, "contacts": _parse_contact, "programs": _parse_program,
    "opportunities": _parse_opportunity,
}


# --- references: accounts by external id, data-plan refs, name, email domain ---------------------

class _References:
    def __init__(self, *, data_plan: Path | None) -> None:
        self.plan = _load_plan(data_plan) if data_plan else None

    def accounts_for(self, refs: set[str]) -> dict[str, int]:
        """account reference (external id or @AccountRefN) → account id, for those that exist."""
        found: dict[str, int] = {}
        plain = {r for r in refs if not r.startswith("@")}
        for ext, pk in Account.objects.filter(external_id__in=plain).values_list("external_id", "id"):
            found[ext] = pk
        planned = {r for r in refs if r.startswith("@")}
        if planned and self.plan is not None:
            domains = {r: self.plan[r[1:]][0] for r in planned if r[1:] in self.plan and self.plan[r[1:]][0]}
            names = {r: self.plan[r[1:]][1] for r in planned if r[1:] in self.plan}
            by_domain = dict(Account.objects.filter(domain__in=set(domains.values())).values_list("domain", "id"))
            by_name = dict(Account.objects.filter(name__in=set(names.values())).values_list("name", "id"))
            for ref in planned:
                pk = by_domain.get(domains.get(ref)) or by_name.get(names.get(ref))
                if pk:
                    found[ref] = pk
        return found


def _load_plan(path: Path) -> dict[str, tuple[str | None, str]]:
    """AccountRefN → (domain, name) from a Salesforce CLI data plan's Account record files."""
    try:
        plan = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, json.JSONDecodeError) as exc:
        raise parsing.FileRejected(f"Cannot read the data plan {path}: {exc}") from exc
    prefix = Path(path).name.removesuffix("data-plan.json")
    refs: dict[str, tuple[str | None, str]] = {}
    for step in plan if isinstance(plan, list) else []:
        if step.get("sobject") != "Account":
            continue
        for name in step.get("files", []):
            # The plan names "Accounts.json"; copies are often saved with the plan's prefix.
            candidates = [Path(path).parent / name, Path(path).parent / f"{prefix}{name}"]
            file = next((c for c in candidates if c.exists()), None)
            if file is None:
                raise parsing.FileRejected(f"The data plan names {name}, which is not next to it.")
            for record in json.loads(file.read_text(encoding="utf-8-sig")).get("records", []):
                ref = record.get("attributes", {}).get("referenceId")
                try:
                    domain = rules.validate_domain(record.get("website") or record.get("Website"))
                except ValueError:
                    domain = None
                if ref:
                    refs[ref] = (domain, record.get("name") or record.get("Name") or "")
    return refs


# --- pass 1 checks that need the database or the whole file --------------------------------------

class _Checks:
    """Duplicate keys inside the file and conflicts with stored rows, batch by batch."""

    def __init__(self, job: _Job) -> None:
        self.job = job
        self.seen: dict[tuple[str, str], int] = {}
        self.rows_with_errors = 0

    def duplicate(self, line: int, key: tuple[str, str]) -> int | None:
        first = self.seen.get(key)
        if first is None:
            self.seen[key] = line
        return first

    def check(self, batch: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, str, str]]:
        errors = self.batch_errors(batch)
        self.rows_with_errors += len({line for line, _, _ in errors})
        return errors

    def batch_errors(self, batch: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, str, str]]:
        raise NotImplementedError

    def keys(self, line: int, fields: dict[str, Any], names: tuple[str, ...]) -> list[tuple[int, str, str]]:
        errors = []
        for name in names:
            value = fields.get(name)
            if value:
                first = self.duplicate(line, (name, str(value).lower()))
                if first is not None:
                    errors.append((line, name, f"duplicate {name} {value!r}: already in row {first}"))
        return errors

    def account_refs(self, batch: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, str, str]]:
        refs = {r["account_ref"] for _, r in batch if r.get("account_ref")}
        found = self.job.refs.accounts_for(refs)
        return [(line, "account_external_id", f"unknown account {r['account_ref']}")
                for line, r in batch if r.get("account_ref") and r["account_ref"] not in found]


class _AccountChecks(_Checks):
    """In presets a website shared with an earlier row or another stored account is dropped (a
    warning), because CRM websites are not unique; in native files it is an error."""

    def __init__(self, job: _Job) -> None:
        super().__init__(job)
        self.by_name: dict[tuple[str, str], dict[str, Any]] = {}

    def batch_errors(self, batch):
        errors = []
        lenient = self.job.preset != "native"
        for line, r in batch:
            fields = r["fields"]
            errors += self.keys(line, fields, ("external_id",) if lenient else ("external_id", "domain"))
            if lenient and fields.get("domain"):
                first = self.duplicate(line, ("domain", fields["domain"]))
                if first is not None:
                    self.drop(line, f"website {fields['domain']} is also row {first}'s")
            if lenient and not fields.get("external_id") and not fields.get("domain"):
                # Report exports repeat the account on every contact line: identical repeats are skipped.
                key = ("name", fields["name"].lower())
                first = self.duplicate(line, key)
                if first is None:
                    self.by_name[key] = fields
                elif self.by_name[key] == fields:
                    self.job.repeated_rows.add(line)
                    self.job.skipped["repeats an earlier row of the same account"] += 1
                else:
                    errors.append((line, "name", f"duplicate name {fields['name']!r} with other values: "
                                                 f"already in row {first}"))
        conflicts = _conflicts(Account, batch, "domain")
        if lenient:
            for line, _, reason in conflicts:
                self.drop(line, reason)
            return errors
        return errors + conflicts

    def drop(self, line: int, reason: str) -> None:
        self.job.dropped_domains.add(line)
        self.job.warn(line, "domain", f"{reason}; stored without a domain")


class _ContactChecks(_Checks):
    def batch_errors(self, batch):
        errors = []
        for line, r in batch:
            errors += self.keys(line, r["fields"], ("external_id", "email"))
        errors += self.account_refs(batch)
        errors += _conflicts(Contact, batch, "email")
        return errors


class _ProgramChecks(_Checks):
    def batch_errors(self, batch):
        errors = []
        for line, r in batch:
            errors += self.keys(line, r["fields"], ("external_id",) if r["fields"].get("external_id") else ("name",))
        names = {r["segment"] for _, r in batch if r["segment"]}
        known = set(Segment.objects.filter(name__in=names).values_list("name", flat=True))
        errors += [(line, "segment", f"unknown segment {r['segment']!r}") for line, r in batch
                   if r["segment"] and r["segment"] not in known]
        return errors


class _OpportunityChecks(_Checks):
    def batch_errors(self, batch):
        errors = []
        for line, r in batch:
            errors += self.keys(line, r["fields"], ("external_id",))
        return errors + self.account_refs(batch)


def _conflicts(model: type, batch: list[tuple[int, dict[str, Any]]], unique: str) -> list[tuple[int, str, str]]:
    """A row matched by external id whose `unique` value (domain / email) belongs to another stored row."""
    rows = [(line, r["fields"]) for line, r in batch if r["fields"].get("external_id") and r["fields"].get(unique)]
    if not rows:
        return []
    owners = {value: ext for value, ext in model.objects.filter(
        **{f"{unique}__in": {f[unique] for _, f in rows}}).values_list(unique, "external_id")}
    by_ext = set(model.objects.filter(external_id__in={f["external_id"] for _, f in rows})
                 .values_list("external_id", flat=True))
    errors = []
    for line, f in rows:
        owner = owners.get(f[unique], f["external_id"])
        if f["external_id"] in by_ext and owner != f["external_id"]:
            errors.append((line, unique, f"{f[unique]} already belongs to the record with external id {owner}"))
    return errors


_BATCH_CHECKS: dict[str, type[_Checks]] = {
    "accounts": _AccountChecks, "contacts": _ContactChecks, "programs": _ProgramChecks,
    "opportunities": _OpportunityChecks,
}


# --- pass 2 writers --------------------------------------------------------------------------------

class _Writer:
    model: type
    alternate: str | None = None  # matched on when a row has no stored external id (domain, email, name)
    derived_fields: frozenset[str] = frozenset()

    def __init__(self, job: _Job) -> None:
        self.job = job
        self.result = job.result

    def existing(self, batch: list[tuple[int, dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, Any]]:
        exts = {r["fields"]["external_id"] for _, r in batch if r["fields"].get("external_id")}
        by_ext = {o.external_id: o for o in self.model.objects.filter(external_id__in=exts)} if exts else {}
        by_alt: dict[str, Any] = {}
        if self.alternate:
            alts = {r["fields"][self.alternate] for _, r in batch if r["fields"].get(self.alternate)}
            if alts:
                by_alt = {getattr(o, self.alternate): o
                          for o in self.model.objects.filter(**{f"{self.alternate}__in": alts}).order_by("-id")}
        return by_ext, by_alt

    def match(self, fields: dict[str, Any], by_ext: dict[str, Any], by_alt: dict[str, Any]) -> Any:
        ext = fields.get("external_id")
        if ext and ext in by_ext:
            return by_ext[ext]
        if self.alternate and fields.get(self.alternate) in by_alt:
            return by_alt[fields[self.alternate]]
        return None

    def values(self, fields: dict[str, Any], found: Any) -> dict[str, Any]:
        values = dict(fields)
        if found is not None and found.external_id:
            # A record that came from another system first keeps its external id (docs/import.md).
            values["external_id"] = found.external_id
        return values

    def prepare(self, obj: Any) -> None:
        """Set derived fields before comparing and saving (contacts: seniority_level)."""

    def write(self, batch: list[tuple[int, dict[str, Any]]]) -> None:
        by_ext, by_alt = self.existing(batch)
        to_create, to_update, objs, statuses = [], [], [], []
        changed: set[str] = set()
        for _, r in batch:
            found = self.match(r["fields"], by_ext, by_alt)
            values = self.values(self.row_values(r), found)
            if found is None:
                obj = self.model(**values)
                self.prepare(obj)
                to_create.append(obj)
                objs.append(obj)
                statuses.append("created")
                continue
            before = {k: getattr(found, k) for k in (*values, *self.derived_fields)}
            for k, v in values.items():
                setattr(found, k, v)
            self.prepare(found)
            diff = {k for k, v in before.items() if v != getattr(found, k)}
            objs.append(found)
            if diff:
                to_update.append(found)
                changed |= diff
                statuses.append("updated")
            else:
                statuses.append("unchanged")
        if to_create:
            self.model.objects.bulk_create(to_create)
        if to_update:
            stamp = {"updated_at"} if any(f.name == "updated_at" for f in self.model._meta.fields) else set()
            self.model.objects.bulk_update(to_update, sorted(changed | stamp))
        self.after(batch, objs, statuses)
        counts = Counter(statuses)
        self.result.created += counts["created"]
        self.result.updated += counts["updated"]
        self.result.unchanged += counts["unchanged"]

    def row_values(self, r: dict[str, Any]) -> dict[str, Any]:
        return r["fields"]

    def after(self, batch: list[tuple[int, dict[str, Any]]], objs: list[Any], statuses: list[str]) -> None:
        """Related rows written once the batch has ids (account segments)."""


class _AccountWriter(_Writer):
    model = Account
    alternate = "domain"

    def existing(self, batch):
        by_ext, by_alt = super().existing(batch)
        # Last resort for CRM files with neither Id nor a usable website (Salesforce sObject-tree
        # exports): the name, and only for stored accounts that have no external id either.
        names = {r["fields"]["name"] for _, r in batch
                 if not r["fields"].get("external_id") and not r["fields"].get("domain")}
        self.by_name = {a.name: a for a in Account.objects.filter(name__in=names, external_id__isnull=True,
                                                                  domain__isnull=True).order_by("-id")}
        return by_ext, by_alt

    def match(self, fields, by_ext, by_alt):
        found = super().match(fields, by_ext, by_alt)
        if found is None and not fields.get("external_id") and not fields.get("domain"):
            found = self.by_name.get(fields["name"])
        return found

    def __init__(self, job: _Job) -> None:
        super().__init__(job)
        self.owners: dict[str, User] = {}

    def owner(self, email: str) -> User:
        if email not in self.owners:
            user, created = rules.owner_for_email(email=email)
            if created:
                self.result.users_created.append(email)
            self.owners[email] = user
        return self.owners[email]

    def row_values(self, r):
        values = dict(r["fields"])
        if r["owner_given"]:
            values["owner"] = self.owner(r["owner_email"]) if r["owner_email"] else None
        return values

    def after(self, batch, objs, statuses):
        """Segments named in the file are added; an import never removes a membership."""
        wanted = [(i, obj, r["segments"]) for i, ((_, r), obj) in enumerate(zip(batch, objs, strict=True))
                  if r["segments"]]
        if not wanted:
            return
        names = {n for _, _, segs in wanted for n in segs}
        segments = {s.name: s for s in Segment.objects.filter(name__in=names)}
        for name in sorted(names - segments.keys()):
            segments[name] = Segment.objects.create(name=name)
        through = Segment.accounts.through
        have = set(through.objects.filter(account_id__in=[o.pk for _, o, _ in wanted])
                   .values_list("account_id", "segment_id"))
        new = []
        for i, obj, segs in wanted:
            missing = [segments[n].pk for n in segs if (obj.pk, segments[n].pk) not in have]
            new += [through(account_id=obj.pk, segment_id=pk) for pk in missing]
            if missing and statuses[i] == "unchanged":
                statuses[i] = "updated"  # a new membership is a change to the account
        through.objects.bulk_create(new, ignore_conflicts=True)


class _ContactWriter(_Writer):
    model = Contact
    alternate = "email"
    derived_fields = frozenset({"seniority_level"})

    def prepare(self, obj: Contact) -> None:
        obj.seniority_level = rules.resolve_seniority(seniority=obj.seniority, title=obj.title)

    def write(self, batch):
        refs = {r["account_ref"] for _, r in batch if r["account_ref"]}
        by_ref = self.job.refs.accounts_for(refs)
        names = {r["account_name"].lower() for _, r in batch if r["account_name"] and not r["account_ref"]}
        by_name: dict[str, int | None] = {}
        if names:
            for name, pk in Account.objects.annotate(l=Lower("name")).filter(l__in=names).values_list("l", "id"):
                by_name[name] = None if name in by_name else pk  # ambiguous names match nothing
        domains = {rules.email_domain(r["fields"].get("email")) for _, r in batch} - {None}
        by_domain = dict(Account.objects.filter(domain__in=domains).values_list("domain", "id")) if domains else {}
        for _, r in batch:
            r["account_from_domain"] = False
            if r["account_ref"]:
                pk = by_ref[r["account_ref"]]
            elif r["account_name"] and by_name.get(r["account_name"].lower()):
                pk = by_name[r["account_name"].lower()]
            else:
                pk = by_domain.get(rules.email_domain(r["fields"].get("email")))
                r["account_from_domain"] = True
            r["fields"] = {**r["fields"], "account_id": pk}
        super().write(batch)

    def row_values(self, r):
        return {**r["fields"], "_account_from_domain": r["account_from_domain"]}

    def values(self, fields, found):
        from_domain = fields.pop("_account_from_domain")
        values = super().values(fields, found)
        # A row that names no account (no column, or a blank cell) leaves a known contact on the
        # account it has, however it got there; only contacts without one are matched by domain.
        if from_domain and found is not None and found.account_id is not None:
            values["account_id"] = found.account_id
        return values

    def after(self, batch, objs, statuses):
        for obj in objs:
            if obj.account_id is None:
                self.result.contacts_unmatched += 1
                if len(self.result.unmatched_examples) < 20:
                    self.result.unmatched_examples.append(obj.email or obj.external_id)


class _ProgramWriter(_Writer):
    model = Program
    alternate = "name"

    def write(self, batch):
        names = {r["segment"] for _, r in batch if r["segment"]}
        self.segment_ids = dict(Segment.objects.filter(name__in=names).values_list("name", "pk"))
        super().write(batch)

    def row_values(self, r):
        values = dict(r["fields"])
        if r["segment"]:
            values["segment_id"] = self.segment_ids[r["segment"]]
        return values

    def existing(self, batch):
        by_ext, by_alt = super().existing(batch)
        # Matching on name is only for programs that have no external id at all.
        return by_ext, {k: v for k, v in by_alt.items() if not v.external_id}


class _OpportunityWriter(_Writer):
    model = Opportunity

    def write(self, batch):
        by_ref = self.job.refs.accounts_for({r["account_ref"] for _, r in batch})
        for _, r in batch:
            r["fields"] = {**r["fields"], "account_id": by_ref[r["account_ref"]]}
        super().write(batch)


_WRITERS: dict[str, type[_Writer]] = {
    "accounts": _AccountWriter, "contacts": _ContactWriter, "programs": _ProgramWriter,
    "opportunities": _OpportunityWriter,
}


def summary_line(result: ImportResult) -> str:
    """One sentence for the command line and the page."""
    if result.file_error:
        return f"Rejected: {result.file_error}"
    if result.error_count:
        return f"Rejected: {result.error_count} error(s) in {result.rejected} row(s); nothing was written."
    verb = "Would write" if result.dry_run else "Imported"
    text = (f"{verb} {result.rows} row(s): {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.rejected} rejected")
    skipped = sum(result.skipped.values())
    if skipped:
        text += f", {skipped} skipped"
    if result.users_created:
        text += f"; {len(result.users_created)} inactive user(s) created for owners"
    if result.contacts_unmatched:
        text += f"; {result.contacts_unmatched} contact(s) matched no account"
    return text + "."



# --- jobs (the page and the Celery task) -----------------------------------------------------------

_PHASE_SPAN = {"validate": (0.0, 0.5), "write": (0.5, 1.0)}


def import_job_upload(*, kind: str, preset: str, dry_run: bool, timezone: str, upload: Any, user: User) -> ImportJob:
    """Store the upload under MEDIA_ROOT (streamed to disk, never held in memory) for preview."""
    from imports.models import ImportJob

    job = ImportJob(kind=kind, preset=preset, dry_run=dry_run, timezone=timezone, original_name=upload.name[:255],
                    created_by=user)
    job.file.save(Path(upload.name).name or "upload.csv", upload, save=False)
    job.save()
    return job


def import_job_start(*, job: ImportJob) -> None:
    """Queue the import once the status change is committed (the task reads the row)."""
    from imports.models import ImportJob
    from imports.tasks import run_import

    updated = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.UPLOADED).update(
        status=ImportJob.Status.PENDING)
    if updated:
        transaction.on_commit(lambda: run_import.delay(job.pk))


def run_import_job(*, job_id: int) -> None:
    from django.utils import timezone as dj_tz

    from imports.models import ImportJob

    job = ImportJob.objects.get(pk=job_id)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, started_at=dj_tz.now())

    def progress(phase: str, fraction: float) -> None:
        low, high = _PHASE_SPAN[phase]
        job.report_progress(phase, low + (high - low) * fraction)

    try:
        result = import_csv(kind=job.kind, path=Path(job.file.path), preset=job.preset, dry_run=job.dry_run,
                            timezone=job.timezone, progress=progress)
    except Exception as exc:  # a bug, not bad input: recorded on the job for the page, then re-raised
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED, error=repr(exc),
                                                   finished_at=dj_tz.now())
        raise
    finally:
        job.clear_progress()  # the row holds the outcome from here on
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE if result.ok else ImportJob.Status.REJECTED,
        progress=1.0, result=result.to_dict(), finished_at=dj_tz.now(),
    )
