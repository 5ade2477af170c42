"""Coverage (METRICS.md §1): contacts, reachable contacts, required roles, profile completeness."""

from __future__ import annotations

import pytest

from metrics.models import AccountSnapshot, MetricSettings, SegmentSnapshot
from metrics.services import compute_day
from tests.metrics.builders import D, account, contact

pytestmark = pytest.mark.django_db


def _snap(acc) -> AccountSnapshot:
    return AccountSnapshot.objects.get(account=acc, as_of=D)


def test_coverage_counts_roles_reachability_and_profile(bob) -> None:
    acc = account(industry="Software", employees=120, annual_revenue=None, country="", owner=bob)
    contact(acc, role="decision_maker", phone="")  # email → reachable
    contact(acc, role="champion", opted_out=True)  # opted out: not reachable, but the role is covered
    contact(acc, role="influencer", email=None, phone="+44 20 1234")  # phone only → reachable
    contact(acc, role="blocker", email=None, phone="")  # neither → not reachable; blocker is not required
    contact(acc, role="")  # email → reachable
    compute_day(as_of=D)
    s = _snap(acc)
    assert s.contacts == 5
    assert s.reachable_contacts == 3
    # decision_maker, champion, influencer of the 5 required roles: 3 / 5
    assert s.roles_covered == 3
    assert s.role_coverage == pytest.approx(0.6)
    # domain, industry, employees, owner present; annual_revenue, country missing: 4 / 6
    assert s.profile_completeness == pytest.approx(4 / 6)
    # role_coverage 0.6 ≥ 0.6 and reachable 3 ≥ 3
    assert s.covered is True
    assert s.has_decision_maker is True


def test_not_covered_below_either_threshold_and_empty_account() -> None:
    few_reachable = account()
    contact(few_reachable, role="decision_maker")
    contact(few_reachable, role="champion")
    contact(few_reachable, role="influencer", opted_out=True)  # 3 roles, but only 2 reachable
    empty = account(industry="", domain=None)
    compute_day(as_of=D)
    assert _snap(few_reachable).role_coverage == pytest.approx(0.6)
    assert _snap(few_reachable).covered is False
    s = _snap(empty)
    assert (s.contacts, s.reachable_contacts, s.roles_covered, s.role_coverage, s.covered) == (0, 0, 0, 0.0, False)
    assert s.profile_completeness == 0.0
    assert s.has_decision_maker is False


def test_required_roles_are_read_from_settings_at_computation_time() -> None:
    acc = account()
    contact(acc, role="champion")
    compute_day(as_of=D)
    assert _snap(acc).role_coverage == pytest.approx(1 / 5)
    cfg = MetricSettings.load()
    cfg.required_roles = ["champion", "economic_buyer"]
    cfg.save()
    compute_day(as_of=D)
    assert _snap(acc).role_coverage == pytest.approx(1 / 2)


def test_segment_coverage_rollup() -> None:
    from accounts.models import Segment

    covered = account()
    for role in ("decision_maker", "champion", "influencer"):
        contact(covered, role=role)
    bare = account()
    contact(bare, role="champion")
    segment = Segment.objects.create(name="Enterprise")
    segment.accounts.add(covered, bare)
    compute_day(as_of=D)
    row = SegmentSnapshot.objects.get(segment=segment, as_of=D)
    assert row.accounts == 2
    assert row.covered_accounts == 1
    assert row.covered_share == pytest.approx(0.5)
    # (3/5 + 1/5) / 2 = 0.4
    assert row.mean_role_coverage == pytest.approx(0.4)
    assert row.accounts_without_decision_maker == 1
    # Both accounts are targets, so the target list (segment None) has the same two.
    assert SegmentSnapshot.objects.get(segment=None, as_of=D).accounts == 2
