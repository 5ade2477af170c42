"""The /data-quality/ page: who may see it, each check's exact count and records, the summary
line, truncation, and a query count that does not grow with the data.

Every test builds a few records by hand, including near misses that must *not* be counted, so
the expected counts below can be checked by reading the test.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from accounts.models import Account, Contact, Opportunity, Program, Touchpoint
from metrics.models import MetricSettings
from quality import selectors

pytestmark = pytest.mark.django_db

URL = "/data-quality/"
UTC = dt.timezone.utc
TODAY = dt.date(2025, 4, 1)
# "Now" for the tests that date touches: mid-afternoon of TODAY, UTC.
NOW = "2025-04-01 15:00:00"


def _account(name: str, *, target: bool = True, owner=None, domain: str | None = None, **fields) -> Account:
    return Account.objects.create(name=name, is_target=target, owner=owner, domain=domain, **fields)


def _contact(account: Account | None, email: str, *, role: str = "", **fields) -> Contact:
    return Contact.objects.create(account=account, email=email, role=role, **fields)


def _touch(account: Account, contact: Contact | None, when: dt.datetime, external_id: str) -> Touchpoint:
    return Touchpoint.objects.create(
        account=account, contact=contact, kind="web_visit", occurred_at=when, source="test", external_id=external_id
    )


def _opportunity(account: Account, name: str, amount: str, *, won: bool = False) -> Opportunity:
    created = dt.datetime(2025, 1, 10, tzinfo=UTC)
    return Opportunity.objects.create(
        account=account,
        name=name,
        amount=Decimal(amount),
        created_at=created,
        is_closed=won,
        is_won=won,
        closed_at=created + dt.timedelta(days=30) if won else None,
    )


def _pks(finding: selectors.Finding) -> set[int]:
    return {r.pk for r in finding.records}


def _page(client, user) -> str:
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    return response.content.decode()


def _section(html: str, key: str) -> str:
    """The problem's card (or its one-line OK entry) on the page."""
    match = re.search(rf'<(section|li) [^>]*id="{key}".*?</\1>', html, re.DOTALL)
    assert match, f"no {key} on the page"
    return match.group(0)


def _count(card: str) -> str:
    """The count beside a problem's title."""
    return re.search(r'<span class="dq-count">(.*?)</span>', card).group(1)


def _admin(model: str, pk: int) -> str:
    return reverse(f"admin:accounts_{model}_change", args=[pk])


def _account_page(pk: int) -> str:
    return reverse("dashboard:account_detail", args=[pk])


# ---------------------------------------------------------------------------- access


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("user", ["bob", "charlie"])
def test_sales_and_executives_may_not_see_it(client, request, user):
    client.force_login(request.getfixturevalue(user))
    assert client.get(URL).status_code == 403


@pytest.mark.parametrize("user", ["alice", "ada"])
def test_marketing_and_admins_see_it_and_find_it_in_the_navigation(client, request, user):
    html = _page(client, request.getfixturevalue(user))
    assert "<title>Data quality · ABM dashboard</title>" in html
    assert f'<a href="{URL}" aria-current="page">Data quality</a>' in html


def test_the_navigation_hides_it_from_sales(client, bob):
    client.force_login(bob)
    assert URL not in client.get(reverse("dashboard:definitions")).content.decode()


# ---------------------------------------------------------------------------- summary


def test_a_clean_database_says_no_problems_found(client, alice, bob):
    acme = _account("Acme", owner=bob, domain="acme.com")
    ann = _contact(acme, "ann@acme.com", role="decision_maker")
    _touch(acme, ann, dt.datetime(2025, 3, 1, tzinfo=UTC), "t1")
    _opportunity(acme, "Acme renewal", "1000.00")
    Program.objects.create(name="Spring webinar", channel="webinar")

    with freeze_time(NOW):
        html = _page(client, alice)

    assert "No problems found" in html and not re.search(r"\d+ problems? found", html)
    # All ten checks, each as one green OK line.
    assert html.count('<strong class="ok">OK</strong>') == 10
    assert 'class="card dq-problem"' not in html


