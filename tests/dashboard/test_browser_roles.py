"""Every page, as every role that may open it, on a desktop (1440 px) and a phone (390 px), in Chromium.

For each page and role: no console errors; at 390 px nothing wider than the viewport (tables scroll
inside their cards); every link in <main> answers 200 with the page's own session; and a link back
to the same page with another query (a filter, a sort, a pager) changes what the page shows. On the
segment page, the counts the page writes in words are the counts its funnel chart draws, and "MQA"
is the same count in the side panel as in the segment list.

The hand-built world of conftest.py (collected only where chromium and playwright exist, see
conftest.collect_ignore), with one more of Bob's accounts (Hooli) so the two sorts of My accounts
differ.
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import pytest
from tests.conftest import browser_login
from playwright.sync_api import Page, expect

from accounts.models import Account
from tests.dashboard.conftest import World, snap

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
MODELS = ("first_touch", "last_touch", "linear", "u_shaped", "time_decay")
# Import and data quality are for marketing ops and admins (accounts.roles.can_manage_data).
MANAGERS_ONLY = ("/import/", "/data-quality/")
ROLES = ("alice", "bob", "charlie", "ada")


def pages(world: World) -> list[str]:
    return [
        "/accounts/",
        f"/accounts/{world.acme.pk}/",
        "/segments/",
        f"/segments/{world.enterprise.pk}/?compare={world.smb.pk}",
        *[f"/programs/?model={model}" for model in MODELS],
        "/programs/?model=first_touch&channel=display",
        f"/programs/{world.webinar.pk}/",
        "/me/",
        *MANAGERS_ONLY,
        "/definitions/",
        "/influence/",
    ]


def _skipped(url: str, base: str) -> str | None:
    """Why a link is not fetched, or None."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != base:
        return "external"  # another site: not ours to test
    if parts.path.startswith("/admin/"):
        return "admin"  # the Django admin answers staff only (test_pages tests the Settings link)
    if parts.path.startswith("/logout/"):
        return "logout"  # would end the session the other links are fetched with
    if parts.path.endswith(".csv"):
        return "download"  # an export streams a file; tests/dashboard/test_account_list tests it
    return None


