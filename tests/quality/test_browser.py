"""The data-quality page in a real browser, at a desktop's and a phone's width (collected only
where chromium and playwright exist; see conftest.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import Account, Contact, Touchpoint
from tests.conftest import browser_login

UTC = dt.timezone.utc


@pytest.fixture
def wide_problems(db) -> None:
    """Problems whose tables are wider than a phone: touches at another account, long names."""
    home = Account.objects.create(name="Internationale Maschinenbau Gesellschaft mbH", domain="imb.example")
    other = Account.objects.create(name="Vereinigte Werkzeugmaschinenfabriken AG", domain="gmail.com", is_target=True)
    ann = Contact.objects.create(
        account=home, email="annemarie.schmidt-mueller@imb.example", title="Head of Procurement"
    )
    Contact.objects.create(email="someone.without.an.account@nowhere.example")
    for i in range(3):
        Touchpoint.objects.create(
            account=other,
            contact=ann,
            kind="webinar_attended",
            source="marketo-production",
            occurred_at=dt.datetime(2025, 3, 1 + i, tzinfo=UTC),
            external_id=f"t{i}",
        )


# The live server needs a transactional database; request the data before browser_page (which
# closes the connection that wrote it).
@pytest.mark.django_db(transaction=True)
def test_the_page_fits_a_desktop_and_a_phone(live_server, wide_problems, alice, browser_page):
    page = browser_page
    base = live_server.url
    browser_login(page, base, "alice")

    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{base}/data-quality/")
        assert page.locator(".dq-summary").inner_text().startswith("5 problems found")
        # The content never makes the page scroll sideways: wide tables scroll inside their wrapper.
        assert page.evaluate("document.querySelector('main').scrollWidth") <= width
    assert page.errors == []
