"""Marking (and unmarking) the accounts the account list's filters select as target accounts.

The world (conftest.py), on day D: Acme (target, tier 1, Bob's, Enterprise, MQA), Globex (target,
tier 2, Bob's, Enterprise, engaged), Initech (target, tier 1, SMB, stage none) and =Umbrella (not
a target, tier 3, Alice's, SMB, aware). Acme and Globex also have a snapshot the day before.
"""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Account, Segment
from dashboard import views
from metrics.models import AccountSnapshot
from tests.dashboard.conftest import D, days_before, text

MARK = "/accounts/targets/mark/"
UNMARK = "/accounts/targets/unmark/"


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def targets() -> list[str]:
    return sorted(Account.objects.filter(is_target=True).values_list("name", flat=True))


def tiers() -> dict[str, int | None]:
    return dict(Account.objects.values_list("name", "tier"))


# ---------------------------------------------------------------------------- the list page


def test_the_list_offers_marking_the_filtered_accounts_to_marketing_ops(as_alice, world):
    html = as_alice.get("/accounts/?tier=1&sort=name").content.decode()
    assert "Mark the filtered accounts as targets" in html
    assert f'href="{MARK}?tier=1&amp;sort=name"' in html
    assert f'href="{UNMARK}?tier=1&amp;sort=name"' in html


def test_the_list_offers_no_marking_to_sales(client, world, bob):
    client.force_login(bob)
    html = client.get("/accounts/").content.decode()
    assert "Mark the filtered accounts as targets" not in html
    assert UNMARK not in html


# ---------------------------------------------------------------------------- confirmation


@pytest.mark.parametrize(
    ("query", "question", "detail"),
    [
        ("", "Mark 4 accounts as targets?", "1 will become a target account; 3 already are."),
        ("tier=1", "Mark 2 accounts as targets?", "0 will become target accounts; 2 already are."),
        ("stage=aware", "Mark 1 account as a target?", "1 will become a target account; 0 already are."),
        ("target=false&q=umbrella", "Mark 1 account as a target?", "1 will become"),
        ("segment=target", "Mark 3 accounts as targets?", "0 will become"),
        ("as_of=2025-03-30", "Mark 2 accounts as targets?", "0 will become"),  # only Acme and Globex that day
    ],
)
def test_the_confirmation_names_the_count_the_filters_select(as_alice, world, query, question, detail):
    page = text(as_alice.get(f"{MARK}?{query}"))
    assert question in page
    assert detail in page
    assert "The metrics show the change after the next metrics run" in page


def test_the_confirmation_names_the_filters_and_the_day(as_alice, world, bob):
    page = text(as_alice.get(f"{MARK}?segment={world.smb.pk}&owner={bob.pk}&stage=engaged&engaged=true"))
    assert "The accounts the list shows on 2025-03-31 for these filters:" in page
    for shown in ("Segment: SMB", "Owner: Bob", "Journey stage: Engaged", "Engaged: Yes"):
        assert shown in page
    assert "No accounts match these filters" in page  # Globex is engaged but in Enterprise
    assert "<form method=\"post\"" not in as_alice.get(f"{MARK}?segment={world.smb.pk}&stage=mqa").content.decode()


def test_the_count_has_thousands_separators(as_alice, world):
    extra = Account.objects.bulk_create(
        [Account(name=f"Bulk {i}", domain=f"bulk{i}.example") for i in range(1000)]
    )
    AccountSnapshot.objects.bulk_create([AccountSnapshot(account=a, as_of=D) for a in extra])
    page = text(as_alice.get(MARK))
    assert "Mark 1,004 accounts as targets?" in page
    assert "Mark 1,004 accounts" in page  # the button


def test_the_confirmation_posts_to_the_same_filters_and_day(as_alice, world):
    html = as_alice.get(f"{MARK}?tier=1&sort=name&page=3").content.decode()
    assert f'action="{MARK}apply/?tier=1&amp;sort=name"' in html
    assert '<input type="hidden" name="as_of" value="2025-03-31">' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<option value="Enterprise">' in html  # existing segments are suggested


# ---------------------------------------------------------------------------- marking


def test_post_marks_exactly_the_filtered_accounts(as_alice, world):
    """SMB on day D is Initech (a target already) and =Umbrella; a new SMB account with no
    snapshot yet is not on the list, so it is not marked either."""
    late = Account.objects.create(name="Late", domain="late.example")
    world.smb.accounts.add(late)
    r = as_alice.post(f"{MARK}apply/?segment={world.smb.pk}&sort=name", {"as_of": "2025-03-31", "tier": "2"})
    assert r.status_code == 302
    assert r["Location"] == f"/accounts/?segment={world.smb.pk}&sort=name"
    assert targets() == ["=Umbrella", "Acme", "Globex", "Initech"]
    assert tiers() == {"Acme": 1, "Globex": 2, "Initech": 2, "=Umbrella": 2, "Late": None}


def test_post_selects_through_the_days_snapshots(as_alice, world):
    Account.objects.filter(pk=world.initech.pk).update(is_target=False)
    as_alice.post(f"{MARK}apply/?stage=aware", {"as_of": "2025-03-31"})
    assert targets() == ["=Umbrella", "Acme", "Globex"]  # Initech (stage none) stays unmarked
    assert tiers()["=Umbrella"] == 3  # no tier chosen: kept


def test_post_uses_the_day_the_confirmation_counted(as_alice, world):
    Account.objects.update(is_target=False)
    as_alice.post(f"{MARK}apply/", {"as_of": days_before(1).isoformat()})
    assert targets() == ["Acme", "Globex"]