def _main_text(html: str) -> str:
    """What <main> says: its text, scripts (the figures' JSON) and hidden inputs left out."""
    main = re.search(r"<main>(.*)</main>", html, re.S)
    assert main, "no <main>"
    body = re.sub(r"<script.*?</script>", " ", main.group(1), flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", body))).strip()


CHARTS_DRAWN = "() => [...document.querySelectorAll('[data-figure]')].every(d => d.querySelector('.main-svg'))"


class Visit:
    """One role's session, seen at once on a desktop and on a phone: two pages with one login, the
    phone's page loading while the desktop's links are fetched.

    A link to another page is fetched once per role (its view may answer one role and refuse
    another). A link back to the same page with another query (a sort, a filter, a pager) goes
    through the same view and the same permission check that just answered this role: each such
    change (the page's path, the parameters the link sets and those it drops) is fetched once in
    the whole test, by the first role and page that offer it (`variants`). So "sort by ROI" is
    checked once, not on each of the six program pages for each of the four roles.
    """

    def __init__(self, desktop: Page, base: str, *, phone: bool = True) -> None:
        self.desktop = desktop
        desktop.set_viewport_size(DESKTOP)
        self.phone: Page | None = None
        if phone:
            # The fixture's page has a context of its own: the phone gets another, and the same
            # session cookie at each login.
            self.phone = desktop.context.browser.new_context(viewport=PHONE).new_page()
            errors: list[str] = []
            self.phone.on("console", lambda m: m.type == "error" and errors.append(m.text))
            self.phone.on("pageerror", lambda e: errors.append(str(e)))
            self.phone.errors = errors
        self.base = base
        self.fetched: dict[str, tuple[int, str]] = {}
        self.variants: dict[tuple, tuple[int, str]] = {}

    def login(self, username: str) -> None:
        page = self.desktop
        page.context.clear_cookies()
        self.fetched.clear()
        browser_login(page, self.base, username)
        page.wait_for_url(re.compile(r".*/(accounts|me|influence)/$"))
        if self.phone:
            self.phone.context.clear_cookies()
            self.phone.context.add_cookies(page.context.cookies())

    def fetch(self, url: str, *, cache: dict[str, tuple[int, str]] | None = None) -> tuple[int, str]:
        url = url.split("#")[0]
        cache = self.fetched if cache is None else cache
        if url not in cache:
            response = self.desktop.request.get(url, max_redirects=0)
            cache[url] = (response.status, response.text() if response.status == 200 else "")
        return cache[url]

    def open(self, path: str) -> None:
        """Open the page on both screens: the phone's in the background, the desktop's drawn."""
        self.desktop.errors.clear()
        if self.phone:
            self.phone.errors.clear()
            phone = self.phone.goto(self.base + path, wait_until="commit")
            assert phone and phone.status == 200, path
        desktop = self.desktop.goto(self.base + path)
        assert desktop and desktop.status == 200, path
        # Plotly draws each figure on DOMContentLoaded: wait until every one has its SVG.
        self.desktop.wait_for_function(CHARTS_DRAWN)
        assert self.desktop.errors == [], (path, self.desktop.errors)

    def check_phone(self, path: str) -> None:
        """On the phone: drawn without errors, and nothing wider than the screen."""
        assert self.phone
        self.phone.wait_for_load_state("load")
        self.phone.wait_for_function(CHARTS_DRAWN)
        assert self.phone.errors == [], (path, self.phone.errors)
        width = self.phone.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1] == PHONE["width"], (path, width)

    def check_links(self, path: str) -> None:
        """Every link in <main> answers 200; a link to this page with another query changes it."""
        links = self.desktop.eval_on_selector_all(
            "main a[href]", "els => els.map(a => [a.href, a.hasAttribute('download'), a.hasAttribute('aria-current')])"
        )
        here = urlsplit(self.base + path)
        params = set(parse_qsl(here.query))  # (name, value) pairs: a link sets some, drops others
        _, this_page = self.fetch(self.base + path)
        for href, download, current in links:
            if download or _skipped(href, self.base):
                continue  # a[download]: the CSV export, a file not a page (see _skipped for the rest)
            target = urlsplit(href)
            if target.path != here.path or target.query == here.query:
                status, _ = self.fetch(href)
                assert status == 200, (path, href, status)
                continue
            wanted = set(parse_qsl(target.query))
            change = (target.path, tuple(sorted(wanted - params)), tuple(sorted(params - wanted)))
            if change in self.variants:
                continue
            status, html = self.variants[change] = self.fetch(href, cache={})
            assert status == 200, (path, href, status)
            # aria-current marks the link to the state already shown (the current sort or channel).
            if not current:
                assert _main_text(html) != _main_text(this_page), f"{href} on {path} changes nothing"


def segment_counts_agree(page: Page, segment_list_mqa: str) -> None:
    """The funnel's caption states the chart's counts; "MQA" is one count on every page."""
    funnel = page.evaluate("JSON.parse(document.getElementById('fig-funnel').textContent).data[0]")
    drawn = dict(zip(funnel["y"], funnel["x"], strict=True))
    stated = {
        label: int(page.locator(f'[data-funnel="{field}"]').inner_text().replace(",", ""))
        for label, field in (("Aware or further", "funnel_aware"), ("Engaged or further", "funnel_engaged"),
                             ("MQA or further", "funnel_mqa"), ("Opportunity or customer", "funnel_opportunity"),
                             ("Customer", "funnel_customer"))
    }
    assert stated == {label: drawn[label] for label in stated}
    panel = re.fullmatch(r"(\d+) % MQA \((\d+) accounts?\)", page.locator('[data-flag="mqa"]').inner_text())
    assert panel, page.locator('[data-flag="mqa"]').inner_text()
    share, count = panel.groups()
    # The segment list's MQA cell is the same share of the same accounts.
    assert f"{share} %" == segment_list_mqa
    accounts = int(page.locator(".side-stats .sub").first.inner_text().split(" of ")[1].split()[0])
    assert round(int(share) / 100 * accounts) == int(count)
    assert drawn["MQA or further"] >= int(count)  # the MQAs and the accounts past MQA


