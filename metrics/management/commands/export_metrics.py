"""Write one day's metric snapshots to stdout as CSV or JSON."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from metrics.exports import LEVELS, export_rows, write_csv, write_json


class Command(BaseCommand):
    help = "Export the snapshots of one day (account, segment, program, channel or influence level) to stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--level", choices=LEVELS, required=True)
        parser.add_argument("--as-of", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
        parser.add_argument("--format", choices=("csv", "json"), default="csv")

    def handle(self, *args, level: str, as_of: date, format: str, **options) -> None:
        columns, rows = export_rows(level=level, as_of=as_of)
        if not rows:
            raise CommandError(f"No {level} snapshots for {as_of}; run `manage.py compute_metrics --as-of {as_of}` first.")
        (write_csv if format == "csv" else write_json)(self.stdout, columns, rows)
