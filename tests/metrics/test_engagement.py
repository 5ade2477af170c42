"""Engagement (METRICS.md §3): minutes, windows, engaged, MQA, spike, percentile."""

from __future__ import annotations

import pytest

from metrics.models import AccountSnapshot, MetricSettings
from metrics.services import compute_day
from tests.metrics.builders import D, account, at, contact, touch

pytestmark = pytest.mark.django_db


def _snap(acc) -> AccountSnapshot:
    return AccountSnapshot.objects.get(account=acc, as_of=D)


def test_minutes_windows_weights_multiplier_and_overrides() -> None:
    acc = account()
    ann = contact(acc, seniority="cxo", role="decision_maker")
    ben = contact(acc, seniority="other")
    cat = contact(acc, seniority="vp")
    touch(acc, "email_click", at(1), who=ann)  # 2 (kind) × 2.0 (CXO) = 4
    touch(acc, "meeting", at(3), who=ann, minutes="45")  # 45 given, overrides 30, × 2.0 = 90
    touch(acc, "ad_impression", at(2), who=cat)  # 0: never scored
    touch(acc, "web_visit", at(10), who=ben, minutes="2.5")  # 2.5 given
    touch(acc, "web_visit", at(20))  # anonymous: 1 × 1.0
    touch(acc, "form_fill", at(40), who=ben)  # 10, in P30 (D−59 … D−30)
    touch(acc, "event_attended", at(95), who=ben)  # before W90: ignored
    compute_day(as_of=D)
    s = _snap(acc)
    assert s.minutes_7d == pytest.approx(94.0)  # 4 + 90
    assert s.minutes_prev_21d == pytest.approx(3.5)  # D−27 … D−7: 2.5 + 1
    assert s.minutes_30d == pytest.approx(97.5)  # 94 + 3.5
    assert s.minutes_prev_30d == pytest.approx(10.0)
    assert s.minutes_90d == pytest.approx(107.5)  # 97.5 + 10
    assert s.engaged_contacts_90d == 2  # Ann and Ben; Cat's ad impression is worth 0
    assert s.engaged is True  # 107.5 ≥ 10
    # ≥ 100 minutes, but only Ann has ≥ 20 (Ben 2.5 + 10 = 12.5): not an MQA
    assert s.mqa is False
    # 94 ≥ 2 × 3.5 / 3 and 94 ≥ 30
    assert s.spike is True
    assert s.minutes_by_kind == pytest.approx({"email_click": 4.0, "meeting": 90.0, "web_visit": 3.5, "form_fill": 10.0})
    assert s.minutes_by_role == pytest.approx({"decision_maker": 94.0, "no_role": 12.5, "anonymous": 1.0})
    assert s.journey_stage == "engaged"  # aware via web visits, engaged, not MQA, no opportunity


def test_mqa_needs_100_minutes_and_two_contacts_with_20_each() -> None:
    acc = account()
    dan, eve = contact(acc), contact(acc)
    touch(acc, "meeting", at(5), who=dan, minutes="60")  # Dan 60
    touch(acc, "webinar_attended", at(8), who=eve)  # Eve 30
    touch(acc, "event_attended", at(15))  # anonymous 120
    compute_day(as_of=D)
    s = _snap(acc)
    assert s.minutes_90d == pytest.approx(210.0)  # 60 + 30 + 120
    assert s.mqa is True  # 210 ≥ 100; Dan 60 ≥ 20 and Eve 30 ≥ 20
    assert s.journey_stage == "mqa"


def test_engaged_threshold_is_inclusive_and_not_engaged_below() -> None:
    exactly, below = account(), account()
    touch(exactly, "form_fill", at(1))  # 10
    touch(below, "content_download", at(1), minutes="9.5")  # 9.5
    compute_day(as_of=D)
    assert _snap(exactly).engaged is True
    assert _snap(below).engaged is False


def test_a_contact_with_exactly_20_minutes_in_cents_counts_for_mqa() -> None:
    acc = account()
    dan, eve = contact(acc), contact(acc)
    touch(acc, "meeting", at(5), who=dan, minutes="80")  # Dan 80
    # Eve 6.72 + 11.54 + 1.74 = 20 exactly; added in this order as floats it is 19.999999999999996.
    touch(acc, "web_visit", at(30), who=eve, minutes="6.72")
    touch(acc, "web_visit", at(20), who=eve, minutes="11.54")
    touch(acc, "web_visit", at(10), who=eve, minutes="1.74")
    compute_day(as_of=D)
    s = _snap(acc)
    assert s.minutes_90d == 100.0  # 80 + 20 ≥ 100
    assert s.mqa is True  # Dan 80 ≥ 20 and Eve 20 ≥ 20


