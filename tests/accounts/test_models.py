"""The model constraints that keep imported data clean."""

from datetime import datetime, timezone

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Account, Contact, Opportunity, Touchpoint
from accounts.services import email_domain, normalise_domain, normalise_email, resolve_seniority

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def acme(db) -> Account:
    return Account.objects.create(name="Acme", domain="acme.com", external_id="001A")


def test_duplicate_domain_is_rejected_with_a_clear_message(acme):
    with pytest.raises(ValidationError) as err:
        Account(name="Acme again", domain="acme.com").full_clean()
    assert err.value.message_dict["domain"] == ["Account with this Domain already exists."]
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(name="Acme again", domain="acme.com")


def test_duplicate_account_external_id_is_rejected(acme):
    with pytest.raises(ValidationError) as err:
        Account(name="Other", domain="other.com", external_id="001A").full_clean()
    assert "external_id" in err.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(name="Other", domain="other.com", external_id="001A")


def test_accounts_without_domain_or_external_id_do_not_collide(db):
    Account.objects.create(name="No domain 1")
    Account.objects.create(name="No domain 2")
    assert Account.objects.count() == 2


def test_duplicate_email_is_rejected_even_in_another_case(acme):
    Contact.objects.create(account=acme, email="jo@acme.com")
    with pytest.raises(ValidationError) as err:
        Contact(account=acme, email="jo@acme.com").full_clean()
    assert err.value.message_dict["email"] == ["Contact with this Email already exists."]
    # A write path that forgot to normalise still cannot create a second Jo.
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(account=acme, email="JO@acme.com")


def test_touchpoint_external_id_is_unique_per_source(acme):
    Touchpoint.objects.create(account=acme, kind="web_visit", occurred_at=WHEN, source="hubspot", external_id="e1")
    # The same id from another source is a different activity.
    Touchpoint.objects.create(account=acme, kind="web_visit", occurred_at=WHEN, source="marketo", external_id="e1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Touchpoint.objects.create(account=acme, kind="email_open", occurred_at=WHEN, source="hubspot", external_id="e1")
    assert Touchpoint.objects.count() == 2


def test_a_won_opportunity_must_be_closed_with_a_date(acme):
    with pytest.raises(IntegrityError), transaction.atomic():
        Opportunity.objects.create(account=acme, name="x", created_at=WHEN, is_won=True, is_closed=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        Opportunity.objects.create(account=acme, name="x", created_at=WHEN, is_closed=True, closed_at=None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.Example.com/about?x=1", "example.com"),
        ("EXAMPLE.com.", "example.com"),
        ("http://sub.example.co.uk", "sub.example.co.uk"),
        ("  ", None),
        (None, None),
    ],
)
def test_normalise_domain(raw, expected):
    assert normalise_domain(raw) == expected


def test_normalise_email_and_its_domain():
    assert normalise_email("  Jo.Smith@Example.COM ") == "jo.smith@example.com"
    assert email_domain("Jo@WWW.Example.com") == "example.com"
    assert email_domain("not-an-email") is None


@pytest.mark.parametrize(
    ("seniority", "title", "expected"),
    [
        ("cxo", "Intern", "cxo"),  # the source's field wins over the title
        ("", "Vice President, Sales", "vp"),
        ("", "SVP of Marketing", "other"),  # "svp" is not the word "vp"
        ("", "VP Engineering", "vp"),
        ("", "Chief Revenue Officer", "cxo"),
        ("", "CFO", "cxo"),
        ("", "Co-founder", "cxo"),
        ("", "President", "cxo"),
        ("", "Director of IT", "director"),
        ("", "Head of Data", "director"),
        ("", "Engineering Manager", "manager"),
        ("", "Analyst", "other"),
        (None, None, "other"),
        ("", "cto", "cxo"),  # case-insensitive
    ],
)
def test_resolve_seniority_follows_the_metrics_rules_in_order(seniority, title, expected):
    assert resolve_seniority(seniority=seniority, title=title) == expected


@pytest.mark.django_db
def test_every_saved_contact_gets_its_seniority_level_from_seniority_and_title():
    # Written with the plain ORM (as the admin does), not through the import or the API.
    ceo = Contact.objects.create(email="ceo@acme.test", title="CEO", seniority_level="other")
    assert ceo.seniority_level == "cxo"  # from the title; a level passed in is not trusted
    ceo.title = "Engineering Manager"
    ceo.save(update_fields=["title"])
    ceo.refresh_from_db()
    assert ceo.seniority_level == "manager"  # saved along with the title it follows
    ceo.seniority = "vp"
    ceo.save()
    ceo.refresh_from_db()
    assert ceo.seniority_level == "vp"  # the source's field wins over the title
