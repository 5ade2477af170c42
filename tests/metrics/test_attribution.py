"""Attribution of pipeline and revenue to programs (METRICS.md §5), each model by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from metrics.families.influence import model_weights, split_amount
from metrics.models import AttributionCredit, InfluenceSummary
from metrics.services import compute_day
from tests.metrics.builders import D, account, at, opportunity, program, touch

pytestmark = pytest.mark.django_db

MODELS = ("first_touch", "last_touch", "linear", "u_shaped", "time_decay")


@pytest.fixture
def journey() -> dict:
    a, b, c = program("A", "email"), program("B", "webinar"), program("C", "paid_social")
    acc = account()
    opportunity(acc, "1000", at(10), closed=at(2), won=True)  # created D−10 12:00, won D−2 12:00
    touch(acc, "web_visit", at(101), program=b)  # before created_at − 90 days: outside
    touch(acc, "email_open", at(50), program=a)
    touch(acc, "webinar_attended", at(30), program=b)
    touch(acc, "ad_click", at(20), program=c)
    touch(acc, "web_visit", at(15))  # no program: never credited
    touch(acc, "email_click", at(12), program=a)
    touch(acc, "ad_click", at(5), program=c)  # after creation: revenue journey only
    other = account()
    opportunity(other, "250", at(5))  # no program touch at all: uncredited
    compute_day(as_of=D)
    return {"A": a, "B": b, "C": c}


def _credits(basis: str, model: str) -> dict[str, Decimal]:
    return {
        c.program.name: c.credit
        for c in AttributionCredit.objects.filter(as_of=D, basis=basis, model=model).select_related("program")
    }


def test_pipeline_credits_per_model(journey) -> None:
    # Pipeline journey up to created_at: A (D−50), B (D−30), C (D−20), A (D−12)
    assert _credits("pipeline", "first_touch") == {"A": Decimal("1000.00")}
    assert _credits("pipeline", "last_touch") == {"A": Decimal("1000.00")}
    # 250 each: A twice
    assert _credits("pipeline", "linear") == {"A": Decimal("500.00"), "B": Decimal("250.00"), "C": Decimal("250.00")}
    # 40 % first + 40 % last (both A), 20 % over the two middle touches
    assert _credits("pipeline", "u_shaped") == {"A": Decimal("800.00"), "B": Decimal("100.00"), "C": Decimal("100.00")}


def test_time_decay_halves_credit_every_seven_days_before_the_point(journey) -> None:
    # Days before created_at: A 40 and 2, B 20, C 10 → weights 2^(−days/7)
    wa, wb, wc = 2 ** (-40 / 7) + 2 ** (-2 / 7), 2 ** (-20 / 7), 2 ** (-10 / 7)
    total = wa + wb + wc
    credits = _credits("pipeline", "time_decay")
    assert float(credits["B"]) == pytest.approx(1000 * wb / total, abs=0.005)
    assert float(credits["C"]) == pytest.approx(1000 * wc / total, abs=0.005)
    assert sum(credits.values()) == Decimal("1000.00")


def test_revenue_credits_include_touches_up_to_the_close(journey) -> None:
    # Revenue journey up to closed_at: A, B, C, A, C (D−5)
    assert _credits("revenue", "first_touch") == {"A": Decimal("1000.00")}
    assert _credits("revenue", "last_touch") == {"C": Decimal("1000.00")}
    assert _credits("revenue", "linear") == {"A": Decimal("400.00"), "B": Decimal("200.00"), "C": Decimal("400.00")}
    # Exact shares: A 400 + 200/3 = 466.666…, B 66.666…, C 466.666…; rounded down 466.66 + 66.66 +
    # 466.66 = 999.98. The two cents left go to the equal remainders of the programs touched
    # last: C (last touch), then A (the touch before).
    assert _credits("revenue", "u_shaped") == {
        "A": Decimal("466.67"), "B": Decimal("66.66"), "C": Decimal("466.67"),
    }


@pytest.mark.parametrize("basis", ["pipeline", "revenue"])
@pytest.mark.parametrize("model", MODELS)
def test_every_model_credits_exactly_the_amount(journey, basis: str, model: str) -> None:
    assert sum(_credits(basis, model).values()) == Decimal("1000.00")


def test_opportunity_counts_and_uncredited_amount(journey) -> None:
    linear = AttributionCredit.objects.get(as_of=D, basis="pipeline", model="linear", program=journey["B"])
    assert linear.opportunities == 1
    assert not AttributionCredit.objects.filter(as_of=D, model="first_touch", program=journey["B"]).exists()
    details = InfluenceSummary.objects.get(as_of=D).details
    # The 250 opportunity has no program touch: reported, not credited
    assert details["uncredited"]["pipeline"] == {"opportunities": 1, "amount": "250.00"}
    assert details["uncredited"]["revenue"] == {"opportunities": 0, "amount": "0.00"}


def test_u_shaped_one_and_two_touches() -> None:
    assert model_weights("u_shaped", [at(3)], at(0), 7) == [1.0]
    assert model_weights("u_shaped", [at(3), at(2)], at(0), 7) == [0.5, 0.5]


def test_split_amount_never_gives_a_negative_credit() -> None:
    # 9 cents over six equal programs: 1.5 cents each. Rounded down, 1 each; the 3 cents left go
    # to the largest remainders (all 0.5), ties to the programs touched last: 6, 5 and 4.
    assert split_amount(Decimal("0.09"), [1, 2, 3, 4, 5, 6], [1 / 6] * 6) == {1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 2}


def test_split_amount_gives_the_largest_remainder_first() -> None:
    # 10.00 at 0.4 / 0.35 / 0.25 of a program touched twice (first and last): program 1 gets
    # 0.4 + 0.25 = 650.0 cents, program 2 350.0: whole already, nothing left over.
    assert split_amount(Decimal("10.00"), [1, 2, 1], [0.4, 0.35, 0.25]) == {1: 650, 2: 350}
    # 0.10 over 2/3 and 1/3: 6.67 and 3.33 cents → 6 and 3, the cent left goes to 0.67.
    assert split_amount(Decimal("0.10"), [1, 2], [2 / 3, 1 / 3]) == {1: 7, 2: 3}


def test_split_amount_gives_the_rounding_remainder_to_the_last_touch_program() -> None:
    # Three equal thirds of 100.00: 33.33, 33.33 and the last program takes 33.34
    assert split_amount(Decimal("100.00"), [1, 2, 3], [1 / 3, 1 / 3, 1 / 3]) == {1: 3333, 2: 3333, 3: 3334}
