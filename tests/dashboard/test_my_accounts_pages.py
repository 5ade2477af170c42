"""My accounts: the sort links, and every touch of the last 7 days, a page at a time."""

from __future__ import annotations

import datetime as dt

from accounts.models import Touchpoint
from tests.dashboard.conftest import D, at, days_before, text


def test_the_sort_links_change_the_order(client, bob, world):
    """The 30-day link once read "??sort=month" and did nothing."""
    client.force_login(bob)
    html = client.get("/me/").content.decode()
    assert "??" not in html
    assert 'href="?sort=month">change over 30 days</a>' in html
    assert 'href="?sort=week" aria-current="true" class="current">change this week</a>' in html


def test_what_they_did_pages_through_the_whole_week(client, bob, world):
    # 2 scored touches at Bob's accounts in the last 7 days (Dana's webinar, Carl's web visit) and 33
    # more web visits at Globex, one an hour back from D 23:00: 35 in all, 30 on the first page.
    for n in range(33):
        Touchpoint.objects.create(account=world.globex, kind="web_visit", source="test", external_id=f"w{n}",
                                  occurred_at=dt.datetime.combine(D, dt.time(23), tzinfo=dt.UTC)
                                  - dt.timedelta(hours=n))
    # Before the week and after the day: never shown.
    Touchpoint.objects.create(account=world.globex, kind="web_visit", source="test", external_id="old",
                              occurred_at=at(days_before(7)))
    client.force_login(bob)
    first = text(client.get("/me/"))
    assert "35 scored touches from Tue 25 Mar to Mon 31 Mar, newest first: 1–30 shown." in first
    assert "Page 1 of 2" in first and "Older →" in first
    assert first.count("Globex anonymous Web visit") == 30
    second_page = client.get("/me/?recent_page=2")
    second = text(second_page)
    assert "31–35 shown" in second and "← Newer" in second
    assert "Globex anonymous Web visit" in second
    assert "Sun 30 Mar 12:00 Acme Dana Diaz Webinar attended Spring webinar" in second
    assert "Fri 28 Mar 12:00 Acme Carl Chen Web visit" in second
    assert "Mon 24 Mar" not in second
    # htmx asks for the section alone, and the ranked accounts keep their own page.
    fragment = client.get("/me/?recent_page=2", headers={"HX-Request": "true", "HX-Target": "recent"})
    html = fragment.content.decode()
    assert html.startswith('<section class="card" id="recent"') and "Ranked by engagement change" not in html
    assert "31–35 shown" in text(fragment)
