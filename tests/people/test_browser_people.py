"""The people pages in Chromium at 1440 and 390 px: the contact page, the account page's enriched
committee grid and My accounts' "who to call". Charts drawn, no console errors, nothing wider
than the screen; what a rep sees (links to call and write) and what an executive does not.

With SCREENSHOT_DIR set, the screenshots are kept there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import browser_login
from tests.metrics.builders import D

WIDTHS = (1440, 390)
DAY = f"?as_of={D:%Y-%m-%d}"


def _open(page: Page, url: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.errors.clear()
    page.goto(url)
    page.wait_for_load_state("networkidle")
    charts = page.locator("[data-figure]")
    expect(page.locator("[data-figure]:has(.main-svg)")).to_have_count(charts.count())
    assert page.errors == [], page.errors
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{url} is {overflow}px wider than {width}px"


def _shot(page: Page, tmp_path: Path, name: str) -> None:
    directory = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_a_rep_finds_who_to_call_and_how(live_server, people, bob, browser_page, tmp_path):
    page, base = browser_page, live_server.url
    browser_login(page, base, "bob")
    for width in WIDTHS:
        # My accounts: who to call at Acme, in order, with what they did; the call list link.
        _open(page, f"{base}/me/{DAY}", width)
        acme = page.locator(f'#who-to-call li[data-account="{people.acme.pk}"]')
        expect(acme.locator("ol > li")).to_have_count(3)
        expect(acme.locator("ol > li").nth(0)).to_contain_text("Ann Archer")
        expect(acme.locator("ol > li").nth(0)).to_contain_text("did: meeting on Fri 28 Jun")
        expect(acme.locator("ol > li").nth(1)).to_contain_text("Eve Evans")
        expect(acme.locator("ol > li").nth(2)).to_contain_text("Ben Baker")
        expect(acme.locator('a[href="mailto:ann@acme.example"]')).to_be_visible()
        expect(acme).to_contain_text("To find: no influencer known, no end user known.")
        expect(page.locator("#call-list-left-out")).to_contain_text("1 opted-out person left out")
        expect(page.locator('a[href^="/me/call-list.csv"]')).to_be_visible()
        _shot(page, tmp_path, f"my-accounts-{width}")

        # The account page: warmest first, the gaps, links for all but the opted-out.
        _open(page, f"{base}/accounts/{people.acme.pk}/{DAY}", width)
        expect(page.locator("#missing-roles")).to_have_text("No influencer known · No end user known")
        decision = page.locator('tr[data-role="decision_maker"]')
        expect(decision).to_contain_text("64.0 min in 30 days · last activity 28 Jun 2024")
        expect(decision.locator('a[href="tel:+15550101"]')).to_be_visible()
        olga = page.locator('tr[data-role="technical_evaluator"]')
        expect(olga).to_contain_text("opted out")
        expect(olga.locator('a[href^="mailto:"], a[href^="tel:"]')).to_have_count(0)
        _shot(page, tmp_path, f"account-committee-{width}")

        # From the grid to the person's page: figures, chart, touches.
        decision.get_by_role("link", name="Ann Archer").click()
        page.wait_for_url(f"**/contacts/{people.ann.pk}/*")
        _open(page, page.url, width)
        expect(page.locator("#contact-figures")).to_contain_text("64.0")
        expect(page.locator("table.timeline tbody tr")).to_have_count(2)
        _shot(page, tmp_path, f"contact-{width}")


@pytest.mark.django_db(transaction=True)
def test_an_executive_sees_people_but_not_how_to_reach_them(live_server, people, charlie, browser_page):
    page, base = browser_page, live_server.url
    browser_login(page, base, "charlie")
    for width in WIDTHS:
        for url in (f"/me/{DAY}&rep={people.acme.owner_id}", f"/accounts/{people.acme.pk}/{DAY}",
                    f"/contacts/{people.ann.pk}/{DAY}"):
            _open(page, base + url, width)
            expect(page.locator("main")).to_contain_text("Ann Archer")
            expect(page.locator('a[href^="mailto:"], a[href^="tel:"], a[href*="call-list"]')).to_have_count(0)
            assert "@acme.example" not in page.content()
