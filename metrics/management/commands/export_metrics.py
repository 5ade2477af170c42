"""Write one published day's metric snapshots to stdout as CSV or JSON."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from metrics import selectors
from metrics.exports import LEVELS, export_rows, write_csv, write_json


class Command(BaseCommand):
    help = (
        "Export the snapshots of one published day (account, segment, program, channel, influence or contact "
        "level: people's figures by contact_external_id and account_external_id, no names, emails or phones) "
        "to stdout. A day is published when its metrics run is complete."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--level", choices=LEVELS, required=True)
        parser.add_argument(
            "--as-of", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: the latest published day)"
        )
        parser.add_argument("--format", choices=("csv", "json"), default="csv")

    def handle(self, *args, level: str, as_of: date | None, format: str, **options) -> None:
        if as_of is None:
            as_of = selectors.latest_published_day()
            if as_of is None:
                raise CommandError("No day is published yet; run `manage.py compute_metrics` first.")
        elif not selectors.is_published(as_of):
            # A running or failed day has part of its snapshots: exporting them would pass them off as the day's.
            raise CommandError(f"{as_of} is not published. {selectors.unpublished_reason(as_of)}")
        columns, rows = export_rows(level=level, as_of=as_of)
        if not rows:
            raise CommandError(f"No {level} snapshots for {as_of}; run `manage.py compute_metrics --as-of {as_of}` first.")
        (write_csv if format == "csv" else write_json)(self.stdout, columns, rows)
