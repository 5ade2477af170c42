"""on_error="skip": the valid rows are written, and every bad row goes to the rejected-rows CSV with
its original cells and _row, _column, _reason, to be fixed and imported again (docs/import.md,
"When rows are bad")."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import Account, Contact, Opportunity, Touchpoint
from imports.services import import_csv, summary_line
from tests.imports.conftest import table_counts

pytestmark = pytest.mark.django_db

NOT_A_DATE = "'2024-13-45' is not a date (use ISO 2024-03-05, US 03/05/2024 or EU 05.03.2024)"

ACCOUNTS = ("external_id,name,domain,employees,tier\n"
            "A1,Acme,acme.com,120,1\n"
            "A2,,beta.io,10,\n"               # no name
            "A3,Gamma,gamma.org,lots,9\n"     # two problems in one row
            "A4,Delta,delta.com,,\n"
            "A1,Acme again,acme.org,,\n")     # A1 again: the first one is kept


def _rejected_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


@pytest.fixture
def acme(db) -> Account:
    account = Account.objects.create(name="Acme", domain="acme.com", external_id="A1")
    Contact.objects.create(email="ann@acme.com", account=account)
    return account


# --- each kind ----------------------------------------------------------------------------------------

def test_accounts(csv_file, tmp_path):
    rejected = tmp_path / "accounts.rejected.csv"
    result = import_csv(kind="accounts", path=csv_file(ACCOUNTS), on_error="skip", rejected_path=rejected)
    assert result.ok
    assert (result.rows, result.created, result.updated, result.rejected, result.error_count) == (5, 2, 0, 3, 4)
    assert summary_line(result) == (
        f"Imported 5 row(s): 2 created, 0 updated, 0 unchanged, 3 rejected; rejected rows with their reasons in "
        f"{rejected}.")
    assert sorted(Account.objects.values_list("external_id", "name", "domain")) == [
        ("A1", "Acme", "acme.com"), ("A4", "Delta", "delta.com")]
    assert _rejected_rows(rejected) == [
        ["external_id", "name", "domain", "employees", "tier", "_row", "_column", "_reason"],
        ["A2", "", "beta.io", "10", "", "3", "name", "is required"],
        ["A3", "Gamma", "gamma.org", "lots", "9", "4", "employees; tier",
         "employees: 'lots' is not a whole number; tier: '9' is not 1, 2 or 3"],
        ["A1", "Acme again", "acme.org", "", "", "6", "external_id", "duplicate external_id 'A1': already in row 2"],
    ]


def test_contacts(csv_file, tmp_path, acme):
    rejected = tmp_path / "contacts.rejected.csv"
    result = import_csv(kind="contacts", on_error="skip", rejected_path=rejected, path=csv_file(
        "external_id,email,account_external_id\n"
        "C1,ben@acme.com,A1\n"
        "C2,not-an-email,A1\n"
        "C3,cy@acme.com,A9\n"
        "C4,dee@acme.com,\n"))
    assert (result.ok, result.rows, result.created, result.rejected) == (True, 4, 2, 2)
    assert dict(Contact.objects.values_list("external_id", "account__external_id")) == {
        None: "A1", "C1": "A1", "C4": "A1"}  # Ann (the fixture's) has no external id; Dee is at acme.com
    assert _rejected_rows(rejected)[1:] == [
        ["C2", "not-an-email", "A1", "3", "email", "'not-an-email' is not an email address"],
        ["C3", "cy@acme.com", "A9", "4", "account_external_id", "unknown account A9"],
    ]


def test_opportunities(csv_file, tmp_path, acme):
    rejected = tmp_path / "deals.rejected.csv"
    result = import_csv(kind="opportunities", on_error="skip", rejected_path=rejected, path=csv_file(
        "external_id,account_external_id,amount,created_at\n"
        "O1,A1,100,2024-01-05\n"
        "O2,A1,100,2024-13-45\n"
        "O3,A9,100,2024-01-05\n"
        "O4,A1,lots,2024-13-45\n"
        "O5,A1,250,2024-01-06\n"))
    assert (result.ok, result.rows, result.created, result.rejected) == (True, 5, 2, 3)
    assert sorted(Opportunity.objects.values_list("external_id", flat=True)) == ["O1", "O5"]
    assert _rejected_rows(rejected)[1:] == [
        ["O2", "A1", "100", "2024-13-45", "3", "created_at", NOT_A_DATE],
        ["O3", "A9", "100", "2024-01-05", "4", "account_external_id", "unknown account A9"],
        # Several problems of one row in the file's column order.
        ["O4", "A1", "lots", "2024-13-45", "5", "amount; created_at",
         f"amount: 'lots' is not an amount; created_at: {NOT_A_DATE}"],
    ]


def test_touchpoints_rejected_in_sql_and_in_python(csv_file, tmp_path, acme):
    rejected = tmp_path / "touches.rejected.csv"
    result = import_csv(kind="touchpoints", on_error="skip", rejected_path=rejected, path=csv_file(
        "external_id,source,kind,occurred_at,account_external_id,contact_email\n"
        "t1,web,web_visit,2024-01-05T10:00:00Z,A1,\n"
        "t2,web,web_visit,2024-01-05T11:00:00Z,A9,\n"              # found in SQL: no such account
        "t3,web,email_open,2024-01-05T12:00:00Z,,zed@acme.com\n"  # found in SQL: no such contact
        "t1,web,web_visit,2024-01-06T10:00:00Z,A1,\n"              # found in SQL: t1 again
        "t4,web,web_visit,2024-13-45,A1,\n"                        # found while reading
        "t5,web,email_click,2024-01-05T13:00:00Z,,ann@acme.com\n"))
    assert (result.ok, result.rows, result.created, result.updated, result.rejected) == (True, 6, 2, 0, 4)
    assert summary_line(result) == (
        f"Imported 6 row(s): 2 created, 0 updated, 0 unchanged, 4 rejected; rejected rows with their reasons in "
        f"{rejected}.")
    # The first t1 is stored, not its repeat; t5 takes its contact's account.
    assert {t.external_id: (t.kind, t.occurred_at, t.account_id) for t in Touchpoint.objects.all()} == {
        "t1": ("web_visit", dt.datetime(2024, 1, 5, 10, tzinfo=dt.UTC), acme.pk),
        "t5": ("email_click", dt.datetime(2024, 1, 5, 13, tzinfo=dt.UTC), acme.pk),
    }
    assert [(r[0], r[-3], r[-2], r[-1]) for r in _rejected_rows(rejected)[1:]] == [
        ("t2", "3", "account_external_id", "unknown account A9"),
        ("t3", "4", "contact_email", "unknown contact zed@acme.com"),
        ("t1", "5", "external_id", "duplicate (source, external_id): already in row 2"),
        ("t4", "6", "occurred_at", NOT_A_DATE),
    ]


# --- the rest of the rule -----------------------------------------------------------------------------

def test_by_default_one_bad_row_still_writes_nothing(csv_file, tmp_path):
    before = table_counts()
    rejected = tmp_path / "accounts.rejected.csv"
    result = import_csv(kind="accounts", path=csv_file(ACCOUNTS), rejected_path=rejected)
    assert not result.ok
    assert summary_line(result) == "Rejected: 4 error(s) in 3 row(s); nothing was written."
    assert table_counts() == before
    assert not rejected.exists()


def test_skipping_needs_a_file_for_the_rejected_rows(csv_file):
    before = table_counts()
    result = import_csv(kind="accounts", path=csv_file(ACCOUNTS), on_error="skip")
    assert result.file_error == "Skipping bad rows needs a file for them (--rejected FILE)."
    assert table_counts() == before


def test_an_unknown_on_error_choice_is_refused(csv_file):
    before = table_counts()
    result = import_csv(kind="accounts", path=csv_file(ACCOUNTS), on_error="ignore")
    assert result.file_error == "Unknown on_error 'ignore': use fail (all or nothing) or skip."
    assert table_counts() == before


TOUCHES = ("external_id,source,kind,occurred_at,account_external_id\n"
           "t1,web,web_visit,2024-01-05T10:00:00Z,A1\n"
           "t2,web,web_visit,2024-01-05T11:00:00Z,A9\n")


# Acme (A1) is stored: the accounts file updates it, creates Delta and rejects three rows.
@pytest.mark.parametrize("kind, text, counts", [
    ("accounts", ACCOUNTS, (5, 1, 1, 3)),
    ("touchpoints", TOUCHES, (2, 1, 0, 1)),
])
def test_a_dry_run_that_skips_counts_and_writes_nothing(csv_file, tmp_path, acme, kind, text, counts):
    before = table_counts()
    rejected = tmp_path / "rejected.csv"
    result = import_csv(kind=kind, path=csv_file(text), on_error="skip", rejected_path=rejected, dry_run=True)
    assert table_counts() == before
    assert Account.objects.get(external_id="A1").employees is None
    assert (result.ok, (result.rows, result.created, result.updated, result.rejected)) == (True, counts)
    rows, created, updated, bad = counts
    assert summary_line(result).startswith(
        f"Would write {rows} row(s): {created} created, {updated} updated, 0 unchanged, {bad} rejected; ")
    # The reasons are worth having before the real run: the rejected rows are written all the same.
    assert len(_rejected_rows(rejected)) == 1 + bad


def test_the_command_puts_the_rejected_rows_next_to_the_file(csv_file, capsys):
    path = csv_file(ACCOUNTS, name="crm.csv")
    call_command("import_csv", "accounts", str(path), "--on-error", "skip")
    rejected = path.with_name("crm.rejected.csv")
    assert (f"Imported 5 row(s): 2 created, 0 updated, 0 unchanged, 3 rejected; rejected rows with their reasons in "
            f"{rejected}.") in capsys.readouterr().out
    assert [r[0] for r in _rejected_rows(rejected)] == ["external_id", "A2", "A3", "A1"]
