"""/sales-activity/ in Chromium, for a manager and for a rep, at a desktop's and a phone's width."""

from __future__ import annotations

import pytest

from tests.conftest import browser_available, browser_login
from tests.sales.test_activity_page import build_team

if not browser_available():  # chromium and playwright are both needed (as tests/dashboard/conftest.py)
    pytest.skip("no chromium or playwright", allow_module_level=True)

CHART_DRAWN = "() => !!document.querySelector('[data-figure=\"fig-activity\"] .main-svg')"
# Each row's first cell: the reps the per-rep table lists.
REPS = "[...document.querySelectorAll('#per-rep ~ .table-wrap tbody tr td:first-child')].map(td => td.innerText)"


@pytest.fixture
def team(db, bob):
    return build_team(bob)


# The live server needs a transactional database; request the data before browser_page (which
# closes the connection that wrote it).
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("username", "reps"), [("alice", ["Bob", "Dan"]), ("bob", ["Bob"])])
def test_the_page_for_a_manager_and_a_rep_at_1440_and_390(live_server, team, alice, bob, browser_page,
                                                          username, reps):
    page = browser_page
    base = live_server.url
    browser_login(page, base, username)
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{base}/sales-activity/?period=day")
        page.wait_for_function(CHART_DRAWN)
        assert page.evaluate(REPS) == reps
        # Bob's calls (4) in the first number column, whoever looks.
        assert page.locator("table.activity tbody tr", has_text="Bob").first.locator("td").nth(1).inner_text() == "4"
        # Wide tables scroll inside their wrapper; the page never scrolls sideways.
        assert page.evaluate("document.querySelector('main').scrollWidth") <= width
        # The period picker switches to weeks.
        page.click(".period-picker a:text('Week')")
        page.wait_for_url("**period=week**")
        page.wait_for_function(CHART_DRAWN)
        assert "12 weeks" in page.locator("#per-rep").inner_text()
    assert page.errors == []
