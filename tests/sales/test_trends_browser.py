"""/trends/ in Chromium for an executive, on a desktop (1440 px) and a phone (390 px): the charts
draw without console errors, nothing is wider than the phone, and the quarter toggle swaps the
table through htmx (the address follows)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from metrics.selectors import last_complete_day
from sales.models import OpportunityStageChange
from tests.conftest import browser_available, browser_login
from tests.metrics.builders import account, opportunity

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not browser_available(), reason="needs chromium and playwright"),
]

CHARTS_DRAWN = "() => [...document.querySelectorAll('[data-figure]')].every(d => d.querySelector('.main-svg'))"


@pytest.fixture
def deals() -> None:
    """A deal every two weeks over the last year (relative to the last complete day: the live
    server runs on the real clock), every other one won, each with its stage history."""
    d = last_complete_day()
    target = account("Initech")
    for i in range(24):
        created = datetime.combine(d - timedelta(days=40 + 14 * i), time(12), tzinfo=UTC)
        closed = created + timedelta(days=20 + i)
        deal = opportunity(target, str(1000 * (i + 1)), created, closed=closed, won=i % 2 == 0)
        for n, (stage, at) in enumerate((("Prospecting", created), ("Proposal", created + timedelta(days=9)),
                                         ("Closed Won" if i % 2 == 0 else "Closed Lost", closed))):
            OpportunityStageChange.objects.create(opportunity=deal, stage=stage, entered_at=at, source="test",
                                                  external_id=f"{deal.pk}-{n}")


def test_an_executive_reads_the_trends_on_a_desktop_and_a_phone(charlie, deals, live_server, browser_page):
    page = browser_page
    base = live_server.url
    page.set_viewport_size({"width": 1440, "height": 900})
    browser_login(page, base, "charlie")
    page.goto(f"{base}/trends/")
    page.wait_for_function(CHARTS_DRAWN)
    assert page.locator("table.trend-table tbody tr").count() == 12
    assert page.locator("table.stage-table th[scope=row]").all_inner_texts() == ["Prospecting", "Proposal", "Won",
                                                                                 "Lost"]
    # Every column head explains its figure.
    assert page.locator("table.trend-table thead a.info").count() == 10

    page.get_by_label("By quarter").check()
    page.wait_for_url(lambda url: "period=quarter" in url)
    page.wait_for_function("() => document.querySelectorAll('table.trend-table tbody tr').length === 8")
    page.wait_for_function(CHARTS_DRAWN)
    assert " Q" in page.locator("table.trend-table tbody th").first.inner_text()
    assert page.errors == []

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/trends/?period=month")
    page.wait_for_function(CHARTS_DRAWN)
    width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width[0] <= width[1] == 390, width
    assert page.errors == []
