"""Prepare the embedded demo for `make run`: demo users, demo data and metrics, once.

A second run finds them and only prints the logins, so it starts in seconds.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import demo_data_present
from alerts.demo import demo_alerts_setup
from fit.models import FitRun
from fit.services import fit_train
from metrics.models import AccountSnapshot

# username, group, full name. The passwords are generated per installation and kept in
# CREDENTIALS_FILE (git-ignored), never in the repository.
DEMO_USERS = (
    ("marketing", "marketing", "Maya Marketer"),
    ("sales", "sales", "Sam Seller"),
    ("executive", "executive", "Eve Executive"),
    ("admin", "admin", "Ada Admin"),
)
CREDENTIALS_FILE = Path(settings.BASE_DIR) / ".demo-logins.json"


class Command(BaseCommand):
    help = "Create demo users, demo data and metrics if missing, then print the URL and logins."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--accounts", type=int, default=300)

    def handle(self, *args, port: int, accounts: int, **options) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo_setup creates users with known passwords; it refuses to run in production.")
        passwords = self._users()
        if not demo_data_present():
            self.stdout.write("Loading demo data (first run only)…")
            call_command("seed_demo", accounts=accounts, stdout=self.stdout)
        if not AccountSnapshot.objects.exists():
            self.stdout.write("Computing 90 days of metrics (first run only)…")
            call_command("compute_metrics", days=90, stdout=self.stdout)
        if not FitRun.objects.exists():
            # The Fit page's score and look-alikes; after that, the nightly run retrains it.
            self.stdout.write("Training the ICP fit score (first run only)…")
            fit_train()
        # Default alert rules, and follows of accounts with news, so that the digests have content.
        alerts_note = demo_alerts_setup(usernames=[username for username, _, _ in DEMO_USERS])
        self.stdout.write(self.style.SUCCESS(f"\nABM dashboard: http://127.0.0.1:{port}/"))
        self.stdout.write("Demo logins (username / password):")
        for username, group, _ in DEMO_USERS:
            self.stdout.write(f"  {group:<10} {username} / {passwords[username]}")
        if alerts_note:
            self.stdout.write(alerts_note)
        self.stdout.write("")

    def _users(self) -> dict[str, str]:
        stored = json.loads(CREDENTIALS_FILE.read_text()) if CREDENTIALS_FILE.exists() else {}
        passwords = {u: stored.get(u) or secrets.token_urlsafe(9) for u, _, _ in DEMO_USERS}
        for username, group, full_name in DEMO_USERS:
            first, last = full_name.split(" ", 1)
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last, "email": f"{username}@demo.example"}
            )
            # Hashing is slow on purpose: only when the password is new (a later run reuses it).
            if created or stored.get(username) != passwords[username] or not user.has_usable_password():
                user.set_password(passwords[username])
            user.is_staff = group == "admin"
            user.is_superuser = group == "admin"
            user.save()
            user.groups.add(Group.objects.get(name=group))
        CREDENTIALS_FILE.write_text(json.dumps(passwords, indent=2))
        CREDENTIALS_FILE.chmod(0o600)
        return passwords