def test_the_summary_counts_problems_not_records(client, alice, bob):
    _contact(None, "ann@nowhere.test")
    _contact(None, "ben@nowhere.test")
    _account("Globex", owner=bob, domain="gmail.com")

    html = _page(client, alice)

    # Unmatched contacts, a free-mail domain, and Globex as a target with no contacts.
    assert "3 problems found" in html and "No problems found" not in html
    assert "7 of 10 checks passed" in html
    assert html.count('class="card dq-problem"') == 3


# ---------------------------------------------------------------------------- 1. unmatched contacts


def test_contacts_matched_to_no_account(client, alice):
    acme = _account("Acme", target=False)
    ann = _contact(None, "ann@nowhere.test", first_name="Ann", last_name="Lee")
    ben = _contact(None, "ben@nowhere.test")
    _contact(acme, "carl@acme.com")

    finding = selectors.unmatched_contacts()
    assert (finding.count, _pks(finding), finding.more) == (2, {ann.pk, ben.pk}, 0)

    card = _section(_page(client, alice), "unmatched_contacts")
    assert _count(card) == "2 contacts"
    assert f'<a href="{_admin("contact", ann.pk)}">Ann Lee</a>' in card
    assert f'<a href="{_admin("contact", ben.pk)}">ben@nowhere.test</a>' in card
    assert "carl@acme.com" not in card
    assert "account_external_id" in card  # the fix names the column


def test_a_long_list_shows_the_first_fifty_and_says_how_many_more(client, alice):
    Contact.objects.bulk_create(Contact(email=f"p{i:02}@nowhere.test") for i in range(53))

    card = _section(_page(client, alice), "unmatched_contacts")

    assert _count(card) == "53 contacts"
    assert card.count('<a href="/admin/accounts/contact/') == 50
    assert "and 3 more" in card
    # Ordered by email: the first fifty, not the last three.
    assert "p49@nowhere.test" in card and "p50@nowhere.test" not in card


# ---------------------------------------------------------------------------- 2. owners


def test_target_accounts_with_no_owner_and_all_unowned(client, alice, bob):
    _account("Acme", owner=bob)  # owned target
    globex = _account("Globex")  # unowned target
    hooli = _account("Hooli")  # unowned target
    _account("Initech", target=False)  # unowned, not a target

    finding = selectors.unowned_target_accounts()
    assert (finding.count, _pks(finding), finding.also) == (2, {globex.pk, hooli.pk}, 3)

    card = _section(_page(client, alice), "unowned_target_accounts")
    assert _count(card) == "2 target accounts" and "3 accounts have no owner in all" in card
    assert f'<a href="{_account_page(globex.pk)}">Globex</a>' in card
    assert "Initech" not in card and "Acme" not in card


def test_unowned_non_targets_alone_pass_but_are_counted(client, alice, bob):
    _contact(_account("Acme", owner=bob), "ann@acme.com", role="champion")
    _account("Initech", target=False)

    finding = selectors.unowned_target_accounts()
    assert (finding.ok, finding.also) == (True, 1)
    line = _section(_page(client, alice), "unowned_target_accounts")
    assert "OK" in line and "1 account has no owner in all" in line


# ---------------------------------------------------------------------------- 3. and 4. contacts and roles


def test_target_accounts_with_no_contacts(client, alice):
    acme = _account("Acme")
    _contact(acme, "ann@acme.com", role="champion")
    globex = _account("Globex")
    _account("Initech", target=False)  # no contacts, but not a target

    finding = selectors.target_accounts_without_contacts()
    assert (finding.count, _pks(finding)) == (1, {globex.pk})

    card = _section(_page(client, alice), "target_accounts_without_contacts")
    assert _count(card) == "1 target account" and f'<a href="{_account_page(globex.pk)}">Globex</a>' in card


@pytest.fixture
def committees() -> dict[str, Account]:
    acme = _account("Acme")  # a champion: covered under the default roles
    _contact(acme, "ann@acme.com", role="champion")
    _contact(acme, "al@acme.com", role="blocker")
    globex = _account("Globex")  # people, but in no default required role
    _contact(globex, "ben@globex.com", role="blocker")
    _contact(globex, "bea@globex.com", role="economic_buyer")
    _contact(globex, "bo@globex.com")
    hooli = _account("Hooli")  # nobody: counted by check 3, not here
    initech = _account("Initech", target=False)  # not a target
    _contact(initech, "ian@initech.com", role="blocker")
    return {"acme": acme, "globex": globex, "hooli": hooli, "initech": initech}


