"""Compute the metric snapshots in this process (no broker needed), for one day or a backfill."""

from __future__ import annotations

import sys
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from metrics.backfill import compute_days
from metrics.selectors import last_complete_day
from metrics.services import RunRefused, account_ranges


class Command(BaseCommand):
    help = (
        "Compute the daily metric snapshots as of a date (default: yesterday, the last complete UTC day). "
        "--days N backfills the N days ending with that date, oldest first, so trend charts have history; "
        "each day builds on the reads of the day before (metrics.backfill)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as-of", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: yesterday UTC)"
        )
        parser.add_argument("--days", type=int, default=1, help="How many days ending with --as-of (default 1)")
        parser.add_argument("--chunk-size", type=int, default=None, help="Accounts per chunk (default: setting)")

    def handle(self, *args, as_of: date | None, days: int, chunk_size: int | None, **options) -> None:
        if days < 1:
            raise CommandError("--days must be at least 1")
        as_of = as_of or last_complete_day()
        if as_of > last_complete_day():
            self.stderr.write(
                f"Note: {as_of} is not over yet (UTC), so its figures will still change; the nightly run "
                "computes it again once it is."
            )
        accounts = sum(chunk.accounts for chunk in account_ranges(chunk_size=chunk_size))
        with tqdm(total=days * accounts, unit="acct", disable=None, file=sys.stderr) as bar:
            try:
                compute_days(as_of=as_of, days=days, chunk_size=chunk_size, progress=bar.update,
                             on_day=lambda day: bar.set_description(day.isoformat()))
            except RunRefused as refused:
                raise CommandError(str(refused)) from refused
        first = as_of - timedelta(days=days - 1)
        self.stdout.write(self.style.SUCCESS(f"Metrics computed for {days} day(s), {first} … {as_of}, {accounts} accounts."))
