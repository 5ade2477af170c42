"""The alerts pages in Chromium: the Follow button (htmx), the Alerts page and the weekly summary at
1440 and 390 px wide, the summary's print layout, and a digest email as a mail client shows it.
No console errors anywhere (the Content-Security-Policy allows script files only).

Collected only where chromium and playwright exist (conftest.collect_ignore). With
SCREENSHOT_DIR set, the screenshots are kept there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core import mail
from tests.conftest import browser_login
from playwright.sync_api import Page, expect

from alerts import services

from .conftest import D

WIDTHS = (1440, 390)


login = browser_login


def fits(page: Page, width: int) -> None:
    """Nothing makes the page scroll sideways: wide tables scroll inside their cards instead."""
    page.set_viewport_size({"width": width, "height": 900})
    page.wait_for_load_state("networkidle")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than {width}px"
    for table in page.locator("table").all():
        wrapper_ok = table.evaluate(
            "t => { const w = t.closest('.table-wrap'); return t.scrollWidth <= t.parentElement.clientWidth + 1"
            " || (w !== null && getComputedStyle(w).overflowX === 'auto'); }"
        )
        assert wrapper_ok


def shot(page: Page, tmp_path: Path, name: str) -> None:
    directory = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_follow_an_account_and_see_it_on_the_alerts_page(live_server, world, bob, browser_page, tmp_path):
    services.alerts_send_for_day(as_of=D)  # a history to show (no open transaction: sent at once)
    page = browser_page
    base = live_server.url
    login(page, base, "bob")

    page.goto(f"{base}/accounts/{world.globex.pk}/")
    button = page.locator("form.follow button")
    expect(button).to_have_text("Follow")
    button.click()
    expect(page.locator("form.follow button")).to_have_text("✓ Following")  # swapped in place by htmx
    expect(page.locator("form.follow")).to_contain_text("its alerts reach your digest")
    assert page.url == f"{base}/accounts/{world.globex.pk}/"

    page.goto(f"{base}/segments/{world.enterprise.pk}/")
    page.locator("form.follow button").click()
    expect(page.locator("form.follow button")).to_have_text("✓ Following")

    page.goto(f"{base}/alerts/")
    expect(page.locator(".follows li")).to_have_count(2)
    expect(page.locator(".follows")).to_contain_text("Globex")
    expect(page.locator("table.rules tbody tr")).to_have_count(5)
    expect(page.locator("table.history tbody tr")).to_have_count(1)
    expect(page.locator("table.history")).to_contain_text("Sent")
    # Unfollow from the list, in place.
    page.locator(".follows li", has_text="Globex").locator("button").click()
    expect(page.locator(".follows li", has_text="Globex").locator("button")).to_have_text("Follow")

    for width in WIDTHS:
        page.goto(f"{base}/alerts/")
        fits(page, width)
        shot(page, tmp_path, f"alerts-{width}")
    assert page.errors == []


@pytest.mark.django_db(transaction=True)
def test_the_weekly_summary_on_screen_and_on_paper(live_server, world, charlie, browser_page, tmp_path):
    page = browser_page
    base = live_server.url
    login(page, base, "charlie")
    page.goto(f"{base}/alerts/weekly/")
    expect(page.locator("h1")).to_have_text("Weekly executive summary")
    expect(page.locator("#w-movers + .table-wrap tbody tr").first).to_contain_text("Iron East")
    for width in WIDTHS:
        fits(page, width)
        shot(page, tmp_path, f"weekly-{width}")

    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator("form.asof")).to_be_hidden()
    expect(page.locator("#w-funnels")).to_be_visible()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000
    assert page.errors == []


@pytest.mark.django_db(transaction=True)
def test_a_digest_email_renders_in_a_browser(live_server, world, browser_page, tmp_path):
    services.alerts_send_for_day(as_of=D)
    [bob] = [m for m in mail.outbox if m.to == ["bob@example.com"]]
    html, _ = bob.alternatives[0]
    page = browser_page
    for width in (720, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.set_content(html)
        expect(page.locator(".digest-section")).to_have_count(4)
        expect(page.locator(".digest-section").first).to_contain_text("1,747 minutes in the last 7 days")
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        shot(page, tmp_path, f"digest-{width}")
    assert page.errors == []
