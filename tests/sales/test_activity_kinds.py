"""The outbound rep kinds (call_attempt, sales_email) weigh 0 minutes and change no existing figure."""

from __future__ import annotations

import pytest
from django.forms.models import model_to_dict

from accounts.models import Touchpoint
from metrics.models import AccountSnapshot, MetricSettings, SegmentSnapshot
from metrics.services import compute_day
from tests.metrics.builders import D, account, at, contact, opportunity, program, touch

pytestmark = pytest.mark.django_db


def _figures() -> list[dict]:
    """Every stored figure of day D, without ids (the rows are rewritten by each run)."""
    rows = []
    for model in (AccountSnapshot, SegmentSnapshot):
        for snap in model.objects.filter(as_of=D).order_by("pk"):
            rows.append({k: v for k, v in model_to_dict(snap).items() if k != "id"})
    return rows


def test_the_outbound_kinds_are_not_weighted():
    weights = MetricSettings.load().minutes_by_kind
    assert "call_attempt" not in weights and "sales_email" not in weights  # so 0: never scored


def test_call_attempts_and_sales_emails_change_no_figure(bob):
    acc = account(owner=bob)
    other = account(is_target=False)
    ann = contact(acc, seniority="cxo", role="decision_maker")
    ben = contact(acc, role="champion")
    webinar = program("Webinar", "webinar")
    touch(acc, "webinar_attended", at(3), who=ann, program=webinar)
    touch(acc, "call_connected", at(2), who=ben, minutes="12")
    touch(acc, "email_open", at(40), who=ben)
    touch(other, "web_visit", at(1))
    opportunity(acc, "10000", at(20))
    compute_day(as_of=D)
    before = _figures()
    # webinar 30 × 2.0 (CXO) + the call's 12 given minutes + an email open's 1 = 73.
    assert before and AccountSnapshot.objects.get(account=acc, as_of=D).minutes_90d == pytest.approx(73.0)

    # The rep's outbound actions, some with a duration from the dialer: nothing may move.
    for n, (kind, who, minutes) in enumerate([("call_attempt", ann, "0.5"), ("call_attempt", ben, None),
                                              ("sales_email", ann, None), ("sales_email", ben, "3")]):
        for acct in (acc, other):
            Touchpoint.objects.create(account=acct, contact=who if acct == acc else None, kind=kind,
                                      occurred_at=at(n + 1), performed_by=bob, source="dialer",
                                      external_id=f"out-{n}-{acct.pk}", minutes=minutes)
    compute_day(as_of=D)
    # Every figure of every account and of the target list, minutes_90d 73 included, is as before.
    assert _figures() == before