def test_the_success_message_says_how_many_were_new(as_alice, world):
    r = as_alice.post(f"{MARK}apply/?segment={world.smb.pk}", {"as_of": "2025-03-31"}, follow=True)
    page = text(r)
    assert "Marked 1 account as a target (1 already was)." in page
    assert "The metrics show the change after the next metrics run." in page
    r = as_alice.post(f"{MARK}apply/", {"as_of": "2025-03-31"}, follow=True)
    assert "Marked 0 accounts as targets (4 already were)." in text(r)


def test_post_adds_the_accounts_to_a_segment_created_if_missing(as_alice, world):
    as_alice.post(f"{MARK}apply/?tier=1", {"as_of": "2025-03-31", "segment": "FY26 targets"})
    as_alice.post(f"{MARK}apply/?tier=1", {"as_of": "2025-03-31", "segment": "FY26 targets"})
    segment = Segment.objects.get(name="FY26 targets")
    assert sorted(segment.accounts.values_list("name", flat=True)) == ["Acme", "Initech"]


def test_an_invalid_tier_is_refused_and_nothing_changes(as_alice, world):
    before = tiers()
    r = as_alice.post(f"{MARK}apply/?target=false", {"as_of": "2025-03-31", "tier": "7"})
    assert r.status_code == 400
    assert "Select a valid choice" in text(r)
    assert targets() == ["Acme", "Globex", "Initech"]
    assert tiers() == before


def test_a_too_long_segment_name_is_refused_by_the_service(as_alice, world):
    r = as_alice.post(f"{MARK}apply/?target=false", {"as_of": "2025-03-31", "segment": "x" * 121})
    assert r.status_code == 400
    assert "is longer than 120 characters" in text(r)
    assert targets() == ["Acme", "Globex", "Initech"]
    assert not Segment.objects.filter(name__startswith="x").exists()


def test_the_recompute_option_starts_the_run_the_compute_button_starts(as_alice, world, monkeypatch):
    started: list[str] = []

    class Task:
        @staticmethod
        def delay(as_of: str) -> None:
            started.append(as_of)

    monkeypatch.setattr(views, "_compute_task", lambda: Task)
    assert "Then compute today's metrics" in text(as_alice.get(MARK))
    r = as_alice.post(f"{MARK}apply/?target=false", {"as_of": "2025-03-31", "recompute": "on"}, follow=True)
    assert len(started) == 1
    assert "Today's metrics are being computed" in text(r)


# ---------------------------------------------------------------------------- unmarking


def test_unmark_undoes_a_mark_for_the_filtered_accounts(as_alice, world):
    page = text(as_alice.get(f"{UNMARK}?tier=1"))
    assert "Unmark 2 accounts as targets?" in page
    r = as_alice.post(f"{UNMARK}apply/?tier=1", {"as_of": "2025-03-31"}, follow=True)
    assert "Unmarked 2 target accounts (0 others were not targets)." in text(r)
    assert targets() == ["Globex"]
    assert tiers()["Acme"] == 1


# ---------------------------------------------------------------------------- who may


@pytest.mark.parametrize("user", ["bob", "charlie"])
@pytest.mark.parametrize("url", [MARK, UNMARK])
def test_sales_and_executives_get_403(client, world, request, user, url):
    client.force_login(request.getfixturevalue(user))
    assert client.get(url).status_code == 403
    assert client.post(f"{url}apply/", {"as_of": "2025-03-31"}).status_code == 403
    assert targets() == ["Acme", "Globex", "Initech"]


def test_admins_may_mark(client, world, ada):
    client.force_login(ada)
    assert client.get(MARK).status_code == 200
    client.post(f"{MARK}apply/", {"as_of": "2025-03-31"})
    assert len(targets()) == 4


def test_marking_needs_a_post_with_a_csrf_token(as_alice, world, alice):
    assert as_alice.get(f"{MARK}apply/").status_code == 405
    assert as_alice.post(MARK).status_code == 405
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(f"{MARK}apply/", {"as_of": "2025-03-31"}).status_code == 403
    assert targets() == ["Acme", "Globex", "Initech"]


# ---------------------------------------------------------------------------- before the first metrics run


@pytest.fixture
def imported(db, bob) -> list[Account]:
    """A fresh CRM import: no targets, no snapshots."""
    enterprise = Segment.objects.create(name="Enterprise")
    accounts = [
        Account.objects.create(name="Acme", domain="acme.example", tier=1, owner=bob),
        Account.objects.create(name="Globex", domain="globex.example", tier=2, owner=bob),
        Account.objects.create(name="Initech", domain="initech.example", tier=1),
    ]
    enterprise.accounts.add(accounts[0], accounts[1])
    return accounts


def test_with_no_metrics_the_list_links_to_marking(as_alice, imported):
    html = as_alice.get("/accounts/").content.decode()
    assert "No metrics yet" in html
    assert f'href="{MARK}"' in html


def test_with_no_metrics_the_account_filters_apply_to_every_account(as_alice, imported, bob):
    page = text(as_alice.get(f"{MARK}?tier=1"))
    assert "Mark 2 accounts as targets?" in page
    assert "No metrics have been computed yet" in page
    assert "Mark 1 account as a target?" in text(as_alice.get(f"{MARK}?tier=1&owner={bob.pk}"))
    # Filters on a day's figures match nothing before there are figures.
    assert "No accounts match these filters" in text(as_alice.get(f"{MARK}?stage=engaged"))
    segment = Segment.objects.get(name="Enterprise").pk
    r = as_alice.post(f"{MARK}apply/?segment={segment}", {"as_of": "", "tier": "1"}, follow=True)
    assert "Marked 2 accounts as targets (0 already were)." in text(r)
    assert targets() == ["Acme", "Globex"]
    assert tiers() == {"Acme": 1, "Globex": 1, "Initech": 1}
