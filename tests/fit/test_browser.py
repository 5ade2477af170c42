"""The Fit page in a real browser, for marketing and for an executive, at a desktop's and a
phone's width (collected only where chromium and playwright exist; see conftest.py)."""

from __future__ import annotations

import pytest

from fit.services import fit_train
from tests.conftest import browser_login
from tests.fit.builders import D, software_always_wins


@pytest.fixture
def scored(db) -> None:
    software_always_wins()
    fit_train(as_of=D)


# The live server needs a transactional database; request the data before browser_page (which
# closes the connection that wrote it).
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("username", ["alice", "charlie"])
def test_the_fit_page_fits_a_desktop_and_a_phone(live_server, scored, alice, charlie, username, browser_page):
    page = browser_page
    base = live_server.url
    browser_login(page, base, username)
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{base}/fit/")
        assert page.locator("#fit-auc").inner_text().startswith("AUC 0.")
        # Both charts drawn by plotly.js (served from static/), with their data.
        page.wait_for_selector("[data-figure='fig-fit-distribution'] .main-svg")
        page.wait_for_selector("[data-figure='fig-fit-calibration'] .main-svg")
        assert page.locator("#effects tbody tr").first.inner_text().startswith("Industry\tSoftware")
        # 40 Software, 25 Retail and 25 Energy accounts, none a target: 90 look-alikes, 25 a page.
        assert page.locator("#lookalike-count").inner_text() == "90"
        assert page.locator("#lookalike-table tbody tr").count() == 25
        # Marking is for marketing only.
        assert page.locator("#mark-lookalikes").count() == (1 if username == "alice" else 0)
        # The content never makes the page scroll sideways: wide tables scroll inside their wrapper.
        assert page.evaluate("document.querySelector('main').scrollWidth") <= width
    if username == "alice":
        page.set_viewport_size({"width": 1440, "height": 900})
        page.select_option("#id_industry", "Software")
        page.click("#lookalikes button[type=submit]")
        page.wait_for_url(lambda url: "industry=Software" in url)
        assert page.locator("#lookalike-count").inner_text() == "40"
        page.click("#mark-lookalikes")
        assert page.locator("#question").inner_text() == "Mark 40 accounts as targets?"
    assert page.errors == []
