"""A rep's two target accounts with people whose figures the real metrics run computes (day D of
tests.metrics.builders), for the people pages, the call list and the personal-data rules.

Bob (sales) owns Acme and Quiet. Minutes as of D (METRICS.md weights; CXO × 2):

- Ann Archer, CFO, decision maker: meeting D−2 (30 × 2 = 60), email click D−10 (2 × 2 = 4):
  64 in W30, 60 in W7.
- Eve Evans, VP, no role: form fill D−6: 10.
- Ben Baker, manager, champion: form fill D−1: 10.
- Cat Cole, no role: web visit of 2 minutes D−5: 2.
- Olga Ode, technical evaluator, opted out: webinar D−3: 30.
- Anonymous event D−4: 120, for Acme only.
Acme: W7 = 60 + 10 + 10 + 2 + 30 + 120 = 232; B21 (D−27 … D−7) = Ann's click 4; week change
232 − 4 / 3 > 0: it heated up. Nobody holds influencer or end user.
Quiet: Dan Dunn, form fill D−15 (10, in B21): W7 = 0, week change −10/3: not heated. Two
"Alex Kim"s with no title and no touch (namesakes: the heatmap tells them apart).
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User

from accounts.models import Account, Contact
from metrics.services import compute_day
from tests.metrics.builders import D, account, at, contact, touch

# The browser tests need Debian's chromium and the playwright package; where either is missing
# they are left out of the run, as in tests/dashboard/conftest.py.
collect_ignore = (
    [] if shutil.which("chromium") and importlib.util.find_spec("playwright") else ["test_browser_people.py"]
)


@dataclass
class People:
    acme: Account
    quiet: Account
    ann: Contact
    ben: Contact
    cat: Contact
    eve: Contact
    olga: Contact
    dan: Contact


@pytest.fixture
def people(bob: User) -> People:
    acme = account("Acme", owner=bob)
    quiet = account("Quiet", owner=bob)
    ann = contact(acme, first_name="Ann", last_name="Archer", title="CFO", role="decision_maker",
                  email="ann@acme.example", phone="+1 555 0101")
    eve = contact(acme, first_name="Eve", last_name="Evans", seniority="vp", email="eve@acme.example",
                  phone="+1 555 0105")
    ben = contact(acme, first_name="Ben", last_name="Baker", seniority="manager", role="champion",
                  email="ben@acme.example")
    cat = contact(acme, first_name="Cat", last_name="Cole", email="cat@acme.example")
    olga = contact(acme, first_name="Olga", last_name="Ode", role="technical_evaluator", opted_out=True,
                   email="olga@acme.example", phone="+1 555 0199")
    dan = contact(quiet, first_name="Dan", last_name="Dunn", email="dan@quiet.example", phone="+1 555 0202")
    contact(quiet, first_name="Alex", last_name="Kim", email="alex.one@quiet.example")
    contact(quiet, first_name="Alex", last_name="Kim", email="alex.two@quiet.example")
    touch(acme, "meeting", at(2), who=ann)
    touch(acme, "email_click", at(10), who=ann)
    touch(acme, "form_fill", at(6), who=eve)
    touch(acme, "form_fill", at(1), who=ben)
    touch(acme, "web_visit", at(5), who=cat, minutes="2")
    touch(acme, "webinar_attended", at(3), who=olga)
    touch(acme, "event_attended", at(4))
    touch(quiet, "form_fill", at(15), who=dan)
    compute_day(as_of=D)
    return People(acme, quiet, ann, ben, cat, eve, olga, dan)
