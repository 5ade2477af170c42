"""A small hand-built world with news on day D = Monday 2025-03-31 (D−1 and D published).

Snapshots are written by hand (the alerts read them, they do not compute them); the touches and
opportunities are the facts the other events read. What happened on D:

- Iron East (target, Bob's): a new spike — 1,747 minutes in W7 against 858 in B21 (a weekly
  average of 286), Sofia Harris (CEO) at the "Scaling ABM" webinar on 28 Mar the biggest part —
  and a new opportunity (120,000 USD).
- Acme (target, Bob's): became an MQA; Dana Diaz (VP Sales, champion) engaged for the first time.
- Globex (target, in Enterprise): a new spike, 90 minutes against a weekly average of 20.
- Initech (target, in Enterprise): back after 31 quiet days.
- Umbrella (not a target, Bob's): spiking and an opportunity, but outside every "my accounts".

Alice follows Globex; Charlie follows the Enterprise segment; Bob owns his accounts; Ada has no
rules. Alice, Bob and Charlie have the default rules.
"""

from __future__ import annotations

import datetime as dt
import http.server
import importlib.util
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from accounts.models import Account, Contact, Opportunity, Program, Segment, Touchpoint
from alerts import services
from metrics.models import AccountSnapshot, MetricsRun

collect_ignore = [] if shutil.which("chromium") and importlib.util.find_spec("playwright") else ["test_browser.py"]

D = dt.date(2025, 3, 31)
UTC = dt.UTC


