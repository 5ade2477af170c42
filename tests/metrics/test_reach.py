"""Reach (METRICS.md §4): program success vs a plain touch, target reach, focus, waste."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import Segment
from metrics.models import AccountSnapshot, ChannelSnapshot, ProgramSnapshot
from metrics.services import compute_day
from tests.metrics.builders import D, account, at, program, touch

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario() -> dict:
    t1, t2, t3 = account("T1"), account("T2"), account("T3")
    n1 = account("N1", is_target=False)
    segment = Segment.objects.create(name="Focus")
    segment.accounts.add(t1, t3, n1)  # targets of the segment: T1, T3
    mail = program("Mail", "email", cost=Decimal("1000"))  # success: email_click
    webinar = program("Webinar", "webinar", cost=Decimal("500"), segment=segment)  # success: webinar_attended
    opens = program("Opens", "email", success_kinds=["email_open"])  # its own success kind
    idle = program("Idle", "display")
    touch(t1, "email_open", at(5), program=mail)  # plain touch
    touch(t1, "email_click", at(6), program=mail)  # success
    touch(t2, "email_open", at(5), program=mail)
    touch(t2, "email_click", at(200), program=mail)  # success long ago: counts for the program, not in W90
    touch(n1, "email_click", at(7), program=mail)  # success at a non-target
    touch(n1, "email_open", at(8), program=mail)
    touch(t3, "email_click", at(-2), program=mail)  # after D: never counts
    touch(t1, "webinar_attended", at(3), program=webinar)
    touch(t2, "webinar_attended", at(4), program=webinar)  # a target, but outside the program's segment
    touch(n1, "webinar_attended", at(4), program=webinar)
    touch(t3, "email_open", at(1), program=opens)
    touch(t3, "email_click", at(1))  # no program: never a program success
    compute_day(as_of=D)
    return {"t1": t1, "t2": t2, "t3": t3, "n1": n1, "mail": mail, "webinar": webinar, "opens": opens, "idle": idle}


def test_program_reach_focus_and_waste(scenario) -> None:
    row = ProgramSnapshot.objects.get(program=scenario["mail"], as_of=D)
    # touches on or before D: T1 ×2, T2 ×2, N1 ×2 (T3's is after D)
    assert (row.touches, row.touches_at_targets, row.touched_accounts) == (6, 4, 3)
    # successes: T1's click, T2's old click, N1's click; the opens are plain touches
    assert (row.successes, row.target_successes, row.reached_accounts, row.reached_target_accounts) == (3, 2, 3, 2)
    assert row.target_accounts == 3  # no segment: all target accounts
    assert row.target_reach == pytest.approx(2 / 3)
    assert row.focus == pytest.approx(2 / 3)  # 2 of 3 successes at targets
    assert row.waste == pytest.approx(2 / 6)  # N1's 2 of 6 touches
    assert row.wasted_cost == Decimal("333.33")  # 1000 × 1/3


def test_target_reach_of_a_program_with_a_segment(scenario) -> None:
    row = ProgramSnapshot.objects.get(program=scenario["webinar"], as_of=D)
    assert row.target_accounts == 2  # T1 and T3 are the segment's targets
    assert row.reached_target_accounts == 2  # T1 and T2 (T2 outside the segment)
    assert row.target_reach == pytest.approx(1 / 2)  # only T1 of the segment's 2 targets
    assert row.focus == pytest.approx(2 / 3)
    assert row.waste == pytest.approx(1 / 3)
    assert row.wasted_cost == Decimal("166.67")


def test_program_without_touches_has_undefined_focus_and_waste(scenario) -> None:
    row = ProgramSnapshot.objects.get(program=scenario["idle"], as_of=D)
    assert (row.touches, row.touched_accounts, row.target_reach, row.focus, row.waste) == (0, 0, 0.0, None, None)


def test_program_success_kinds_override_the_channel_default(scenario) -> None:
    row = ProgramSnapshot.objects.get(program=scenario["opens"], as_of=D)
    assert (row.successes, row.reached_target_accounts, row.focus, row.waste) == (1, 1, 1.0, 0.0)
    assert row.target_reach == pytest.approx(1 / 3)


def test_channel_rollup_counts_distinct_accounts_over_its_programs(scenario) -> None:
    row = ChannelSnapshot.objects.get(channel="email", as_of=D)
    assert row.programs == 2  # Mail and Opens
    assert (row.touches, row.touches_at_targets) == (7, 5)
    assert (row.touched_accounts, row.reached_accounts, row.reached_target_accounts) == (4, 4, 3)
    assert row.target_reach == pytest.approx(1.0)  # T1, T2, T3 of 3 targets
    assert row.focus == pytest.approx(3 / 4)
    assert row.waste == pytest.approx(2 / 7)
    assert row.cost == Decimal("1000.00")
    assert row.wasted_cost == Decimal("333.33")


def test_programs_and_channels_reached_per_account_over_w90(scenario) -> None:
    reached = {
        name: AccountSnapshot.objects.values_list("programs_reached", "channels_reached").get(
            account=scenario[name], as_of=D
        )
        for name in ("t1", "t2", "t3", "n1")
    }
    assert reached == {
        "t1": (2, 2),  # Mail (click) and Webinar: email and webinar channels
        "t2": (1, 1),  # Webinar; its Mail click is older than W90
        "t3": (1, 1),  # Opens; the click after D and the programless click do not count
        "n1": (2, 2),
    }
