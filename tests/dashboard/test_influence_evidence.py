"""The influence page from a computed day: one population per section, the headline's counts are
its tables' counts, bar labels are table values, and no quartiles where engagement ties."""

from __future__ import annotations

import re

import pytest

from metrics.services import compute_day
from tests.dashboard.conftest import figure, text
from tests.metrics.builders import D
from tests.metrics.test_influence_evidence import SIGNIFICANT_HEADLINE, deals_without_touchpoints, quartile_world

pytestmark = pytest.mark.django_db
PAGE = f"/influence/?as_of={D.isoformat()}"


def _rows(page: str, labels: list[str]) -> dict[str, list[str]]:
    """The cells (Closed, Won, Win rate, Median cycle, Avg contract, Pipeline) of the first table row
    with each label, from the text of the page."""
    found = {}
    for label in labels:
        match = re.search(re.escape(label) + r" (\S+) (\S+) (\S+ %) (\S+) (\S+) (\S+)", page)
        assert match, label
        found[label] = list(match.groups())
    return found


def test_the_headlines_counts_are_the_tables_counts(client, charlie):
    quartile_world(top_won=list(range(10, 21)), top_lost=1)
    compute_day(as_of=D)
    client.force_login(charlie)
    response = client.get(PAGE)
    page = text(response)

    # The section's population, stated once, and the headline drawn from it.
    assert "Outcomes of the 48 opportunities closed (won or lost) in the 365 days to 2024-06-30" in page
    assert page.count("48 opportunities closed") == 1
    assert SIGNIFICANT_HEADLINE in page

    quartiles = _rows(page, ["Quartile 1 (least engaged)", "Quartile 2", "Quartile 3", "Quartile 4 (most engaged)"])
    top, bottom = quartiles["Quartile 4 (most engaged)"], quartiles["Quartile 1 (least engaged)"]
    # "92 % of 12 closed deals against 42 % of 12" and "11 won deals against 5" are the rows' own figures.
    assert f"{top[2]} of {top[0]} closed deals against {bottom[2]} of {bottom[0]}" in page
    assert f"over {top[1]} won deals against {bottom[1]}" in page
    assert sum(int(row[0]) for row in quartiles.values()) == 48
    split = _rows(page, ["Target accounts", "Non-target accounts", "Engaged accounts", "Not engaged"])
    assert int(split["Target accounts"][0]) + int(split["Non-target accounts"][0]) == 48
    assert int(split["Engaged accounts"][0]) + int(split["Not engaged"][0]) == 48

    # Every comparison shows each group's count, the difference, its interval and p.
    assert ("Win rate 92 % of 12 closed 42 % of 12 closed +50.0 points +12.2 to +73.4 p = 0.027 (Fisher's exact)"
            in page)
    assert ("Sales cycle, won (days) median 15 of 11 won median 50 of 5 won −35 days (Hodges–Lehmann shift) "
            "−43 to −27 p < 0.001 (Mann–Whitney U)") in page
    # Engaged (≥ 10 minutes) vs not: 39 against 9 closed. Shown, with a warning.
    assert ("Too few closed deals to conclude (Engaged accounts: 39, Not engaged: 9); each group needs at least 10."
            in page)

    # Quartile 2's median cycle is 76.5 (76 and 77): the bar says what the table says.
    assert quartiles["Quartile 2"][3] == "76"
    cycle = figure(response, "fig-q-median_cycle_days")["data"][0]
    assert cycle["y"] == [50.0, 76.5, 30.0, 15.0]
    assert cycle["text"] == [row[3] for row in quartiles.values()] == ["50", "76", "30", "15"]
    assert figure(response, "fig-q-win_rate")["data"][0]["text"] == [row[2] for row in quartiles.values()]


def test_pipeline_is_a_share_of_all_pipeline_created_and_every_pipeline_says_which(client, charlie):
    quartile_world(top_won=list(range(10, 21)), top_lost=1)
    compute_day(as_of=D)
    client.force_login(charlie)
    page = text(client.get(PAGE))
    # Created in W90 (D−89 … D): the deals created at most 89 days before D, i.e. cycles up to 79 days
    # (closed on D−10): all but the two of quartile 2 with cycles 80 and 85. Every one had a touch the day
    # before it was created, so each is influenced.
    assert "Pipeline created: the 46 opportunities created in the 90 days to 2024-06-30, 46,000" in page
    assert ("Influenced pipeline (of this created pipeline): 46,000 of 46,000 (100 %), from 46 of 46 opportunities"
            in page)
    assert "Pipeline closed (won + lost)" in page
    assert "Attributed pipeline shares out the same 46 opportunities created in the 90 days (46,000)" in page
    assert re.search(r"\bPipeline\b(?! (closed|created))", page) is None  # no bare "Pipeline" label


def test_no_touchpoints_no_quartiles(client, charlie):
    deals_without_touchpoints(40)
    compute_day(as_of=D)
    client.force_login(charlie)
    response = client.get(PAGE)
    page = text(response)
    assert "no engagement recorded. All 40 closed deals had 0 engagement minutes" in page
    assert "Engagement ties across quartile boundaries (40 of 40 deals have 0 minutes): no quartiles." in page
    assert "Quartile 1" not in page and "fig-q-" not in response.content.decode()
    assert "Outcomes of the 40 opportunities closed" in page
    assert "Target accounts 26" in page and "Non-target accounts 14" in page
