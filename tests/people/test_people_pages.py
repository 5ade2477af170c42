"""The people on the pages: the committee grid, the contact page, who to call, the call list, the
contact export and API; and personal data by role (executives see no email or phone anywhere).

The world: tests/people/conftest.py (figures computed by the real metrics run as of D)."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from dashboard import people as people_selectors
from metrics.exports import export_rows
from metrics.models import MetricSettings
from tests.metrics.builders import D

pytestmark = pytest.mark.django_db
DAY = f"?as_of={D:%Y-%m-%d}"
# Every email and phone of the world, as a page, a file or a JSON body could carry them.
PERSONAL = re.compile(r"@(acme|quiet)\.example|555 ?01|555 ?02|mailto:|tel:")


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _text(response) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


# --- the account page's committee grid ----------------------------------------------------------


def test_committee_grid_warmest_first_with_gaps_links_and_opted_out(people, bob) -> None:
    response = _client(bob).get(f"/accounts/{people.acme.pk}/{DAY}")
    html, text = response.content.decode(), _text(response)
    # Required roles nobody holds (Olga opted out, but we know her: technical evaluator is held).
    assert "No influencer known · No end user known" in text
    assert "Decision maker Ann Archer CFO 64.0 min in 30 days · last activity 28 Jun 2024" in text
    # Other contacts, warmest first: Eve 10 (D−6), Cat 2.
    other = html[html.index('data-role="other"'):]
    assert other.index("Eve Evans") < other.index("Cat Cole")
    assert '<a href="mailto:ann@acme.example">' in html and '<a href="tel:+15550101">' in html
    # Olga is marked opted out and has no links.
    assert "Olga Ode" in text and "opted out" in text
    assert "olga@acme.example" not in html and "5550199" not in html
    # Her name still leads to her page.
    assert f'href="/contacts/{people.olga.pk}/{DAY}"' in html.replace("&amp;", "&")


# --- the contact page --------------------------------------------------------------------------


def test_contact_page_figures_chart_touches_and_links(people, bob) -> None:
    response = _client(bob).get(f"/contacts/{people.ann.pk}/{DAY}")
    assert response.status_code == 200
    text = _text(response)
    assert "Minutes, last 7 days 60.0" in text
    assert "Minutes, last 30 days 64.0 against 0.0 in the 30 days before" in text
    assert "Touches, last 90 days 2" in text
    assert "Last activity 28 Jun 2024 12:00 UTC" in text
    assert "(minutes count × 2)" in text  # a CXO
    assert "2 touches up to 30 Jun 2024" in text
    assert text.index("Meeting") < text.index("Email click")  # newest first
    assert '<a href="mailto:ann@acme.example">' in response.content.decode()
    chart = response.context["minutes_fig"]
    assert chart["data"][1]["y"] == [64.0] and chart["data"][1]["x"] == [D.isoformat()]


def test_contact_page_pages_through_touches(people, bob) -> None:
    from tests.metrics.builders import at, touch

    for n in range(30):
        touch(people.acme, "email_open", at(20, minute=n), who=people.cat)
    first = _client(bob).get(f"/contacts/{people.cat.pk}/{DAY}")
    assert "31 touches up to 30 Jun 2024: 1–25 shown" in _text(first)
    second = _client(bob).get(f"/contacts/{people.cat.pk}/{DAY}&page=2")
    assert "26–31 shown" in _text(second) and "Page 2 of 2" in _text(second)


def test_every_contact_name_links_to_the_contact_page(people, bob) -> None:
    html = _client(bob).get(f"/accounts/{people.acme.pk}/{DAY}").content.decode().replace("&amp;", "&")
    # The grid and the timeline ("Who") both link Ann.
    assert html.count(f'href="/contacts/{people.ann.pk}/{DAY}"') >= 3  # grid + two timeline rows
    me = _client(bob).get(f"/me/{DAY}").content.decode().replace("&amp;", "&")
    assert f'href="/contacts/{people.ann.pk}/{DAY}"' in me


# --- My accounts: who to call -------------------------------------------------------------------


def test_who_to_call_ranks_by_minutes_then_seniority_and_leaves_out_opted_out(people, bob) -> None:
    from tests.metrics.builders import contact

    contact(people.acme, first_name="Nia", last_name="New", role="influencer")  # no touch, no row
    calls = people_selectors.who_to_call(rep=bob, as_of=D, settings=MetricSettings.load())
    assert [c.snapshot.account_id for c in calls] == [people.acme.pk]  # Quiet did not heat up
    acme = calls[0]
    # Ann 64; Eve and Ben 10 each: Eve is a VP, Ben a manager; Cat (2) is fourth; Olga opted out.
    assert [p.contact.first_name for p in acme.people] == ["Ann", "Eve", "Ben"]
    assert acme.opted_out == 1
    assert acme.missing_roles == ["End user"]  # Nia, silent, holds the influencer role
    assert [(d.kind, d.day.day, d.count) for d in acme.people[0].did] == [("meeting", 28, 1), ("email click", 20, 1)]


def test_my_accounts_shows_who_to_call_and_the_call_list_count(people, bob) -> None:
    response = _client(bob).get(f"/me/{DAY}")
    text = _text(response)
    assert "Who to call" in text
    assert "64.0 min in 30 days · decision maker · did: meeting on Fri 28 Jun, email click on Thu 20 Jun" in text
    assert "To find: no influencer known, no end user known." in text
    assert "1 opted-out person left out" in text
    assert 'href="/me/call-list.csv' in response.content.decode()


# --- the call list ------------------------------------------------------------------------------


def test_call_list_columns_rows_and_no_opted_out(people, bob) -> None:
    response = _client(bob).get(f"/me/call-list.csv{DAY}")
    assert response.status_code == 200
    assert response["X-Left-Out-Opted-Out"] == "1"
    assert "1-opted-out-left-out" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["first_name", "last_name", "email", "phone", "title", "company", "account_owner_email",
                       "minutes_30d", "last_activity"]
    assert rows[1] == ["Ann", "Archer", "ann@acme.example", "+1 555 0101", "CFO", "Acme", "bob@example.com",
                       "64.0", "2024-06-28T12:00:00+00:00"]
    # Acme warmest first (Eve and Ben tie at 10: by last name), then Quiet (Dan 10, the Alex Kims
    # none); Olga never.
    assert [r[0] for r in rows[1:]] == ["Ann", "Ben", "Eve", "Cat", "Dan", "Alex", "Alex"]
    assert all("Olga" not in r and "olga@acme.example" not in r for r in rows)


def test_an_opted_out_person_is_never_in_a_call_list_even_the_warmest(people, bob) -> None:
    from tests.metrics.builders import at, touch

    touch(people.acme, "event_attended", at(1), who=people.olga)  # 120 more: the warmest by far
    rows = list(people_selectors.call_list_rows(rep=bob, as_of=D))
    assert "olga@acme.example" not in {r["email"] for r in rows}
    assert people_selectors.call_list_left_out(rep=bob) == 1


# --- the contact export and API -----------------------------------------------------------------


def test_contact_export_columns_and_rows(people) -> None:
    columns, rows = export_rows(level="contact", as_of=D)
    assert columns == ["as_of", "contact_external_id", "account_external_id", "minutes_7d", "minutes_30d",
                       "minutes_90d", "minutes_prev_30d", "touches_90d", "last_touch_at"]
    ann = next(r for r in rows if r["contact_external_id"] == people.ann.external_id)
    assert ann["account_external_id"] == people.acme.external_id
    assert (ann["minutes_7d"], ann["minutes_30d"], ann["minutes_90d"], ann["touches_90d"]) == (60.0, 64.0, 64.0, 2)
    # People with no touch (the Alex Kims) have no row; everyone else does.
    assert len(rows) == 6


def test_export_metrics_command_writes_the_contact_level(people) -> None:
    out = io.StringIO()
    call_command("export_metrics", "--level", "contact", "--as-of", D.isoformat(), stdout=out)
    lines = list(csv.reader(io.StringIO(out.getvalue())))
    assert lines[0][:3] == ["as_of", "contact_external_id", "account_external_id"]
    ann = next(line for line in lines if line[1] == people.ann.external_id)
    assert ann[3:] == ["60.0", "64.0", "64.0", "0.0", "2", "2024-06-28T12:00:00+00:00"]


def test_contact_snapshots_api_filters_by_day_and_account(people, bob) -> None:
    api = APIClient()
    api.force_authenticate(bob)
    body = api.get(f"/api/v1/metrics/contact-snapshots/?as_of={D}&account={people.quiet.pk}").json()
    assert [(r["contact"], r["minutes_30d"], r["touches_90d"]) for r in body["results"]] == [(people.dan.pk, 10.0, 1)]


# --- personal data by role ----------------------------------------------------------------------


def test_an_executive_gets_no_email_or_phone_from_any_page(people, charlie) -> None:
    client = _client(charlie)
    for url in (f"/accounts/{people.acme.pk}/{DAY}", f"/accounts/{people.quiet.pk}/{DAY}",
                f"/contacts/{people.ann.pk}/{DAY}", f"/contacts/{people.dan.pk}/{DAY}",
                f"/me/{DAY}&rep={people.acme.owner_id}", f"/accounts/{DAY}"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert not PERSONAL.search(response.content.decode()), url
    # Names, titles and figures are still there.
    text = _text(client.get(f"/accounts/{people.acme.pk}/{DAY}"))
    assert "Ann Archer CFO 64.0 min in 30 days" in text
    assert "Emails and phones are not shown to your role." in text
    # The namesakes' heatmap rows are told apart by id, not by email.
    quiet = client.get(f"/accounts/{people.quiet.pk}/{DAY}")
    assert not PERSONAL.search(str(quiet.context["heatmap_fig"]))


def test_an_executive_gets_no_call_list_and_no_link_to_one(people, charlie) -> None:
    client = _client(charlie)
    assert client.get(f"/me/call-list.csv{DAY}&rep={people.acme.owner_id}").status_code == 403
    assert "call-list.csv" not in client.get(f"/me/{DAY}&rep={people.acme.owner_id}").content.decode()


def test_an_executive_gets_no_email_or_phone_from_exports(people, charlie) -> None:
    # The contact export names people by external id for every role; the account export has none.
    for level in ("contact", "account"):
        columns, rows = export_rows(level=level, as_of=D)
        assert not {"email", "phone"} & set(columns)
        assert not PERSONAL.search(str(rows))
    listing = _client(charlie).get(f"/accounts/export.csv{DAY}")
    assert listing.status_code == 200
    assert not PERSONAL.search(b"".join(listing.streaming_content).decode())


def test_an_executive_gets_no_email_or_phone_from_the_api(people, charlie, bob) -> None:
    api = APIClient()
    api.force_authenticate(charlie)
    for url in ("/api/v1/contacts/", f"/api/v1/contacts/{people.ann.pk}/",
                f"/api/v1/metrics/contact-snapshots/?as_of={D}", f"/api/v1/accounts/{people.acme.pk}/"):
        response = api.get(url)
        assert response.status_code == 200, url
        assert not PERSONAL.search(response.content.decode()), url
    detail = api.get(f"/api/v1/contacts/{people.ann.pk}/").json()
    assert (detail["first_name"], detail["title"]) == ("Ann", "CFO") and "email" not in detail
    # Looking a contact up by email, or sorting by it, would confirm an address.
    assert api.get("/api/v1/contacts/?email=ann@acme.example").status_code == 403
    assert api.get("/api/v1/contacts/?ordering=email").status_code == 403
    # Sales sees them.
    api.force_authenticate(bob)
    assert api.get(f"/api/v1/contacts/{people.ann.pk}/").json()["email"] == "ann@acme.example"


def test_marketing_and_admin_see_emails_and_phones(people, alice, ada) -> None:
    for user in (alice, ada):
        html = _client(user).get(f"/contacts/{people.ann.pk}/{DAY}").content.decode()
        assert '<a href="tel:+15550101">+1 555 0101</a>' in html, user


@pytest.mark.parametrize(
    ("value", "cell"),
    [("+1 555 0101", "+1 555 0101"), ("+44 (20) 7946-0958", "+44 (20) 7946-0958"), ("+1", "'+1"),
     ("+1 555 0101+cmd|' /C calc'!A0", "'+1 555 0101+cmd|' /C calc'!A0"), ("=HYPERLINK(1)", "'=HYPERLINK(1)")],
)
def test_phones_stay_as_they_are_in_csv_and_formulas_do_not(value, cell) -> None:
    from metrics.exports import csv_value

    assert csv_value(value) == cell


def test_contact_page_of_a_person_with_only_old_touches_gives_the_last_activity(people, bob) -> None:
    from tests.metrics.builders import at, contact, touch

    old = contact(people.quiet, first_name="Olaf", last_name="Old")
    touch(people.quiet, "meeting", at(120), who=old)
    text = _text(_client(bob).get(f"/contacts/{old.pk}/{DAY}"))
    # No snapshot row (no touch in W90), but the page looks the date up.
    assert "No activity in the last 90 days: no minutes to count. Last activity 2 Mar 2024 12:00 UTC." in text


def test_the_contact_chart_is_the_json_graph_objects_would_write(people, bob) -> None:
    from tests.dashboard.test_charts_json import as_json, embedded_figures, validated

    fig = embedded_figures(_client(bob).get(f"/contacts/{people.ann.pk}/{DAY}"))["fig-contact-minutes"]
    assert validated(fig) == {"data": fig["data"], "layout": fig["layout"]}
    assert fig["layout"]["xaxis"]["tickformat"] == "%-d %b %Y"
    assert as_json(fig["data"][2]["y"]) == [64.0]  # W90: 60 + 4


def test_what_a_person_did_is_grouped_by_kind_and_day_newest_first(people) -> None:
    from accounts.models import Touchpoint
    from tests.metrics.builders import at

    person = people_selectors.Person(people.cat, None, False)
    for kind, when in (("web_visit", at(0, 15)), ("web_visit", at(0, 9)), ("form_fill", at(0, 8)),
                       ("web_visit", at(1)), ("meeting", at(2))):
        person.add(Touchpoint(kind=kind, occurred_at=when))
    # Three groups at most: the meeting, older, is left out.
    assert [(d.kind, d.day.day, d.count) for d in person.did] == [
        ("web visit", 30, 2), ("form fill", 30, 1), ("web visit", 29, 1)]


def test_a_person_without_a_name_is_shown_by_email_only_to_roles_that_see_emails(people, charlie, alice) -> None:
    """Contact.__str__ falls back to the email; the pages' {% person %} does so only for roles that
    may see emails, and shows "Contact #id" to an executive."""
    from metrics.services import compute_day
    from tests.metrics.builders import at, contact, touch

    nameless = contact(people.acme, email="noname@acme.example", role="influencer")
    touch(people.acme, "meeting", at(1), who=nameless)
    compute_day(as_of=D)
    urls = (f"/accounts/{people.acme.pk}/{DAY}", f"/contacts/{nameless.pk}/{DAY}",
            f"/me/{DAY}&rep={people.acme.owner_id}")
    executive, marketing = _client(charlie), _client(alice)
    for url in urls:
        page = executive.get(url).content.decode()
        assert "noname@" not in page, url
        assert f"Contact #{nameless.pk}" in page, url
    assert "noname@acme.example" in _text(marketing.get(f"/contacts/{nameless.pk}/{DAY}")).split(" at ")[0]
