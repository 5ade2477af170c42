"""`manage.py send_alerts [--as-of DATE] [--weekly]`: the nightly evaluation and delivery, by hand."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alerts import services
from alerts.models import Delivery
from metrics.selectors import latest_published_day


def _iso(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise CommandError(f"--as-of must be YYYY-MM-DD, not {value!r}") from err


class Command(BaseCommand):
    help = (
        "Evaluate the alert rules on a published day (default: the latest) and send what is new: one digest per "
        "user with news, the rules' webhooks. A day's messages are sent once: a second run sends nothing new. "
        "With --weekly, the weekly executive summary instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as-of", type=_iso, default=None, help="YYYY-MM-DD, a published day (default: the latest)"
        )
        parser.add_argument("--weekly", action="store_true", help="Send the weekly executive summary instead.")

    def handle(self, *args, as_of: date | None, weekly: bool, **options) -> None:
        day = as_of or latest_published_day()
        if day is None:
            raise CommandError("No published day yet: run `manage.py compute_metrics` first.")
        try:
            report = (services.weekly_summaries_send if weekly else services.alerts_send_for_day)(as_of=day)
        except services.NotPublished as reason:
            raise CommandError(str(reason)) from reason
        self.stdout.write(str(report))
        # Without a broker the deliveries ran in this process; with one, workers are sending them.
        for delivery in Delivery.objects.filter(pk__in=report.dispatched).select_related("user").order_by("pk"):
            line = (
                f"  {delivery.get_kind_display():<14} {delivery.target:<32} {delivery.alerts:>3} alerts  "
                f"{delivery.status}"
            )
            self.stdout.write(line + (f": {delivery.error}" if delivery.error and delivery.status != "sent" else ""))
