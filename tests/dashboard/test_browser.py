"""The pages in a real browser: charts drawn, htmx updates in place, no console errors.

Runs Debian's /usr/bin/chromium through Playwright against pytest-django's live server with
the hand-built world of conftest.py (collected only where chromium and playwright exist; see
conftest.collect_ignore; the browser_page fixture is in tests/conftest.py).
"""

from __future__ import annotations

import pytest
from tests.conftest import browser_login
from playwright.sync_api import Page, expect

def charts_drawn(page: Page) -> None:
    """Every [data-figure] div holds a plotly SVG (Plotly draws asynchronously: wait for all)."""
    page.wait_for_load_state("networkidle")
    n = page.locator("[data-figure]").count()
    assert n > 0
    expect(page.locator("[data-figure]:has(.main-svg)")).to_have_count(n)


# The live server needs a transactional database, flushed afterwards; conftest's
# pytest_runtest_teardown puts the four groups back for the tests that follow.
@pytest.mark.django_db(transaction=True)
def test_pages_in_the_browser(live_server, world, alice, browser_page):
    page = browser_page
    base = live_server.url
    browser_login(page, base, "alice")
    expect(page).to_have_url(f"{base}/accounts/")

    # The filter updates the list in place and pushes the URL.
    rows = page.locator("#account-results tbody tr")
    expect(rows).to_have_count(4)
    page.select_option("#id_mqa", "true")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Acme")
    assert "mqa=true" in page.url
    # Sorting by a header, then filtering, keeps the sort (the hidden sort input belongs to the filter form).
    page.select_option("#id_mqa", "")
    expect(rows).to_have_count(4)
    page.click("th >> text=Account")
    expect(rows.first).to_contain_text("=Umbrella")
    page.select_option("#id_target", "true")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Acme")  # name order among targets: Acme, Globex, Initech

    page.goto(f"{base}/accounts/{world.acme.pk}/")
    charts_drawn(page)
    expect(page.locator(".tile-engagement .headline")).to_contain_text("240")
    expect(page.locator(".verdict")).to_contain_text("Healthy: MQA, 4 of 5 roles covered")

    for url in ("/segments/target/", f"/segments/{world.enterprise.pk}/?compare={world.smb.pk}", "/programs/",
                f"/programs/{world.webinar.pk}/"):
        page.goto(base + url)
        charts_drawn(page)

    page.goto(f"{base}/influence/")
    charts_drawn(page)
    page.check("input[value=first_touch]")
    expect(page.locator("#attribution h3").first).to_contain_text("First touch")
    charts_drawn(page)
    assert "model=first_touch" in page.url

    assert page.errors == []