def test_ad_impressions_are_never_scored_even_with_a_duration() -> None:
    acc = account()
    ann = contact(acc)
    touch(acc, "ad_impression", at(1), who=ann, minutes="15")  # 0: never scored, whatever the source says
    touch(acc, "web_visit", at(1), who=ann, minutes="4")  # 4
    compute_day(as_of=D)
    s = _snap(acc)
    assert s.minutes_90d == 4.0
    assert s.minutes_by_kind == {"web_visit": 4.0}


def test_spike_at_exact_equality_with_cents() -> None:
    acc = account()
    touch(acc, "meeting", at(2), minutes="218.16")  # W7
    touch(acc, "meeting", at(15), minutes="327.24")  # B21
    compute_day(as_of=D)
    # 218.16 = 2 × 327.24 / 3 exactly (as floats 218.16 × 21 < 2 × 327.24 × 7): a spike.
    assert _snap(acc).spike is True


@pytest.mark.parametrize(("baseline", "expected"), [("45", True), ("46", False)])
def test_spike_against_the_weekly_average_of_the_three_weeks_before(baseline: str, expected: bool) -> None:
    acc = account()
    touch(acc, "web_visit", at(2), minutes="30")  # W7: 30 (the minimum)
    touch(acc, "web_visit", at(15), minutes=baseline)  # B21
    compute_day(as_of=D)
    # 45: 30 ≥ 2 × 45 / 3 = 30 → spike.  46: 30 < 2 × 46 / 3 = 30.67 → none.
    assert _snap(acc).spike is expected


def test_spike_needs_30_minutes_this_week() -> None:
    acc = account()
    touch(acc, "web_visit", at(2), minutes="29")  # far above an empty baseline, but < 30
    compute_day(as_of=D)
    assert _snap(acc).spike is False


def test_percentile_ranks_against_target_accounts_across_chunks() -> None:
    t1, t2, t3, t4 = account(), account(), account(), account()
    n1 = account(is_target=False)
    n2 = account(is_target=False)
    for acc, minutes in ((t1, "5"), (t2, "10"), (t3, "20"), (t4, "10"), (n1, "15")):
        touch(acc, "web_visit", at(1), minutes=minutes)
    compute_day(as_of=D, chunk_size=1)  # one account per chunk: ranks must still see every target
    # Target minutes sorted: 5, 10, 10, 20 (4 target accounts)
    expected = {
        t1: 25.0,  # 1 of 4 targets ≤ 5
        t2: 75.0,  # 3 of 4 ≤ 10 (ties count)
        t4: 75.0,
        t3: 100.0,
        n1: 75.0,  # non-target 15: 5, 10, 10 ≤ 15
        n2: 0.0,  # 0 minutes: no target ≤ 0
    }
    for acc, percentile in expected.items():
        assert _snap(acc).engagement_percentile == pytest.approx(percentile)


def test_percentile_is_zero_for_everyone_without_target_accounts() -> None:
    acc = account(is_target=False)
    touch(acc, "web_visit", at(1))
    compute_day(as_of=D)
    assert _snap(acc).engagement_percentile == 0.0


def test_changed_weights_apply_to_the_next_computation() -> None:
    acc = account()
    vip = contact(acc, seniority="cxo")
    touch(acc, "web_visit", at(1), who=vip)
    compute_day(as_of=D)
    assert _snap(acc).minutes_90d == pytest.approx(2.0)  # 1 × 2.0
    cfg = MetricSettings.load()
    cfg.minutes_by_kind = {**cfg.minutes_by_kind, "web_visit": 3}
    cfg.seniority_multipliers = {**cfg.seniority_multipliers, "cxo": 1.5}
    cfg.engaged_min_minutes = 4
    cfg.save()
    compute_day(as_of=D)
    s = _snap(acc)
    assert s.minutes_90d == pytest.approx(4.5)  # 3 × 1.5
    assert s.engaged is True  # 4.5 ≥ 4
