"""Sales activity per rep (sales.activity): counts equal hand counts on hand-built data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from accounts.models import Touchpoint
from metrics.models import AccountSnapshot, MetricsRun
from sales import activity
from tests.metrics.builders import D, account, at, opportunity

pytestmark = pytest.mark.django_db


def _touch(acc, kind: str, when: dt.datetime, rep: User | None, minutes: str | None = None) -> Touchpoint:
    return Touchpoint.objects.create(
        account=acc, kind=kind, occurred_at=when, performed_by=rep, source="test",
        minutes=None if minutes is None else Decimal(minutes), external_id=f"{kind}-{when.isoformat()}-{minutes}",
    )


def _published(day: dt.date, *accounts_mqa) -> None:
    MetricsRun.objects.get_or_create(as_of=day, defaults={"status": "done", "chunks_total": 1, "chunks_done": 1})
    for acc, mqa in accounts_mqa:
        AccountSnapshot.objects.create(account=acc, as_of=day, mqa=mqa)


def test_periods_are_utc_days_iso_weeks_and_calendar_months():
    # D = Sunday 2024-06-30: its ISO week starts Monday 24 June; its month on 1 June.
    assert activity.periods(as_of=D, grain="day")[-2:] == [dt.date(2024, 6, 29), D]
    assert len(activity.periods(as_of=D, grain="day")) == 30
    weeks = activity.periods(as_of=D, grain="week")
    assert (weeks[0], weeks[-1], len(weeks)) == (dt.date(2024, 4, 8), dt.date(2024, 6, 24), 12)
    months = activity.periods(as_of=D, grain="month")
    assert (months[0], months[-1]) == (dt.date(2023, 7, 1), dt.date(2024, 6, 1))


def test_per_rep_activity_equals_hand_counts(bob, alice):
    acc = account(owner=bob)
    # Bob, on D: 3 call attempts, 4 connected calls (12, 5.00, 4.99 minutes and one without a
    # duration), 5 sales emails, 2 replies, 2 meetings; on D−1 one connected call of 30 minutes.
    for h in range(3):
        _touch(acc, "call_attempt", at(0, 9 + h), bob)
    for h, minutes in enumerate(("12", "5.00", "4.99", None)):
        _touch(acc, "call_connected", at(0, 13, h), bob, minutes)
    for h in range(5):
        _touch(acc, "sales_email", at(0, 8, h), bob)
    for h in range(2):
        _touch(acc, "sales_email_reply", at(0, 15, h), bob)
        _touch(acc, "meeting", at(0, 16, h), bob)
    _touch(acc, "call_connected", at(1, 10), bob, "30")
    # Alice (another rep): one attempt at 23:59:59 on D−1, a UTC day before D.
    _touch(acc, "call_attempt", at(1, 23, 59, 59), alice)
    # Not counted: a touch with no rep, a touch after D, a web visit Bob is credited with.
    _touch(acc, "call_connected", at(0, 11), None, "20")
    _touch(acc, "call_attempt", at(-1, 9), bob)
    _touch(acc, "web_visit", at(0, 12), bob)

    report = activity.sales_activity(reps=[alice, bob], grain="day", as_of=D)
    rows = {r.name: r for r in report.rows}
    on_d = rows["Bob"].by_period[D]
    # calls = 3 attempts + 4 connected = 7; connects 4; connect rate 4 / 7;
    # meaningful = connected ≥ 5 minutes: 12 and 5.00 (4.99 and no duration are not) = 2;
    # conversation-to-meeting = 2 meetings / 2 meaningful = 1.0.
    assert on_d.counts() == (7, 4, 5, 2, 2, 2)
    assert on_d.connect_rate == pytest.approx(4 / 7)
    assert on_d.conversation_to_meeting_rate == 1.0
    # D−1: one connected 30-minute call: calls 1, connects 1, meaningful 1, no meeting → rate 0 / 1.
    assert rows["Bob"].by_period[D - dt.timedelta(days=1)].counts() == (1, 1, 0, 0, 0, 1)
    # Bob's total over the 30 days: 8 calls, 5 connects, 5 emails, 2 replies, 2 meetings, 3 meaningful.
    assert rows["Bob"].total.counts() == (8, 5, 5, 2, 2, 3)
    assert rows["Alice"].by_period == {D - dt.timedelta(days=1): activity.Activity(calls=1)}
    assert rows["Alice"].total.connect_rate == 0.0
    assert rows["Alice"].total.conversation_to_meeting_rate is None  # 0 / 0: undefined, not 0
    # The team: 9 calls, 5 connects.
    assert report.total.counts()[:2] == (9, 5)

    weekly = activity.sales_activity(reps=[bob], grain="week", as_of=D)
    # D and D−1 are both in the week of Monday 24 June.
    assert weekly.rows[0].by_period == {dt.date(2024, 6, 24): activity.Activity(8, 5, 5, 2, 2, 3)}


def test_accepted_accounts_per_1000_pipeline_and_revenue(bob):
    # Bob owns 8 target accounts (and one non-target, which never counts).
    accs = [account(owner=bob) for _ in range(8)]
    other = account(owner=bob, is_target=False)
    a_opp, a_mqa, a_before, a_was_mqa, a_untouched, a_mqa_again = accs[:6]
    # 1. Opportunity created after Bob's first touch there: accepted; its 5,000 is pipeline and, won
    #    on D−2, revenue; an older opportunity (created before the first touch) is neither.
    _touch(a_opp, "sales_email", at(20), bob)
    _touch(a_opp, "call_attempt", at(25), bob)  # the first touch: D−25
    opportunity(a_opp, "700", at(30))
    opportunity(a_opp, "5000", at(24), closed=at(2), won=True)
    opportunity(a_opp, "1000", at(10))  # open: pipeline 5,000 + 1,000 = 6,000, revenue 5,000
    # 2. Not MQA the day before the first touch (D−10), MQA from D−5: accepted, no pipeline.
    _touch(a_mqa, "call_connected", at(10), bob, "6")
    _published(D - dt.timedelta(days=11), (a_mqa, False), (a_was_mqa, True), (a_mqa_again, False))
    _published(D - dt.timedelta(days=5), (a_mqa, True), (a_was_mqa, True), (a_mqa_again, True))
    _published(D, (a_was_mqa, True))
    # 3. Opportunity created an hour before the first touch on the same day: not after it.
    _touch(a_before, "meeting", at(3, 14), bob)
    opportunity(a_before, "9000", at(3, 13))
    # 4. Already MQA on the last published day before the first touch (D−11): not accepted.
    _touch(a_was_mqa, "call_attempt", at(8), bob)
    # 5. An opportunity but no touch by Bob: not accepted.
    opportunity(a_untouched, "4000", at(1))
    # 6. Touched on D−8 (after the D−11 snapshot, not MQA), MQA on D−5: accepted.
    _touch(a_mqa_again, "sales_email", at(8), bob)
    # A non-target account with an opportunity after Bob's touch: outside the outcomes.
    _touch(other, "meeting", at(9), bob)
    opportunity(other, "50000", at(5))

    outcomes = activity.sales_activity(reps=[bob], grain="month", as_of=D).rows[0].outcomes
    # Accepted: a_opp, a_mqa, a_mqa_again = 3 of 8 target accounts → 1000 × 3 / 8 = 375 per 1,000.
    assert (outcomes.target_accounts, outcomes.accepted_accounts) == (8, 3)
    assert outcomes.accepted_per_1000 == 375.0
    assert (outcomes.accepted_pipeline, outcomes.accepted_revenue) == (Decimal("6000"), Decimal("5000"))


def test_a_rep_without_target_accounts_has_no_rate(bob):
    assert activity.Outcomes().accepted_per_1000 is None
    report = activity.sales_activity(reps=[bob], grain="week", as_of=D)
    assert report.rows[0].outcomes.accepted_per_1000 is None


def test_a_new_touch_is_counted_at_once_despite_the_cache(bob):
    acc = account(owner=bob)
    assert activity.sales_activity(reps=[bob], grain="day", as_of=D).rows[0].total.calls == 0
    _touch(acc, "call_attempt", at(0), bob)
    assert activity.sales_activity(reps=[bob], grain="day", as_of=D).rows[0].total.calls == 1


def test_reps_of_the_report_are_owners_of_targets_and_performers(bob, alice, charlie):
    account(owner=bob)
    _touch(account(is_target=False), "sales_email", at(2), alice)
    reps = activity.reps_for_report(first=D - dt.timedelta(days=29), as_of=D)
    assert {u.username for u in reps} == {"bob", "alice"}


def test_an_unknown_grain_is_refused(bob):
    with pytest.raises(ValueError, match="grain"):
        activity.sales_activity(reps=[bob], grain="year", as_of=D)
