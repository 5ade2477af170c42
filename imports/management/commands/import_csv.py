"""python manage.py import_csv KIND FILE [--preset …] [--dry-run] [--timezone …] [--data-plan …]"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from imports import presets
from imports.services import import_csv, summary_line


class Command(BaseCommand):
    help = "Import a CSV of accounts, contacts, programs, opportunities or touchpoints (docs/import.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", help=", ".join(presets.KINDS))
        parser.add_argument("file", type=Path)
        parser.add_argument("--preset", default="auto", choices=("auto", *presets.PRESETS),
                            help="column names to expect (default: detect)")
        parser.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")
        parser.add_argument("--timezone", default="UTC", help="zone of dates without an offset (IANA name)")
        parser.add_argument("--data-plan", type=Path, help="Salesforce CLI data plan resolving @AccountRefN")
        parser.add_argument("--json", action="store_true", help="print the whole result as JSON")

    def handle(self, *args, **options) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        plan = options["data_plan"]
        if plan is None and options["kind"] in ("contacts", "opportunities"):
            # A Salesforce CLI export keeps its plan next to the CSVs.
            found = sorted(path.parent.glob("*data-plan.json"))
            plan = found[0] if len(found) == 1 else None
        result = import_csv(kind=options["kind"], path=path, preset=options["preset"], dry_run=options["dry_run"],
                            timezone=options["timezone"], data_plan=plan)
        if options["json"]:
            self.stdout.write(json.dumps(result.to_dict(), indent=2, default=str))
        else:
            self.stdout.write(f"Preset: {result.preset or '-'}  encoding: {result.encoding or '-'}")
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
        line = summary_line(result)
        if not result.ok:
            raise CommandError(line)
        self.stdout.write(self.style.SUCCESS(line))
