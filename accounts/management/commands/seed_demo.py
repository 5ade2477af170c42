"""`manage.py seed_demo`: load a deterministic, realistic demo data set (see accounts/demo/)."""

from __future__ import annotations

from datetime import UTC, date

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.demo import DemoDataExists, seed_demo


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise CommandError(f"--end-date must be YYYY-MM-DD, not {value!r}") from err


class Command(BaseCommand):
    help = (
        "Generate demo accounts, contacts, segments, programs, touchpoints and opportunities. The same --seed, "
        "--end-date and sizes (and the same users in the sales group) always give the same data. Refuses when "
        "accounts exist, unless --reset."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--accounts", type=int, default=300, help="Number of accounts (default 300).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument("--days", type=int, default=365, help="Days of history ending on --end-date (default 365).")
        parser.add_argument(
            "--end-date", type=_iso_date, default=None,
            help="Last day of the history, YYYY-MM-DD (default today, UTC; not after today). Nothing is dated "
                 "after now: on today, only the hours already past.",
        )
        parser.add_argument(
            "--reset", action="store_true",
            help="First delete all accounts, contacts, segments, programs, touchpoints and opportunities.",
        )
        parser.add_argument(
            "--reps", type=int, default=0,
            help="Extra sales reps (rep.001, rep.002, …) to own accounts besides the demo's four (default 0), "
                 "for realistic books in a big data set: about a third of accounts are targets, so 165 reps at "
                 "100,000 accounts give ≈ 200 target accounts each.",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar on stderr.")

    def handle(
        self, *args, accounts: int, seed: int, days: int, end_date: date | None, reset: bool, no_progress: bool,
        reps: int = 0, verbosity: int = 1, **options,
    ) -> None:
        if accounts < 1:
            raise CommandError("--accounts must be at least 1")
        if days < 1:
            raise CommandError("--days must be at least 1")
        if reps < 0:
            raise CommandError(f"--reps must be 0 or more, not {reps}")
        today = timezone.now().astimezone(UTC).date()
        end = end_date or today
        if end > today:
            # Demo data dated after now would read as future-dated touches (the data-quality page).
            raise CommandError(f"--end-date cannot be after today ({today})")
        if verbosity:
            self.stdout.write(f"Generating {accounts:,} accounts over {days} days ending {end} (seed {seed})…")
        try:
            result = seed_demo(
                accounts=accounts, seed=seed, days=days, end_date=end, reset=reset, extra_reps=reps,
                progress=verbosity > 0 and not no_progress, log=self.stdout.write if verbosity else lambda m: None,
            )
        except DemoDataExists as err:
            raise CommandError(str(err)) from err
        if not verbosity:
            return
        rows = (
            ("accounts", result.accounts),
            ("  of which targets", result.target_accounts),
            ("contacts", result.contacts),
            ("segments", result.segments),
            ("segment memberships", result.segment_memberships),
            ("programs", result.programs),
            ("touchpoints", result.touchpoints),
            ("opportunities", result.opportunities),
        )
        for label, count in rows:
            self.stdout.write(f"  {label:<20} {count:>12,}")
        rate = result.touchpoints / result.seconds if result.seconds else 0.0
        self.stdout.write(
            self.style.SUCCESS(f"Demo data loaded in {result.seconds:.1f} s ({rate:,.0f} touchpoints/s).")
        )
