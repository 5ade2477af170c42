"""The CSV import: validate the whole file, then write it in one transaction (or write nothing).

import_csv() streams the file twice for accounts, contacts, programs and opportunities (pass 1
checks every row and collects errors; pass 2, only when there were none, upserts in batches).
Touchpoints stream once into a staging table (accounts.staging), are checked there with SQL,
and are written with one INSERT … SELECT. Either way the writes run in a single transaction, and
a dry run rolls it back after counting.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction

from accounts import services as rules
from accounts.models import Program
from accounts.staging import StagedRow, TouchpointStage
from imports import parsing, presets
from imports.checks import BATCH_CHECKS
from imports.rows import PARSERS, EmailCache, References, RowProblems
from imports.writers import WRITERS

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
        job = ImportRun(kind=kind, path=Path(path), preset=preset, tz=parsing.timezone_named(timezone),
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

class ImportRun:
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
        self.refs = References(data_plan=data_plan)
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
        parse = PARSERS[self.kind]
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
            except RowProblems as exc:
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
        checker = BATCH_CHECKS[self.kind](self)
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
        writer = WRITERS[self.kind](self)
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
        emails = EmailCache()
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



