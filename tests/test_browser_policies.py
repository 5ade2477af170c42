"""The Content-Security-Policy in a real browser: the API docs (Swagger UI) and the admin work under
it, and a violation does show up as a console error (so the page tests' "no console errors" covers
the policy). The dashboard pages themselves: tests/dashboard/test_browser.py.

Needs Debian's /usr/bin/chromium and the playwright package, like the dashboard's browser test.
"""

from __future__ import annotations

import pytest

from tests.conftest import browser_available, browser_login

pytestmark = pytest.mark.skipif(not browser_available(), reason="needs chromium and playwright")


@pytest.fixture
def staff_alice(alice):
    """Alice may open the admin pages (set before the browser fixture closes the connection)."""
    alice.is_staff = alice.is_superuser = True
    alice.save()
    return alice


@pytest.fixture
def page(live_server, staff_alice, browser_page):
    browser_login(browser_page, live_server.url, "alice")
    return browser_page


@pytest.mark.django_db(transaction=True)
def test_api_docs_and_admin_work_under_the_policy(live_server, page):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator("#swagger-ui .title")).to_contain_text("ABM metrics dashboard API")
    expect(page.locator("#swagger-ui .opblock").first).to_be_visible()
    assert page.errors == []

    # The admin's pages link no favicon, so the browser asks for /favicon.ico: that 404 is the
    # only error allowed.
    missing: list[str] = []
    page.on("response", lambda r: r.status >= 400 and missing.append(r.url.removeprefix(live_server.url)))
    for url in ("/admin/", "/admin/accounts/account/add/"):
        page.goto(live_server.url + url)
        page.wait_for_load_state("networkidle")
    assert set(missing) <= {"/favicon.ico"}
    assert [e for e in page.errors if not e.startswith("Failed to load resource")] == []


@pytest.mark.django_db(transaction=True)
def test_a_policy_violation_shows_as_a_console_error(live_server, page):
    page.goto(f"{live_server.url}/accounts/")
    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.inlineRan = true";
        document.body.appendChild(script);
    }""")
    assert page.evaluate("() => window.inlineRan === undefined")
    assert any("Content Security Policy" in error for error in page.errors), page.errors
