"""REST API v1: role permissions, the shared validation rules, bulk touchpoints, read-only metrics."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Account, Contact, Opportunity, Program, Touchpoint
from metrics.models import AccountSnapshot, MetricsRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def acme(db) -> Account:
    return Account.objects.create(name="Acme", domain="acme.com", external_id="A1")


def _as(api: APIClient, user: User) -> APIClient:
    api.force_authenticate(user)
    return api


# --- permissions -------------------------------------------------------------------------------------

def test_anonymous_gets_401(api):
    assert api.get("/api/v1/accounts/").status_code == 401
    assert api.post("/api/v1/touchpoints/bulk", {"touchpoints": []}, format="json").status_code == 401


@pytest.mark.parametrize("user", ["alice", "bob", "charlie", "ada"])
def test_everyone_logged_in_reads(api, request, user, acme):
    response = _as(api, request.getfixturevalue(user)).get("/api/v1/accounts/")
    assert response.status_code == 200 and response.json()["results"][0]["name"] == "Acme"


@pytest.mark.parametrize("user", ["bob", "charlie"])
def test_sales_and_executives_may_not_write(api, request, user, acme):
    client = _as(api, request.getfixturevalue(user))
    assert client.post("/api/v1/accounts/", {"name": "New"}, format="json").status_code == 403
    assert client.patch(f"/api/v1/accounts/{acme.pk}/", {"name": "X"}, format="json").status_code == 403
    assert client.post("/api/v1/touchpoints/bulk", {"touchpoints": []}, format="json").status_code == 403
    assert Account.objects.get().name == "Acme"


def test_token_auth(api, alice):
    response = api.post("/api/v1/auth/token/", {"username": "alice", "password": "pw-alice"}, format="json")
    token = response.json()["token"]
    assert token == Token.objects.get(user=alice).key
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/accounts/").status_code == 200


# --- writes use the import's rules ----------------------------------------------------------------------

def test_create_account_normalises_and_creates_owner_like_the_import(api, alice):
    response = _as(api, alice).post("/api/v1/accounts/", {
        "name": "Beta", "domain": "https://www.Beta.io/about", "tier": 2, "owner_email": "rep@example.com",
    }, format="json")
    assert response.status_code == 201, response.json()
    beta = Account.objects.get(name="Beta")
    assert (beta.domain, beta.tier, beta.owner.email, beta.owner.is_active) == ("beta.io", 2, "rep@example.com", False)


def test_invalid_domain_and_duplicate_are_400(api, alice, acme):
    client = _as(api, alice)
    assert client.post("/api/v1/accounts/", {"name": "X", "domain": "n/a"}, format="json").json() == {
        "domain": ["'n/a' is not a web address or domain"]}
    assert client.post("/api/v1/accounts/", {"name": "X", "domain": "acme.com"}, format="json").json() == {
        "domain": ["acme.com already belongs to another account"]}


def test_contact_created_without_account_is_matched_by_domain(api, alice, acme):
    response = _as(api, alice).post("/api/v1/contacts/", {"email": "Ann@ACME.com", "title": "VP Sales"},
                                    format="json")
    assert response.status_code == 201
    assert (response.json()["account"], response.json()["seniority_level"]) == (acme.pk, "vp")


def test_opportunity_stage_sets_closed_and_won_and_needs_a_close_date(api, alice, acme):
    client = _as(api, alice)
    base = {"account": acme.pk, "name": "Deal", "amount": "1000.00", "created_at": "2024-01-05T00:00:00Z"}
    assert client.post("/api/v1/opportunities/", {**base, "stage": "Closed Won"}, format="json").json() == {
        "closed_at": ["is required for a closed opportunity"]}
    response = client.post("/api/v1/opportunities/", {**base, "stage": "closedwon",
                                                      "closed_at": "2024-02-01T00:00:00Z"}, format="json")
    assert response.status_code == 201
    deal = Opportunity.objects.get()
    assert (deal.is_closed, deal.is_won) == (True, True)


def test_update_program(api, alice):
    program = Program.objects.create(name="Webinar", channel="webinar")
    response = _as(api, alice).patch(f"/api/v1/programs/{program.pk}/", {"end_date": "2024-01-01",
                                                                          "start_date": "2024-02-01"}, format="json")
    assert response.json() == {"end_date": ["is before start_date"]}
    response = api.patch(f"/api/v1/programs/{program.pk}/", {"cost": "500.00"}, format="json")
    assert response.status_code == 200 and response.json()["effective_success_kinds"] == ["webinar_attended"]


def test_list_filters(api, bob, acme):
    Account.objects.create(name="Other", is_target=True)
    assert [a["name"] for a in _as(api, bob).get("/api/v1/accounts/?is_target=true").json()["results"]] == ["Other"]


# --- bulk touchpoints ------------------------------------------------------------------------------------

def _touch(i: int, **extra) -> dict:
    return {"external_id": f"t{i}", "source": "web", "kind": "web_visit", "occurred_at": "2024-03-01T10:00:00Z",
            "account_external_id": "A1", **extra}


def test_bulk_is_idempotent(api, alice, acme):
    client = _as(api, alice)
    body = {"touchpoints": [_touch(1), _touch(2, kind="email_open")]}
    assert client.post("/api/v1/touchpoints/bulk", body, format="json").json() == {
        "received": 2, "created": 2, "updated": 0, "unchanged": 0}
    assert client.post("/api/v1/touchpoints/bulk", body, format="json").json() == {
        "received": 2, "created": 0, "updated": 0, "unchanged": 2}
    body["touchpoints"][1]["kind"] = "email_click"
    assert client.post("/api/v1/touchpoints/bulk", body, format="json").json()["updated"] == 1
    assert Touchpoint.objects.count() == 2


def test_bulk_is_all_or_nothing_with_per_item_errors(api, alice, acme):
    Contact.objects.create(email="ann@acme.com", account=acme)
    body = {"touchpoints": [_touch(1), _touch(2, kind="tweet"), _touch(3, account_external_id=None,
                                                                          contact_email="ann@acme.com")]}
    response = _as(api, alice).post("/api/v1/touchpoints/bulk", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"index": 1, "field": "kind", "reason": '"tweet" is not a valid choice.'}]
    body["touchpoints"][1]["kind"] = "web_visit"
    body["touchpoints"][0]["account_external_id"] = "A404"
    response = api.post("/api/v1/touchpoints/bulk", body, format="json")
    assert response.json()["errors"] == [{"index": 0, "field": "account_external_id", "reason": "unknown account A404"}]
    assert Touchpoint.objects.count() == 0
    body["touchpoints"][0]["account_external_id"] = "A1"
    assert api.post("/api/v1/touchpoints/bulk", body, format="json").json()["created"] == 3
    assert Touchpoint.objects.get(external_id="t3").account == acme  # from the contact


def test_bulk_rejects_duplicates_and_too_many(api, alice, acme):
    client = _as(api, alice)
    response = client.post("/api/v1/touchpoints/bulk", {"touchpoints": [_touch(1), _touch(1)]}, format="json")
    assert response.json()["errors"] == [
        {"index": 1, "field": "external_id", "reason": "duplicate (source, external_id): already in row 0"}]
    response = client.post("/api/v1/touchpoints/bulk", {"touchpoints": [_touch(1)] * 10_001}, format="json")
    assert response.json()["errors"][0]["reason"] == "10001 items; at most 10000 per request"


# --- metrics ----------------------------------------------------------------------------------------------

def test_account_snapshots_by_account_and_date_range(api, charlie, acme):
    other = Account.objects.create(name="Other")
    for day in (1, 2, 3):
        AccountSnapshot.objects.create(account=acme, as_of=dt.date(2024, 3, day), minutes_90d=day * 10)
    AccountSnapshot.objects.create(account=other, as_of=dt.date(2024, 3, 2))
    for day in (1, 2, 3):
        MetricsRun.objects.create(as_of=dt.date(2024, 3, day), status="done")
    response = _as(api, charlie).get(
        f"/api/v1/metrics/account-snapshots/?account={acme.pk}&as_of_from=2024-03-02&as_of_to=2024-03-03")
    rows = response.json()["results"]
    assert [(r["as_of"], r["minutes_90d"]) for r in rows] == [("2024-03-02", 20.0), ("2024-03-03", 30.0)]
    assert api.post("/api/v1/metrics/account-snapshots/", {}, format="json").status_code == 405
