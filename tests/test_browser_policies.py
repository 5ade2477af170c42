"""The Content-Security-Policy in a real browser: the API docs (Swagger UI) and the admin work under
it, and a violation does show up as a console error (so the page tests' "no console errors" covers
the policy). The dashboard pages themselves: tests/dashboard/test_browser.py.

Needs Debian's /usr/bin/chromium and the playwright package, like the dashboard's browser test.
"""

from __future__ import annotations

import importlib.util
import shutil

import pytest
from django.db import connection

pytestmark = pytest.mark.skipif(
    not (shutil.which("chromium") and importlib.util.find_spec("playwright")), reason="needs chromium and playwright"
)

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


@pytest.fixture
def page(live_server, alice, monkeypatch):
    from playwright.sync_api import sync_playwright

    alice.is_staff = alice.is_superuser = True  # for the admin pages
    alice.save()
    # As in tests/dashboard/test_browser.py: Playwright's event loop and the live server's threads.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    connection.close()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", "pw-alice")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/accounts/")
        yield page
        browser.close()


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
