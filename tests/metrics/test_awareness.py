"""Awareness (METRICS.md §2) and the window edges every family shares."""

from __future__ import annotations

import pytest

from metrics.models import AccountSnapshot
from metrics.services import compute_day
from tests.metrics.builders import D, account, at, contact, touch

pytestmark = pytest.mark.django_db


def _snap(acc) -> AccountSnapshot:
    return AccountSnapshot.objects.get(account=acc, as_of=D)


def test_awareness_counts_known_and_anonymous_touches() -> None:
    acc = account()
    ann, ben = contact(acc), contact(acc)
    touch(acc, "web_visit", at(1))  # anonymous
    touch(acc, "web_visit", at(2))  # anonymous
    touch(acc, "web_visit", at(3), who=ann)
    touch(acc, "web_visit", at(4), who=ann)
    touch(acc, "email_open", at(5), who=ben)
    touch(acc, "event_attended", at(6), who=ben)
    touch(acc, "webinar_attended", at(7), who=ben)
    touch(acc, "call_connected", at(8), who=ann)
    touch(acc, "meeting", at(9), who=contact(acc))  # not an awareness kind
    compute_day(as_of=D)
    s = _snap(acc)
    assert s.web_visits == 4  # 2 anonymous + 2 by Ann
    assert s.known_visitors == 1  # Ann only; anonymous visits have no visitor
    assert s.email_opens == 1
    assert s.event_attendances == 2  # event + webinar
    assert s.calls_connected == 1
    assert s.aware_contacts == 2  # Ann and Ben; the meeting contact did nothing "aware"
    assert s.aware is True


def test_anonymous_web_visit_alone_makes_an_account_aware() -> None:
    acc = account()
    touch(acc, "web_visit", at(10))
    compute_day(as_of=D)
    s = _snap(acc)
    assert (s.aware, s.web_visits, s.known_visitors, s.aware_contacts) == (True, 1, 0, 0)
    assert s.journey_stage == "aware"


def test_window_edges_d_minus_89_in_d_minus_90_out_after_d_ignored() -> None:
    acc = account()
    touch(acc, "email_open", at(89, hour=0))  # D−89 00:00:00: first instant of W90
    touch(acc, "email_open", at(90, hour=23, minute=59, second=59))  # D−90: outside W90
    touch(acc, "email_open", at(0, hour=23, minute=59, second=59))  # last instant of D: counts
    touch(acc, "email_open", at(-1, hour=0))  # D+1 00:00:00: after D, never counts
    compute_day(as_of=D)
    s = _snap(acc)
    assert s.email_opens == 2
    # 1 minute each for the two counted opens
    assert s.minutes_90d == pytest.approx(2.0)
    assert s.minutes_7d == pytest.approx(1.0)  # only the one on D


def test_no_touches_is_not_aware() -> None:
    acc = account()
    touch(acc, "ad_impression", at(1))  # seen an ad: not an awareness kind
    compute_day(as_of=D)
    s = _snap(acc)
    assert (s.aware, s.journey_stage) == (False, "none")
