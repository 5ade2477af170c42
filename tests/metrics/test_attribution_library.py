"""Our first-touch, last-touch, linear and U-shaped credits agree with the `mta` library
(Multi-Touch Attribution, MIT, on PyPI) on the same journeys.

mta takes journeys as "A > B > A" paths with a conversion value; we give it each opportunity's
program path (in time order) and its amount, keep repeated touches (allow_loops) so that every
touch counts as in our models, and compare the per-program totals.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from mta import MTA, MTAConfig

from metrics.models import AttributionCredit
from metrics.services import compute_day
from tests.metrics.builders import D, account, at, opportunity, program, touch

pytestmark = pytest.mark.django_db

# (amount, program path oldest first): one, two, three and many touches, repeats, shared programs.
JOURNEYS: list[tuple[str, list[str]]] = [
    ("1000.00", ["Email"]),
    ("2500.00", ["Webinar", "Email"]),
    ("999.99", ["Email", "Display", "Webinar"]),
    ("1234.56", ["Display", "Email", "Email", "Event", "Webinar", "Display"]),
    ("700.00", ["Event", "Event"]),
    ("333.33", ["Webinar", "Display", "Event", "Email"]),
]
CHANNELS = {"Email": "email", "Webinar": "webinar", "Display": "display", "Event": "event"}
# Our model name → the mta method, its keyword arguments and where it stores the result.
LIBRARY_MODELS = {
    "first_touch": ("first_touch", {}, "first_touch"),
    "last_touch": ("last_touch", {}, "last_touch"),
    "linear": ("linear", {"share": "proportional"}, "linear"),  # per touch, as ours
    "u_shaped": ("position_based", {"first_weight": 40, "last_weight": 40}, "pos_based"),
}


@pytest.fixture
def ours() -> None:
    programs = {name: program(name, channel) for name, channel in CHANNELS.items()}
    for amount, path in JOURNEYS:
        acc = account()
        opportunity(acc, amount, at(10))
        for i, name in enumerate(path):
            touch(acc, "email_open", at(60 - i), program=programs[name])
    compute_day(as_of=D)


def _library(model: str) -> dict[str, float]:
    method, kwargs, key = LIBRARY_MODELS[model]
    data = pd.DataFrame(
        {
            "path": [" > ".join(path) for _, path in JOURNEYS],
            "total_conversions": [float(amount) for amount, _ in JOURNEYS],
            "total_null": [0] * len(JOURNEYS),
        }
    )
    attribution = MTA(data=data, config=MTAConfig(allow_loops=True, add_timepoints=False))
    getattr(attribution, method)(normalize=False, **kwargs)
    return dict(attribution.attribution[key])


@pytest.mark.parametrize("model", sorted(LIBRARY_MODELS))
def test_credits_agree_with_the_mta_library(ours, model: str) -> None:
    expected = _library(model)
    got = {
        c.program.name: float(c.credit)
        for c in AttributionCredit.objects.filter(as_of=D, basis="pipeline", model=model).select_related("program")
    }
    assert set(got) == {name for name, value in expected.items() if value}
    for name, value in expected.items():
        # We round each opportunity's credits to the cent; the library keeps floats.
        assert got.get(name, 0.0) == pytest.approx(value, abs=0.01 * len(JOURNEYS))
    total = sum(Decimal(amount) for amount, _ in JOURNEYS)
    assert sum(AttributionCredit.objects.filter(as_of=D, basis="pipeline", model=model).values_list("credit", flat=True)) == total
