"""The rep behind a touch (`performed_by`, by email) through the CSV import and the bulk API, and
the outbound kinds a Salesforce export gives (call attempts, sales emails)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rest_framework.test import APIClient

from accounts.models import Account, Touchpoint
from imports.services import import_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(db) -> Account:
    return Account.objects.create(name="Acme", domain="acme.com", external_id="A1", is_target=True)


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "touches.csv"
    path.write_text(text, encoding="utf-8")
    return path


NATIVE = "external_id,source,kind,occurred_at,account_external_id,minutes,performed_by\n"


def test_native_import_stores_the_rep_by_email_whatever_its_case(tmp_path, acme, bob):
    result = import_csv(kind="touchpoints", path=_file(tmp_path, NATIVE + (
        "t1,dialer,call_attempt,2024-03-01T10:00:00Z,A1,,BOB@Example.com\n"
        "t2,dialer,call_connected,2024-03-01T11:00:00Z,A1,7.5,bob@example.com\n"
        "t3,web,web_visit,2024-03-01T12:00:00Z,A1,,\n"
    )))
    assert result.ok, result.errors
    stored = dict(Touchpoint.objects.values_list("external_id", "performed_by__username"))
    assert stored == {"t1": "bob", "t2": "bob", "t3": None}


def test_an_unknown_or_malformed_rep_email_is_a_row_error_and_nothing_is_written(tmp_path, acme, bob):
    result = import_csv(kind="touchpoints", path=_file(tmp_path, NATIVE + (
        "t1,dialer,call_attempt,2024-03-01T10:00:00Z,A1,,bob@example.com\n"
        "t2,dialer,call_attempt,2024-03-01T10:05:00Z,A1,,nobody@example.com\n"
        "t3,dialer,sales_email,2024-03-01T10:06:00Z,A1,,not an email\n"
    )))
    assert not result.ok
    # Line numbers count the header as line 1.
    assert [(e.row, e.column, e.reason) for e in result.errors] == [
        (3, "performed_by", "no user has the email nobody@example.com"),
        (4, "performed_by", "'not an email' is not an email address"),
    ]
    assert Touchpoint.objects.count() == 0


def test_a_reimport_with_another_rep_updates_the_touch(tmp_path, acme, bob, alice):
    line = "t1,dialer,meeting,2024-03-01T10:00:00Z,A1,30,{}\n"
    assert import_csv(kind="touchpoints", path=_file(tmp_path, NATIVE + line.format("bob@example.com"))).created == 1
    result = import_csv(kind="touchpoints", path=_file(tmp_path, NATIVE + line.format("alice@example.com")))
    assert (result.created, result.updated) == (0, 1)
    assert Touchpoint.objects.get().performed_by == alice


SALESFORCE = "Id,AccountId,ActivityDateTime,TaskSubtype,Type,CallDisposition,CallDurationInSeconds,Owner Email\n"


def test_salesforce_tasks_map_the_owner_email_call_results_and_sent_emails(tmp_path, acme, bob):
    result = import_csv(kind="touchpoints", preset="salesforce", path=_file(tmp_path, SALESFORCE + (
        "00T1,A1,2024-03-01T10:00:00Z,Call,Call,No Answer,0,bob@example.com\n"
        "00T2,A1,2024-03-01T10:10:00Z,Call,Call,Left Voicemail,30,bob@example.com\n"
        "00T3,A1,2024-03-01T10:20:00Z,Call,Call,Connected,420,bob@example.com\n"
        "00T4,A1,2024-03-01T10:30:00Z,Email,Email,,,bob@example.com\n"
    )))
    assert result.ok, result.errors
    stored = {t.external_id: (t.kind, t.minutes, t.performed_by.username) for t in Touchpoint.objects.all()}
    # 420 seconds = 7 minutes: a meaningful conversation.
    assert {k: (kind, None if m is None else float(m), who) for k, (kind, m, who) in stored.items()} == {
        "00T1": ("call_attempt", 0.0, "bob"), "00T2": ("call_attempt", 0.5, "bob"),
        "00T3": ("call_connected", 7.0, "bob"), "00T4": ("sales_email", None, "bob"),
    }


def test_an_unknown_salesforce_owner_is_named_by_the_files_column(tmp_path, acme):
    result = import_csv(kind="touchpoints", preset="salesforce", path=_file(tmp_path, SALESFORCE + (
        "00T1,A1,2024-03-01T10:00:00Z,Call,Call,,60,gone@example.com\n"
    )))
    assert [(e.row, e.column, e.reason) for e in result.errors] == [
        (2, "Owner Email", "no user has the email gone@example.com")]


def test_the_bulk_api_takes_performed_by_and_rejects_an_unknown_one(acme, alice, bob):
    api = APIClient()
    api.force_authenticate(alice)
    touch = {"external_id": "t1", "source": "dialer", "kind": "call_attempt", "occurred_at": "2024-03-01T10:00:00Z",
             "account_external_id": "A1", "performed_by": "nobody@example.com"}
    response = api.post("/api/v1/touchpoints/bulk", {"touchpoints": [touch]}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 0, "field": "performed_by", "reason": "no user has the email nobody@example.com"}]
    assert Touchpoint.objects.count() == 0
    touch["performed_by"] = "Bob@Example.com"
    assert api.post("/api/v1/touchpoints/bulk", {"touchpoints": [touch]}, format="json").json()["created"] == 1
    assert Touchpoint.objects.get().performed_by == bob
