"""The import page's mapping step in a real browser: a mapping made on the page is saved as a
profile and chosen by itself when a file with the same header is uploaded again."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import browser_login
from playwright.sync_api import expect

from accounts.models import Account
from imports.models import ImportProfile

FIRST = "account,sector,revenue\nAcme Corporation,technolgy,1100.04\nBetasoloin,medical,251.41\n"
SECOND = "account,sector,revenue\nCancity,retail,718.62\n"
# The upload, the live preview (htmx) and the import each take a request; a busy CI machine can
# need more than Playwright's default 5 s.
SLOW = 20_000


@pytest.fixture
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _upload(page, base: str, path: Path) -> None:
    page.goto(f"{base}/import/")
    page.select_option("#id_kind", "accounts")
    page.set_input_files("#id_file", str(path))
    page.click("text=Upload and preview")
    expect(page.locator("h1")).to_have_text(path.name, timeout=SLOW)


@pytest.mark.django_db(transaction=True)
def test_a_mapping_made_on_the_page_is_chosen_again_by_the_header(live_server, _media, alice, tmp_path,
                                                                    browser_page):
    page, base = browser_page, live_server.url
    first, second = tmp_path / "crm-accounts.csv", tmp_path / "crm-accounts-june.csv"
    first.write_text(FIRST)
    second.write_text(SECOND)
    browser_login(page, base, "alice")
    expect(page).to_have_url(f"{base}/accounts/")

    _upload(page, base, first)
    # Pre-filled from close names: account → name (a synonym), sector → industry, revenue → annual_revenue.
    expect(page.locator("#map__name")).to_have_value("account")
    expect(page.locator("#map__industry")).to_have_value("sector")
    expect(page.locator("#map__annual_revenue")).to_have_value("revenue")
    # The live preview follows the mapping: revenue in millions.
    page.fill("input[name=multiply__annual_revenue]", "1000000")
    expect(page.locator("#imp-live")).to_contain_text("1100040000", timeout=SLOW)
    page.fill("#profile_name", "CRM accounts")
    page.click("text=Validate and import")
    expect(page.locator(".imp-done h2")).to_have_text("Imported", timeout=SLOW)
    assert Account.objects.get(name="Acme Corporation").annual_revenue == 1_100_040_000
    assert ImportProfile.objects.get().name == "CRM accounts"

    _upload(page, base, second)
    expect(page.locator("text=Using the saved profile “CRM accounts”")).to_be_visible()
    expect(page.locator("input[name=multiply__annual_revenue]")).to_have_value("1000000")
    page.click("text=Validate and import")
    expect(page.locator(".imp-done h2")).to_have_text("Imported", timeout=SLOW)
    assert Account.objects.get(name="Cancity").annual_revenue == 718_620_000
    assert page.errors == []