def test_target_accounts_with_no_one_in_a_required_role(client, alice, committees):
    roles = MetricSettings.load().required_roles
    assert "champion" in roles and "blocker" not in roles and "economic_buyer" not in roles

    finding = selectors.target_accounts_without_required_role(required_roles=roles)
    assert (finding.count, _pks(finding)) == (1, {committees["globex"].pk})

    card = _section(_page(client, alice), "target_accounts_without_required_role")
    assert _count(card) == "1 target account" and ">Globex</a>" in card and "Hooli" not in card
    assert "decision maker, champion, influencer, technical evaluator, end user" in card


def test_the_required_roles_come_from_the_settings(client, alice, committees):
    settings = MetricSettings.load()
    settings.required_roles = ["blocker"]
    settings.save()

    # Acme and Globex each have a blocker now: the check passes.
    assert "OK" in _section(_page(client, alice), "target_accounts_without_required_role")

    # Only Globex has an economic buyer.
    settings.required_roles = ["economic_buyer"]
    settings.save()
    finding = selectors.target_accounts_without_required_role(required_roles=settings.required_roles)
    assert (finding.count, _pks(finding)) == (1, {committees["acme"].pk})


def test_with_no_required_roles_nothing_is_missing(committees):
    assert selectors.target_accounts_without_required_role(required_roles=[]).count == 0


# ---------------------------------------------------------------------------- 5. free mail


def test_accounts_with_a_free_mail_domain(client, alice):
    gmail = _account("Private people", target=False, domain="gmail.com")
    _contact(gmail, "x@gmail.com")
    _contact(gmail, "y@gmail.com")
    gmx = _account("Gmx", target=False, domain="gmx.de")
    _account("Acme", target=False, domain="acme.com")
    _account("Not gmail", target=False, domain="notgmail.com")
    _account("Gmail subsidiary", target=False, domain="mail.gmail.com")

    finding = selectors.free_mail_accounts()
    assert (finding.count, _pks(finding)) == (2, {gmail.pk, gmx.pk})
    assert [r.details for r in finding.records] == [
        ("gmail.com", "2 contacts matched to it"),
        ("gmx.de", "0 contacts matched to it"),
    ]

    card = _section(_page(client, alice), "free_mail_accounts")
    assert _count(card) == "2 accounts" and f'<a href="{_account_page(gmail.pk)}">Private people</a>' in card
    assert "acme.com" not in card and "notgmail.com" not in card


def test_accounts_with_the_same_name_in_any_case(client, alice):
    a1 = _account("Acme", target=False, domain="acme.com", external_id="A1")
    a2 = _account("ACME ", target=False)
    a3 = _account("acme", target=False, domain="acme.io")
    g1 = _account("Globex", target=False)
    g2 = _account("globex", target=False)
    _account("Acme Corp", target=False)
    _account("Initech", target=False)

    finding = selectors.duplicate_accounts()
    assert (finding.count, finding.also) == (2, 5)
    assert [(g.name, g.size, [r.pk for r in g.records]) for g in finding.groups] == [
        ("acme", 3, [a1.pk, a2.pk, a3.pk]),
        ("globex", 2, [g1.pk, g2.pk]),
    ]

    card = _section(_page(client, alice), "duplicate_accounts")
    assert _count(card) == "2 names used more than once" and "5 accounts share these names" in card
    assert f'<a href="{_account_page(a2.pk)}">ACME </a>' in card and "acme.com · A1" in card
    assert "Acme Corp" not in card and "Initech" not in card


def test_a_big_duplicate_group_lists_ten_and_says_how_many_more(client, alice):
    Account.objects.bulk_create(Account(name="Unknown") for _ in range(12))

    finding = selectors.duplicate_accounts()
    [group] = finding.groups
    assert (finding.count, finding.also, group.size, len(group.records), group.more) == (1, 12, 12, 10, 2)
    assert "and 2 more" in _section(_page(client, alice), "duplicate_accounts")