def at(days_before: int, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(D - dt.timedelta(days=days_before), dt.time(hour), tzinfo=UTC)


def publish(*days: dt.date) -> None:
    for day in days:
        MetricsRun.objects.update_or_create(as_of=day, defaults={"status": "done", "chunks_total": 1, "chunks_done": 1})


_n = iter(range(1, 10**6))


def touch(account: Account, kind: str, when: dt.datetime, *, who: Contact | None = None,
          program: Program | None = None, minutes: str | None = None) -> Touchpoint:
    return Touchpoint.objects.create(account=account, contact=who, program=program, kind=kind, occurred_at=when,
                                     minutes=Decimal(minutes) if minutes else None, source="test",
                                     external_id=f"t{next(_n)}")


def snap(account: Account, day: dt.date = D, **figures) -> AccountSnapshot:
    return AccountSnapshot.objects.create(account=account, as_of=day, **figures)


@dataclass
class World:
    iron: Account
    acme: Account
    globex: Account
    initech: Account
    umbrella: Account
    enterprise: Segment
    sofia: Contact
    dana: Contact
    users: dict[str, User] = field(default_factory=dict)


def build_world(*, alice: User, bob: User, charlie: User) -> World:
    enterprise = Segment.objects.create(name="Enterprise")
    iron = Account.objects.create(name="Iron East", domain="ironeast.example", is_target=True, owner=bob)
    acme = Account.objects.create(name="Acme", domain="acme.example", is_target=True, owner=bob)
    globex = Account.objects.create(name="Globex", domain="globex.example", is_target=True)
    initech = Account.objects.create(name="Initech", domain="initech.example", is_target=True)
    umbrella = Account.objects.create(name="Umbrella", domain="umbrella.example", is_target=False, owner=bob)
    enterprise.accounts.add(globex, initech)

    webinar = Program.objects.create(name="Scaling ABM", channel="webinar")
    newsletter = Program.objects.create(name="Spring newsletter", channel="email")

    # Iron East: a spike today, not yesterday (an MQA on both days: no MQA news).
    snap(iron, D - dt.timedelta(days=1), minutes_7d=200, minutes_prev_21d=858, minutes_90d=2500, mqa=True)
    snap(iron, minutes_7d=1747, minutes_prev_21d=858, minutes_90d=2900, mqa=True, spike=True)
    sofia = Contact.objects.create(account=iron, email="sofia@ironeast.example", first_name="Sofia",
                                   last_name="Harris", title="CEO", role="decision_maker", seniority="cxo")
    tom = Contact.objects.create(account=iron, email="tom@ironeast.example", first_name="Tom", last_name="Baker",
                                 title="Engineer", role="end_user")
    touch(iron, "webinar_attended", at(3), who=sofia, program=webinar)  # 30 × 2 (CXO) = 60 minutes
    touch(iron, "web_visit", at(1), who=sofia, minutes="5")  # 10 minutes
    touch(iron, "meeting", at(2), who=tom)  # 30 minutes
    touch(iron, "webinar_attended", at(40), who=tom, program=webinar)
    Opportunity.objects.create(account=iron, name="Iron East platform", amount=Decimal("120000"),
                               created_at=at(0, 9), stage="Qualification")

    # Acme: an MQA today, not yesterday; Dana engages for the first time today.
    snap(acme, D - dt.timedelta(days=1), minutes_7d=0, minutes_90d=90, engaged_contacts_90d=2)
    snap(acme, minutes_7d=2, minutes_90d=240, engaged_contacts_90d=3, mqa=True)
    carl = Contact.objects.create(account=acme, email="carl@acme.example", first_name="Carl", last_name="Chen",
                                  title="Head of IT", role="influencer")
    dana = Contact.objects.create(account=acme, email="dana@acme.example", first_name="Dana", last_name="Diaz",
                                  title="VP Sales", role="champion")
    touch(acme, "meeting", at(20), who=carl)  # 30 minutes, W90 but not news
    touch(acme, "email_click", at(0, 8), who=dana, program=newsletter)  # 2 minutes: Dana's first

    # Globex: a new spike with no known contact behind it.
    snap(globex, D - dt.timedelta(days=1), minutes_7d=20, minutes_prev_21d=60, minutes_90d=200)
    snap(globex, minutes_7d=90, minutes_prev_21d=60, minutes_90d=270, spike=True)
    touch(globex, "web_visit", at(5), minutes="10")
    touch(globex, "web_visit", at(0), minutes="80")

    # Initech: a touch today, the one before 32 days ago (31 quiet days); an ad impression in
    # between is worth 0 minutes and breaks no quiet.
    snap(initech, D - dt.timedelta(days=1), minutes_90d=1)
    snap(initech, minutes_7d=3, minutes_90d=4)
    touch(initech, "web_visit", at(32), minutes="1")
    touch(initech, "ad_impression", at(10))
    touch(initech, "web_visit", at(0, 15), minutes="3")

    # Umbrella: news, but not a target account: no "my accounts" and no opportunity alert.
    snap(umbrella, D - dt.timedelta(days=1), minutes_7d=1, minutes_prev_21d=3)
    snap(umbrella, minutes_7d=60, minutes_prev_21d=3, spike=True)
    touch(umbrella, "web_visit", at(4), minutes="1")
    touch(umbrella, "web_visit", at(0), minutes="59")
    Opportunity.objects.create(account=umbrella, name="Umbrella deal", amount=Decimal("5000"), created_at=at(0))

    publish(D - dt.timedelta(days=1), D)
    for user in (alice, bob, charlie):
        services.rules_create_defaults(user=user)
    services.follow_set(user=alice, following=True, account=globex)
    services.follow_set(user=charlie, following=True, segment=enterprise)
    return World(iron, acme, globex, initech, umbrella, enterprise, sofia, dana)


@pytest.fixture
def world(alice, bob, charlie, ada) -> World:
    w = build_world(alice=alice, bob=bob, charlie=charlie)
    w.users = {"alice": alice, "bob": bob, "charlie": charlie, "ada": ada}
    return w


@pytest.fixture(autouse=True)
def _alerts_settings(settings) -> None:
    settings.ALERTS_BASE_URL = "https://abm.example.com"
    settings.ALERTS_RETRY_BACKOFF_SECONDS = 1


# ---------------------------------------------------------------------------- a webhook receiver


@dataclass
class Receiver:
    """A local HTTP server answering POSTs with the statuses in `script` (then 200), recording each."""

    url: str
    script: list[int]
    requests: list[dict] = field(default_factory=list)
    redirect_to: str = ""
    delay: float = 0.0


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    import json
    import time

    # The receiver listens on 127.0.0.1, an address webhooks are refused by default.
    settings.ALERTS_WEBHOOK_ALLOW_PRIVATE = True
    state = Receiver(url="", script=[])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append({"path": self.path, "body": json.loads(body), "headers": dict(self.headers)})
            if state.delay:
                time.sleep(state.delay)
            status = state.script.pop(0) if state.script else 200
            self.send_response(status)
            if state.redirect_to:
                self.send_header("Location", state.redirect_to)
            self.send_header("Content-Length", "2")
            self.end_headers()
            try:
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_GET(self) -> None:  # noqa: N802
            state.requests.append({"path": self.path, "method": "GET"})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook/T000/B000/s3cr3t-token"
    yield state
    server.shutdown()
    server.server_close()