@pytest.fixture
def hooli(world: World, bob):
    """Bob's third account: quiet this week (0 − 90/3 = −30) but up 200 over 30 days, so it is last
    by the week's change and first by the month's (Acme +35 / +60, Globex −4 / −20)."""
    account = Account.objects.create(name="Hooli", domain="hooli.example", is_target=True, owner=bob)
    snap(account, minutes_prev_21d=90, minutes_30d=300, minutes_prev_30d=100)
    return account


# The live server needs a transactional database, flushed afterwards (see test_browser.py). The
# data fixtures come before browser_page, which closes the connection that wrote them.
@pytest.mark.django_db(transaction=True)
def test_every_page_for_every_role_on_desktop_and_phone(live_server, world, hooli, alice, bob, charlie, ada,
                                                         browser_page):
    page, base = browser_page, live_server.url
    visit = Visit(page, base)
    for username in ROLES:
        visit.login(username)
        manages = username in ("alice", "ada")
        for path in pages(world):
            if path in MANAGERS_ONLY and not manages:
                assert visit.fetch(base + path)[0] == 403, (username, path)
                continue
            visit.open(path)
            visit.check_links(path)
            if path.startswith("/segments/") and "compare" in path:
                _, listed = visit.fetch(base + "/segments/")
                enterprise = re.search(r"Enterprise\s*</a>.*?</tr>", listed, re.S).group(0)
                cells = re.findall(r'<td class="num[^"]*">([^<]*)</td>', enterprise)
                segment_counts_agree(page, segment_list_mqa=cells[4])  # accounts, covered, aware, engaged, MQA
            visit.check_phone(path)
        # Nobody here is staff: no Settings link to a refusal.
        assert page.locator("header a[href='/admin/']").count() == 0
        assert (page.locator("header a[href='/import/']").count() == 1) is manages


@pytest.mark.django_db(transaction=True)
def test_links_that_promise_a_change_make_it(live_server, world, hooli, alice, bob, browser_page):
    """Clicked as a user would: the sort of My accounts, a program column, a channel, the model."""
    page, base = browser_page, live_server.url
    visit = Visit(page, base, phone=False)
    visit.login("bob")
    ranked = page.locator("section[aria-labelledby=ranked] tbody tr td:first-child")
    expect(ranked).to_have_text(["Acme", "Globex", "Hooli"])
    page.click("text=change over 30 days")
    expect(ranked).to_have_text(["Hooli", "Acme", "Globex"])
    assert page.url.endswith("/me/?sort=month")

    visit.login("alice")
    visit.open("/programs/")
    names = page.locator("table.programs tbody tr td:first-child")
    expect(names).to_have_text(["Spring webinar", "Display retargeting"])  # costliest first
    page.click("table.programs th >> text=ROI")  # highest ROI first: webinar 100 %, display −100 %
    expect(page.locator("table.programs th[aria-sort=descending]")).to_contain_text("ROI")
    page.click("table.programs th >> text=ROI")
    expect(names).to_have_text(["Display retargeting", "Spring webinar"])
    page.click(".channel-filter >> text=Webinar")
    expect(names).to_have_text(["Spring webinar"])
    assert "channel=webinar" in page.url and "sort=roi" in page.url
    # The model picker redraws the page in place (htmx) and keeps the channel.
    page.check("input[value=first_touch]")
    expect(page.locator("#returns")).to_contain_text("First touch attribution")
    cells = page.locator("table.programs tbody tr").first.locator("td")
    expect(cells).to_have_text(["Spring webinar", "Webinar", "10,000", "0", "0", "0", "–", "0.0", "-100 %"])
    assert "model=first_touch" in page.url and "channel=webinar" in page.url
    page.wait_for_function(CHARTS_DRAWN)
    assert page.errors == []