def test_duplicate_totals_count_past_the_groups_listed(monkeypatch):
    Account.objects.bulk_create(Account(name=name) for name in ("Acme", "acme", "Globex", "GLOBEX", "globex"))
    monkeypatch.setattr(selectors, "RECORDS_SHOWN", 1)

    finding = selectors.duplicate_accounts()
    assert (finding.count, finding.also, [g.name for g in finding.groups], finding.more) == (2, 5, ["acme"], 1)


def test_programs_with_the_same_name(client, alice):
    p1 = Program.objects.create(name="Spring Webinar", channel="webinar")
    p2 = Program.objects.create(name="spring webinar", channel="email", external_id="P2")
    Program.objects.create(name="Summer event", channel="event")

    finding = selectors.duplicate_programs()
    assert (finding.count, finding.also) == (1, 2)
    assert [r.pk for r in finding.groups[0].records] == [p1.pk, p2.pk]

    card = _section(_page(client, alice), "duplicate_programs")
    assert _count(card) == "1 name used more than once" and "2 programs share these names" in card
    assert f'<a href="{_admin("program", p1.pk)}">Spring Webinar</a>' in card
    assert f'<a href="{_admin("program", p2.pk)}">spring webinar</a>' in card and "Summer event" not in card


# ---------------------------------------------------------------------------- 8. future touches


@pytest.fixture
def acme() -> Account:
    return _account("Acme", target=False)


def test_touches_dated_after_today(client, alice, acme):
    _touch(acme, None, dt.datetime(2025, 3, 1, tzinfo=UTC), "past")
    _touch(acme, None, dt.datetime(2025, 4, 1, 23, 59, 59, tzinfo=UTC), "later-today")  # today: fine
    tomorrow = _touch(acme, None, dt.datetime(2025, 4, 2, tzinfo=UTC), "tomorrow")
    next_year = _touch(acme, None, dt.datetime(2026, 1, 1, tzinfo=UTC), "next-year")

    finding = selectors.future_touchpoints(today=TODAY)
    # Furthest in the future first.
    assert (finding.count, [r.pk for r in finding.records]) == (2, [next_year.pk, tomorrow.pk])

    with freeze_time(NOW):
        card = _section(_page(client, alice), "future_touchpoints")
    assert _count(card) == "2 touches"
    assert f'<a href="{_admin("touchpoint", next_year.pk)}">Web visit · 2026-01-01 00:00</a>' in card
    assert "2025-04-01 23:59" not in card and "2025-03-01" not in card


def test_the_touch_checks_count_past_the_records_they_list(client, alice, acme, monkeypatch):
    globex = _account("Globex", target=False)
    ann = _contact(globex, "ann@globex.com")
    for day in (2, 3, 4):  # three touches both in the future and at another account than Ann's
        _touch(acme, ann, dt.datetime(2025, 4, day, tzinfo=UTC), f"future-{day}")
    monkeypatch.setattr(selectors, "RECORDS_SHOWN", 2)

    for finding in (selectors.future_touchpoints(today=TODAY), selectors.touchpoints_at_another_account()):
        assert (finding.count, len(finding.records), finding.more) == (3, 2, 1)
    with freeze_time(NOW):
        card = _section(_page(client, alice), "future_touchpoints")
    assert _count(card) == "3 touches" and "and 1 more" in card


# ---------------------------------------------------------------------------- 10. touches at another account


def test_touches_whose_contact_sits_at_another_account(client, alice):
    acme = _account("Acme", target=False)
    globex = _account("Globex", target=False)
    ann = _contact(acme, "ann@acme.com")
    ben = _contact(globex, "ben@globex.com")
    zed = _contact(None, "zed@nowhere.test")
    when = dt.datetime(2025, 3, 1, tzinfo=UTC)
    _touch(acme, ann, when, "ann-at-acme")
    wrong = _touch(globex, ann, when + dt.timedelta(hours=1), "ann-at-globex")
    _touch(globex, ben, when, "ben-at-globex")
    _touch(acme, None, when, "anonymous")
    unassigned = _touch(acme, zed, when, "zed-at-acme")

    finding = selectors.touchpoints_at_another_account()
    assert (finding.count, [r.pk for r in finding.records]) == (2, [wrong.pk, unassigned.pk])
    assert [r.details[:3] for r in finding.records] == [
        ("Globex", "ann@acme.com", "Acme"),
        ("Acme", "zed@nowhere.test", "no account"),
    ]

    card = _section(_page(client, alice), "touchpoints_at_another_account")
    assert _count(card) == "2 touches" and f'href="{_admin("touchpoint", wrong.pk)}"' in card


