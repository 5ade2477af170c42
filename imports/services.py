"""The CSV import: validate the whole file, then write it in one transaction.

import_csv() streams the file twice for accounts, contacts, programs, opportunities and target
lists (pass 1 checks every row and collects errors; pass 2 upserts in batches). Touchpoints
stream once into a staging table (accounts.staging), are checked there with SQL, and are written
with one INSERT … SELECT. Either way the writes run in a single transaction, and a dry run rolls
it back after counting.

On errors the default is all-or-nothing: one bad row and nothing is written. With
on_error="skip" the valid rows are written and every rejected row goes, with its original cells
and `_row`, `_column`, `_reason`, into a CSV the user fixes and imports again. A row is never
half written.
"""

from __future__ import annotations

import csv
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
from accounts.picklists import Picklists
from accounts.staging import StagedRow, TouchpointStage, staged_row, touchpoint_refs
from imports import mapping as user_mapping
from imports import parsing, presets
from imports.checks import BATCH_CHECKS
from imports.rows import PARSERS, EmailCache, References, RowProblems
from imports.writers import WRITERS

ERROR_CAP = 100
BATCH = 1000
ON_ERROR = ("fail", "skip")
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
    profile: str = ""
    dry_run: bool = False
    on_error: str = "fail"
    encoding: str = ""
    mapping: dict[str, list[str]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    multipliers: dict[str, str] = field(default_factory=dict)
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
    # Target lists: names / domains / ids that matched no account (reported, not errors).
    not_found: int = 0
    not_found_examples: list[str] = field(default_factory=list)
    file_error: str = ""
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    # Not errors: values the import left out and says so (a CRM website that is not a usable domain).
    warnings: list[RowError] = field(default_factory=list)
    warning_count: int = 0
    # on_error="skip": where the rejected rows were written (with their reasons), and how many.
    rejected_file: str = ""
    # The earliest day of the dated facts read (touches, opportunities): the metrics of the
    # published days from it on are recomputed after the import (metrics.tasks.refresh_after_import).
    earliest_day: str = ""

    @property
    def ok(self) -> bool:
        """Nothing stopped the import: no file error, and no row error unless bad rows were skipped."""
        return not self.file_error and (not self.error_count or self.on_error == "skip")

    @property
    def written(self) -> int:
        return self.created + self.updated + self.unchanged

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        data["written"] = self.written
        data["skipped_total"] = sum(self.skipped.values())
        return data


class _Rollback(Exception):
    """Raised inside the write transaction to undo it (dry run, or errors found late)."""


# --- entry points --------------------------------------------------------------------------------

def import_csv(*, kind: str, path: Path, preset: str = "auto", dry_run: bool = False, timezone: str | None = None,
               data_plan: Path | None = None, progress: ProgressFn | None = None,
               mapping: user_mapping.UserMapping | None = None, profile: str = "",
               on_error: str = "fail", rejected_path: Path | None = None,
               encoding: str | None = None) -> ImportResult:
    """Import one CSV file of `kind`. Never raises for bad input: the result says what was wrong.

    `mapping` lays the user's columns, constants and multipliers over the preset (imports.mapping);
    `profile` only names where it came from, for the summary. With on_error="skip" valid rows are
    written and the rejected ones go to `rejected_path` with their reasons.
    """
    result = ImportResult(kind=kind, dry_run=dry_run, on_error=on_error, profile=profile)
    progress = progress or (lambda phase, fraction: None)
    try:
        if kind not in presets.KINDS:
            raise parsing.FileRejected(f"Unknown kind {kind!r}: use one of {', '.join(presets.KINDS)}.")
        if preset not in (*presets.PRESETS, "auto"):
            raise parsing.FileRejected(f"Unknown preset {preset!r}: use one of auto, {', '.join(presets.PRESETS)}.")
        if on_error not in ON_ERROR:
            raise parsing.FileRejected(f"Unknown on_error {on_error!r}: use fail (all or nothing) or skip.")
        if on_error == "skip" and rejected_path is None:
            raise parsing.FileRejected("Skipping bad rows needs a file for them (--rejected FILE).")
        job = ImportRun(kind=kind, path=Path(path), preset=preset, tz=parsing.timezone_named(timezone),
                        data_plan=data_plan, result=result, progress=progress, user=mapping, encoding=encoding)
        job.run(dry_run=dry_run)
        if rejected_path is not None and (job.bad_lines or job.not_found_lines) and (on_error == "skip"
                                                                                 or result.ok):
            job.write_rejected(Path(rejected_path))
            result.rejected_file = str(rejected_path)
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
    # The first rows as they would be stored (field → value), or their errors.
    stored: list[dict[str, Any]] = field(default_factory=list)
    columns: dict[str, list[int]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    multipliers: dict[str, str] = field(default_factory=dict)


def preview_csv(*, kind: str, path: Path, preset: str = "auto", rows: int = 10,
                mapping: user_mapping.UserMapping | None = None, encoding: str | None = None) -> Preview:
    """The first rows, the column mapping, and those rows as they would be stored (without writing)."""
    try:
        job = ImportRun(kind=kind, path=Path(path), preset=preset, tz=dt.UTC, data_plan=None,
                        result=ImportResult(kind=kind), progress=lambda phase, fraction: None, user=mapping,
                        encoding=encoding, require_columns=False)
        first: list[list[str]] = []
        with parsing.CsvSource(Path(path), job.encoding) as source:
            for _, cells in source.rows():
                first.append(cells)
                if len(first) >= rows:
                    break
        stored = job.sample(rows) if not job.mapping.missing else []
        m = job.mapping
        return Preview(kind=kind, preset=m.preset, encoding=job.encoding.label, header=m.header, rows=first,
                       mapping=m.mapped_headers, unmapped=m.unmapped,
                       missing=[" or ".join(g) for g in m.missing], stored=stored, columns=m.columns,
                       constants=m.constants, multipliers={k: str(v) for k, v in m.multipliers.items()})
    except parsing.FileRejected as exc:
        return Preview(kind=kind, preset=preset, encoding="", header=[], rows=[], mapping={}, unmapped=[], missing=[],
                       file_error=str(exc))


# --- the job -------------------------------------------------------------------------------------

class ImportRun:
    def __init__(self, *, kind: str, path: Path, preset: str, tz: dt.tzinfo, data_plan: Path | None,
                 result: ImportResult, progress: ProgressFn, user: user_mapping.UserMapping | None = None,
                 encoding: str | None = None, require_columns: bool = True) -> None:
        self.kind = kind
        self.path = path
        self.tz = tz
        self.result = result
        self.progress = progress
        self.encoding = parsing.detect_encoding(path, encoding or None)
        result.encoding = self.encoding.label
        with parsing.CsvSource(path, self.encoding) as source:
            self.mapping = user_mapping.choose(source.header, kind, preset, user)
        self.preset = self.mapping.preset
        result.preset = self.preset
        result.mapping = self.mapping.mapped_headers
        result.constants = dict(self.mapping.constants)
        result.multipliers = {k: str(v) for k, v in self.mapping.multipliers.items()}
        result.unmapped = self.mapping.unmapped
        if self.mapping.missing and require_columns:
            wanted = "; ".join(" or ".join(g) for g in self.mapping.missing)
            aliases = "; ".join(
                f"{f}: {', '.join(presets.ALIASES[self.preset][kind].get(f, [f]))}"
                for g in self.mapping.missing for f in g
            )
            raise parsing.FileRejected(
                f"The columns do not look like {kind} for the {self.preset} preset. Missing: {wanted} "
                f"(column names recognised: {aliases}). Found: {', '.join(source.header)}. "
                "Map your own columns to these fields (import_csv --map FIELD=COLUMN, or the mapping step "
                "of the import page)."
            )
        self.refs = References(data_plan=data_plan)
        self.picklists = Picklists.load()
        self.skipped: Counter[str] = Counter()
        self._program_channels: dict[str, str | None] = {}
        self.phase = "validate"
        self.line = 0
        # Rows whose CRM website is dropped in pass 2 (decided in pass 1, where the whole file is seen).
        self.dropped_domains: set[int] = set()
        self.repeated_rows: set[int] = set()
        # Every rejected line with its (column, reason)s: the rows pass 2 leaves out, and the rejected file.
        self.bad_lines: dict[int, list[tuple[str, str]]] = {}
        # Target lists: account keys found in pass 1, and the lines whose account was not found.
        self.resolved_targets: dict[Any, int] = {}
        self.not_found_lines: set[int] = set()
        self.earliest: dt.datetime | None = None

    # Column names for error messages: the file's own header for the field.
    def column(self, name: str) -> str:
        idx = self.mapping.columns.get(name)
        return self.mapping.header[idx[0]] if idx else name

    def raw_rows(self, source: parsing.CsvSource) -> Iterator[tuple[int, dict[str, str]]]:
        """(line, {field: text}) per data row; a field fed by several columns takes the first non-blank;
        a constant fills a field that has no column or a blank cell."""
        single = [(name, idx[0]) for name, idx in self.mapping.columns.items() if len(idx) == 1]
        multi = [(name, idx) for name, idx in self.mapping.columns.items() if len(idx) > 1]
        constants = list(self.mapping.constants.items())
        width = max((i for idx in self.mapping.columns.values() for i in idx), default=0) + 1
        for line, cells in source.rows():
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            raw = {name: cells[i] for name, i in single}
            for name, idx in multi:
                raw[name] = next((cells[i] for i in idx if cells[i].strip()), "")
            for name, value in constants:
                if not raw.get(name, "").strip():
                    raw[name] = value
            yield line, raw

    def scaled(self, name: str, value: Any) -> Any:
        """A parsed number times the user's multiplier for the field, if any."""
        factor = self.mapping.multipliers.get(name)
        if factor is None or value is None:
            return value
        return value * factor if isinstance(value, Decimal) else Decimal(value) * factor

    def error(self, row: int, name: str, reason: str) -> None:
        self.result.error_count += 1
        column = self.column(name)
        self.bad_lines.setdefault(row, []).append((column, reason))
        if len(self.result.errors) < ERROR_CAP:
            self.result.errors.append(RowError(row, column, reason))

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

    def dated(self, moment: dt.datetime | None) -> None:
        """Note a fact's date: the metrics of the days from the earliest one on are recomputed."""
        if moment is not None and (self.earliest is None or moment < self.earliest):
            self.earliest = moment

    def run(self, *, dry_run: bool) -> None:
        if self.kind == "touchpoints":
            self._run_touchpoints(dry_run=dry_run)
        else:
            self._run_records(dry_run=dry_run)
        if self.earliest is not None:
            self.result.earliest_day = self.earliest.astimezone(dt.UTC).date().isoformat()
        self.result.skipped = dict(self.skipped)
        self.result.rejected = len(self.bad_lines)
        self.result.errors.sort(key=lambda e: e.row)

    @property
    def skipping(self) -> bool:
        return self.result.on_error == "skip"

    # -- accounts, contacts, programs, opportunities, targets --

    def _parsed(self, source: parsing.CsvSource, phase: str) -> Iterator[list[tuple[int, dict[str, Any]]]]:
        """Rows parsed and cleaned, in batches; row errors recorded, skipped rows counted (pass 1 only).
        Pass 2 leaves out every row pass 1 rejected (they only reach it when bad rows are skipped)."""
        parse = PARSERS[self.kind]
        self.phase = phase
        batch: list[tuple[int, dict[str, Any]]] = []
        for n, (line, raw) in enumerate(self.raw_rows(source), 1):
            self.line = line
            if phase == "validate":
                self.result.rows += 1
            if line in self.repeated_rows or (phase == "write" and line in self.bad_lines):
                continue
            try:
                batch.append((line, parse(self, raw)))
            except RowProblems as exc:
                if phase == "validate":
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
        if self.result.rows == 0:
            raise parsing.FileRejected("The file has a header but no data rows.")
        if self.result.error_count and not self.skipping:
            return
        writer = WRITERS[self.kind](self)
        try:
            with transaction.atomic():
                with parsing.CsvSource(self.path, self.encoding) as source:
                    for batch in self._parsed(source, "write"):
                        writer.write(batch)
                writer.finish()
                self.progress("write", 1.0)
                if dry_run:
                    raise _Rollback
        except _Rollback:
            pass

    def sample(self, rows: int) -> list[dict[str, Any]]:
        """The first `rows` rows as they would be stored, each {"row", "values", "errors"} (no writes)."""
        out: list[dict[str, Any]] = []
        with parsing.CsvSource(self.path, self.encoding) as source:
            if self.kind == "touchpoints":
                ctx = presets.KindContext(program_channel=self.program_channel)
                for line, raw in self.raw_rows(source):
                    if len(out) >= rows:
                        break
                    staged = list(self._staged_rows(iter([(line, raw)]), ctx))
                    values = staged[0]._asdict() if staged else {}
                    out.append({"row": line, "values": _shown(values), "errors": self.bad_lines.pop(line, [])})
                return out
            parse = PARSERS[self.kind]
            for line, raw in self.raw_rows(source):
                if len(out) >= rows:
                    break
                self.line = line
                try:
                    parsed = parse(self, raw)
                    values = {**parsed.get("fields", {}), **{k: v for k, v in parsed.items() if k != "fields"}}
                    out.append({"row": line, "values": _shown(values), "errors": []})
                except RowProblems as exc:
                    out.append({"row": line, "values": {},
                                "errors": [(self.column(n), r) for n, r in exc.problems]})
                except presets.Skip as exc:
                    out.append({"row": line, "values": {}, "errors": [("", f"skipped: {exc.reason}")]})
        return out

    def write_rejected(self, path: Path) -> None:
        """Every rejected row with its original cells, then _row, _column and _reason, in file order."""
        with parsing.CsvSource(self.path, self.encoding) as source, path.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow([*source.header, "_row", "_column", "_reason"])
            width = len(source.header)
            position = {h: i for i, h in enumerate(source.header)}
            for line, cells in source.rows():
                problems = self.bad_lines.get(line)
                if problems is None and line in self.not_found_lines:
                    problems = [("", "matched no account")]
                if problems:
                    problems = sorted(problems, key=lambda p: position.get(p[0], width))  # in file order
                    cells = (cells + [""] * width)[:max(width, len(cells))]
                    # The user's own cells, untouched (no csv_safe quote): the file goes back into
                    # the import once fixed, and "-250" or "+49 30…" must read as they did.
                    out.writerow([*cells, line,
                                  "; ".join(dict.fromkeys(c for c, _ in problems)),
                                  "; ".join(f"{c}: {r}" if len(problems) > 1 else r for c, r in problems)])

    # -- touchpoints --

    def _run_touchpoints(self, *, dry_run: bool) -> None:
        ctx = presets.KindContext(program_channel=self.program_channel)
        stage = TouchpointStage()
        try:
            with transaction.atomic():
                stage.create()
                with parsing.CsvSource(self.path, self.encoding) as source:
                    stage.add(self._staged_rows(self.raw_rows(source), ctx, source))
                stage.flush()
                self.progress("validate", 1.0)
                if self.result.rows == 0:
                    raise parsing.FileRejected("The file has a header but no data rows.")
                problems, total, _ = stage.problems(limit=None if self.skipping else ERROR_CAP)
                for p in problems:
                    self.error(p.row_no, p.field, p.reason)
                if not self.skipping:
                    # Only the first problems are detailed; the count covers them all.
                    self.result.error_count += total - len(problems)
                    if self.result.error_count:
                        raise _Rollback
                elif problems:
                    stage.discard({p.row_no for p in problems})
                created, updated, unchanged = stage.upsert()
                self.result.created, self.result.updated, self.result.unchanged = created, updated, unchanged
                self.progress("write", 1.0)
                if dry_run:
                    raise _Rollback
        except _Rollback:
            pass

    def _staged_rows(self, rows: Iterator[tuple[int, dict[str, str]]], ctx: presets.KindContext,
                     source: parsing.CsvSource | None = None) -> Iterator[StagedRow]:
        """Parse and check each row (the per-row rules); references are checked later, in SQL."""
        default_source = "" if self.preset == "native" else self.preset
        tz = self.tz
        emails = EmailCache()
        result = self.result
        for line, raw in rows:
            result.rows += 1
            if source is not None and not result.rows % 20000:
                self.progress("validate", source.fraction_read)
            try:
                kind, extra = presets.touchpoint_kind(self.preset, raw, ctx)
            except presets.Skip as exc:
                self.skipped[exc.reason] += 1
                continue
            problems = [(name, parsing.NUL_REASON) for name, value in raw.items() if "\x00" in value]
            if problems:
                for name, reason in problems:
                    self.error(line, name, reason)
                continue
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
            refs: dict[str, Any] = {}
            try:
                refs = touchpoint_refs(refs={**raw, "program_external_id": extra.get("program_external_id")
                                             or raw.get("program_external_id")}, check_email=emails.check)
            except rules.InvalidRecord as exc:
                problems += [(p.field, p.reason) for p in exc.problems]
            if problems:
                for name, reason in problems:
                    self.error(line, name, reason)
                continue
            self.dated(clean["occurred_at"])
            yield staged_row(line, clean, refs)

    def _minutes(self, raw: dict[str, str], extra: dict[str, str], occurred_at: dt.datetime | None,
                 problems: list[tuple[str, str]]) -> Decimal | None:
        """The source's duration: a minutes column, call seconds, or a meeting's end time."""
        try:
            if raw.get("minutes", "").strip():
                return self.scaled("minutes", parsing.parse_amount(raw["minutes"])[0])
            if raw.get("duration_seconds", "").strip():
                seconds = self.scaled("duration_seconds", parsing.parse_amount(raw["duration_seconds"])[0])
                return None if seconds is None else seconds / 60
            if extra.get("end_time") and occurred_at is not None:
                end = parsing.parse_datetime(extra["end_time"], self.tz)
                return None if end is None else Decimal((end - occurred_at).total_seconds()) / 60
        except ValueError as exc:
            problems.append(("minutes", str(exc)))
        return None


_INTERNAL = {"row_no", "account_field", "owner_given", "label"}


def _shown(values: dict[str, Any]) -> dict[str, str]:
    """A parsed row for the preview, in the words of the docs: blanks left out, moments in UTC."""
    shown: dict[str, str] = {}
    for name, value in values.items():
        if name in _INTERNAL or value is None or value == "" or value == []:
            continue
        if name == "account_key":
            how, key = value
            shown["account"] = f"by {how.replace('_', ' ')}: {key}"
        elif isinstance(value, dt.datetime):
            shown[name] = value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        elif isinstance(value, bool):
            shown[name] = "true" if value else "false"
        elif isinstance(value, list):
            shown[name] = "; ".join(str(v) for v in value)
        else:
            shown[name] = str(value)
    return shown


def summary_line(result: ImportResult) -> str:
    """One sentence for the command line and the page."""
    if result.file_error:
        return f"Rejected: {result.file_error}"
    if result.error_count and result.on_error != "skip":
        return f"Rejected: {result.error_count} error(s) in {result.rejected} row(s); nothing was written."
    verb = "Would write" if result.dry_run else "Imported"
    if result.kind == "targets":
        text = f"{verb} {result.rows} row(s): {result.created} account(s) newly marked as targets, " \
               f"{result.unchanged} already were, {result.rejected} rejected"
    else:
        text = (f"{verb} {result.rows} row(s): {result.created} created, {result.updated} updated, "
                f"{result.unchanged} unchanged, {result.rejected} rejected")
    skipped = sum(result.skipped.values())
    if skipped:
        text += f", {skipped} skipped"
    if result.not_found:
        text += f"; {result.not_found} matched no account"
    if result.rejected_file:
        text += f"; rejected rows with their reasons in {result.rejected_file}"
    if result.users_created:
        text += f"; {len(result.users_created)} inactive user(s) created for owners"
    if result.contacts_unmatched:
        text += f"; {result.contacts_unmatched} contact(s) matched no account"
    return text + "."
