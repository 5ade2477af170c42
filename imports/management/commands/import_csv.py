"""python manage.py import_csv KIND FILE [mapping options] [--on-error skip --rejected OUT.csv] … (docs/import.md)"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from imports import presets
from imports.mapping import UserMapping, load_mapping_file
from imports.parsing import FileRejected
from imports.profiles import file_header, profile_for_header, profile_mapping, profile_named, profile_save
from imports.services import ImportResult, import_csv, summary_line


class Command(BaseCommand):
    help = ("Import a CSV of accounts, contacts, programs, opportunities or touchpoints, or a list of target "
            "accounts (docs/import.md).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", help=", ".join(presets.KINDS))
        parser.add_argument("file", type=Path)
        parser.add_argument("--preset", default="auto", choices=("auto", *presets.PRESETS),
                            help="column names to expect (default: detect)")
        mapping = parser.add_argument_group("column mapping (override the preset; see docs/import.md)")
        mapping.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                             help="feed FIELD from the file's COLUMN (repeatable; a column may feed several fields)")
        mapping.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                             help="a constant for FIELD where it has no column or a blank cell, e.g. currency=USD")
        mapping.add_argument("--multiply", action="append", default=[], metavar="FIELD=FACTOR",
                             help="multiply a numeric FIELD, e.g. annual_revenue=1000000 for revenue in millions")
        mapping.add_argument("--mapping", type=Path, metavar="FILE.json",
                             help='the same as JSON: {"map": {...}, "set": {...}, "multiply": {...}}')
        mapping.add_argument("--profile", metavar="NAME", help="use a saved import profile")
        mapping.add_argument("--save-profile", metavar="NAME", help="save the mapping used as a profile")
        parser.add_argument("--on-error", default="fail", choices=("fail", "skip"),
                            help="fail: write nothing when a row is bad (default); skip: write the valid rows")
        parser.add_argument("--rejected", type=Path, metavar="OUT.csv",
                            help="where rejected rows go with _row, _column, _reason (default with --on-error "
                                 "skip: FILE.rejected.csv)")
        parser.add_argument("--encoding", help="the file's encoding when detection is not wanted, e.g. cp1252")
        parser.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")
        parser.add_argument("--timezone", default="UTC", help="zone of dates without an offset (IANA name)")
        parser.add_argument("--data-plan", type=Path, help="Salesforce CLI data plan resolving @AccountRefN")
        parser.add_argument("--json", action="store_true", help="print the whole result as JSON")

    def handle(self, *args, **options) -> None:
        path: Path = options["file"]
        kind: str = options["kind"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        plan = options["data_plan"]
        if plan is None and kind in ("contacts", "opportunities"):
            # A Salesforce CLI export keeps its plan next to the CSVs.
            found = sorted(path.parent.glob("*data-plan.json"))
            plan = found[0] if len(found) == 1 else None
        rejected = options["rejected"]
        if rejected is None and options["on_error"] == "skip":
            rejected = path.with_name(f"{path.stem}.rejected.csv")
        try:
            mapping, profile = self._mapping(kind, path, options)
        except FileRejected as exc:
            raise CommandError(str(exc)) from exc
        result = import_csv(kind=kind, path=path, preset=options["preset"], dry_run=options["dry_run"],
                            timezone=options["timezone"], data_plan=plan, mapping=mapping, profile=profile,
                            on_error=options["on_error"], rejected_path=rejected, encoding=options["encoding"])
        if result.ok and options["save_profile"]:
            try:
                profile_save(name=options["save_profile"], kind=kind, preset=result.preset,
                             header=file_header(path, options["encoding"]), mapping=mapping or UserMapping(),
                             user=None)
            except FileRejected as exc:
                raise CommandError(f"Imported, but the profile was not saved: {exc}") from exc
            self.stdout.write(f"Saved the mapping as profile {options['save_profile']!r}.")
        self._report(result, options["json"])
        line = summary_line(result)
        if not result.ok:
            raise CommandError(line)
        self.stdout.write(self.style.SUCCESS(line))

    def _mapping(self, kind: str, path: Path, options: dict) -> tuple[UserMapping | None, str]:
        """Profile (named, or the one saved for this header), then the mapping file, then the options."""
        given = UserMapping.from_options(maps=options["map"], sets=options["set"], multiplies=options["multiply"])
        if options["mapping"]:
            given = load_mapping_file(options["mapping"]).merged(given)
        profile = None
        if options["profile"]:
            profile = profile_named(name=options["profile"], kind=kind)
        elif not given and kind in presets.KINDS:
            profile = profile_for_header(kind=kind, header=file_header(path, options["encoding"]))
        if profile is not None:
            return profile_mapping(profile).merged(given), profile.name
        return (given or None), ""

    def _report(self, result: ImportResult, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(result.to_dict(), indent=2, default=str))
            return
        self.stdout.write(f"Preset: {result.preset or '-'}  encoding: {result.encoding or '-'}"
                          + (f"  profile: {result.profile}" if result.profile else ""))
        for error in result.errors:
            self.stdout.write(f"  row {error.row}, column {error.column}: {error.reason}")
        if result.error_count > len(result.errors):
            self.stdout.write(f"  … and {result.error_count - len(result.errors)} more")
        for warning in result.warnings:
            self.stdout.write(f"  warning: row {warning.row}, column {warning.column}: {warning.reason}")
        for reason, count in sorted(result.skipped.items()):
            self.stdout.write(f"  skipped {count}: {reason}")
        for email in result.users_created:
            self.stdout.write(f"  created inactive sales user {email}")
        if result.not_found_examples:
            self.stdout.write(f"  matched no account: {', '.join(result.not_found_examples)}"
                              + (" …" if result.not_found > len(result.not_found_examples) else ""))