# ---------------------------------------------------------------------------- 9. opportunities


def test_opportunities_with_no_amount(client, alice, acme):
    open_zero = _opportunity(acme, "Acme pilot", "0")
    won_zero = _opportunity(acme, "Acme expansion", "0.00", won=True)
    _opportunity(acme, "Acme renewal", "1200.00")

    finding = selectors.opportunities_without_amount()
    assert (finding.count, _pks(finding)) == (2, {open_zero.pk, won_zero.pk})
    assert sorted(r.details[2] for r in finding.records) == ["Open", "Won"]

    card = _section(_page(client, alice), "opportunities_without_amount")
    assert (
        _count(card) == "2 opportunities"
        and f'<a href="{_admin("opportunity", won_zero.pk)}">Acme expansion</a>' in card
    )
    assert "Acme renewal" not in card


# ---------------------------------------------------------------------------- queries


def _every_problem(numbers: range, bob) -> None:
    """A record (or a duplicate group) behind every check for each of `numbers`."""
    when = dt.datetime(2025, 3, 1, tzinfo=UTC)
    for i in numbers:
        home = _account(f"Home {i}", owner=bob, domain=f"home{i}.com")
        other = _account(f"Other {i}", owner=bob, domain=f"other{i}.com")
        person = _contact(home, f"p{i}@home{i}.com", role="blocker")
        _contact(other, f"q{i}@other{i}.com", role="champion")
        _contact(None, f"u{i}@nowhere.test")
        _account(f"Nobody {i}")
        _account(f"Dup {i}", owner=bob)
        _account(f"dup {i}", target=False)
        Program.objects.create(name=f"Prog {i}", channel="email")
        Program.objects.create(name=f"PROG {i}", channel="email")
        _touch(other, person, when, f"moved-{i}")
        _touch(home, person, dt.datetime(2025, 5, 1, tzinfo=UTC), f"future-{i}")
        _opportunity(home, f"Deal {i}", "0")
    _account(f"Free {numbers.start}", target=False, domain="gmail.com" if not numbers.start else "gmx.net")


def _queries(client) -> int:
    with freeze_time(NOW), CaptureQueriesContext(connection) as captured:
        assert "10 problems found" in client.get(URL).content.decode()
    return len(captured)


def test_the_page_runs_a_fixed_number_of_queries(client, alice, bob, django_assert_max_num_queries):
    client.force_login(alice)
    _every_problem(range(0, 2), bob)
    # Each check lists its records in one query and counts them in another only past a full list;
    # the duplicate checks fetch their groups' members, the owner check its totals, in one more.
    # The rest: session, user, groups and the metric settings.
    with freeze_time(NOW), django_assert_max_num_queries(24):
        client.get(URL)
    cache.clear()  # compare two pages that both run the touchpoint scans
    few = _queries(client)
    _every_problem(range(2, 5), bob)  # more records behind every check: not one query more
    cache.clear()
    assert _queries(client) == few


def test_the_touchpoint_scans_are_reused_until_touches_or_contacts_change(client, alice, bob):
    client.force_login(alice)
    _every_problem(range(0, 2), bob)
    _queries(client)  # the first page also sets up the session and the settings row
    cache.clear()
    scanned = _queries(client)
    # The two checks that read every touch come from the cache: their list queries go.
    cached = _queries(client)
    assert cached == scanned - 2
    # A new touch (a new highest id) makes the page read them again, then reuse them.
    Touchpoint.objects.create(account=Account.objects.first(), kind="web_visit",
                              occurred_at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC), source="qa", external_id="recent-1")
    assert _queries(client) == scanned
    assert _queries(client) == cached
