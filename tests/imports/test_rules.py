"""Import rules: bad input changes nothing and says where; upserts; matching; parsing of dates and amounts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from accounts.models import Account, Contact, Opportunity, Segment, Touchpoint
from accounts.services import csv_safe
from imports import parsing
from imports.services import import_csv
from tests.imports.conftest import table_counts

pytestmark = pytest.mark.django_db

ACCOUNTS = "external_id,name,domain,industry,employees,annual_revenue,country,owner_email,tier,is_target,segments\n"
CONTACTS = "external_id,account_external_id,email,first_name,last_name,title,role,department,seniority,phone,opted_out\n"
OPPS = "external_id,account_external_id,name,amount,currency,stage,type,created_at,closed_at,is_closed,is_won\n"
TOUCHES = ("external_id,source,kind,occurred_at,account_external_id,contact_email,program_external_id,"
           "minutes,score\n")


def _accounts(csv_file, body: str, **kwargs):
    return import_csv(kind="accounts", path=csv_file(ACCOUNTS + body), **kwargs)


@pytest.fixture
def acme(db) -> Account:
    return Account.objects.create(name="Acme", domain="acme.com", external_id="A1")


# --- bad input: nothing written, the error names row, column and reason --------------------------

def _rejected(result, before: dict[str, int]) -> list[tuple[int, str, str]]:
    assert not result.ok
    assert table_counts() == before
    return [(e.row, e.column, e.reason) for e in result.errors]


def test_unknown_column_set_names_the_missing_and_found_columns(csv_file):
    before = table_counts()
    result = import_csv(kind="accounts", path=csv_file("company,web\nAcme,acme.com\n"), preset="native")
    assert result.file_error == (
        "The columns do not look like accounts for the native preset. Missing: name "
        "(column names recognised: name: name). Found: company, web. Map your own columns to these fields "
        "(import_csv --map FIELD=COLUMN, or the mapping step of the import page)."
    )
    assert table_counts() == before


def test_bad_date_is_rejected_with_row_and_column(csv_file, acme):
    before = table_counts()
    result = import_csv(kind="opportunities", path=csv_file(
        OPPS + "O1,A1,Deal,100,USD,Prospecting,new,2024-01-05,,,\n"
               "O2,A1,Deal 2,100,USD,Prospecting,new,2024-13-45,,,\n"))
    assert _rejected(result, before) == [
        (3, "created_at", "'2024-13-45' is not a date (use ISO 2024-03-05, US 03/05/2024 or EU 05.03.2024)")]


def test_unknown_touchpoint_kind(csv_file, acme):
    before = table_counts()
    result = import_csv(kind="touchpoints", path=csv_file(TOUCHES + "t1,web,tweet,2024-01-05T10:00:00Z,A1,,,,\n"))
    errors = _rejected(result, before)
    assert errors[0][:2] == (2, "kind") and errors[0][2].startswith("'tweet' is not one of: email_open")


def test_unknown_kind_of_file(csv_file):
    result = import_csv(kind="leads", path=csv_file(ACCOUNTS + "A1,Acme,acme.com,,,,,,,,\n"))
    assert result.file_error == "Unknown kind 'leads': use one of accounts, contacts, programs, opportunities, touchpoints, targets, stage_history."


def test_missing_required_field(csv_file):
    before = table_counts()
    result = _accounts(csv_file, "A1,,acme.com,,,,,,,,\n")
    assert _rejected(result, before) == [(2, "name", "is required")]


def test_unknown_account(csv_file, acme):
    before = table_counts()
    result = import_csv(kind="contacts", path=csv_file(CONTACTS + "C1,A9,ann@acme.com,Ann,,,,,,,\n"))
    assert _rejected(result, before) == [(2, "account_external_id", "unknown account A9")]


def test_duplicate_key_inside_the_file(csv_file):
    before = table_counts()
    result = _accounts(csv_file, "A1,Acme,acme.com,,,,,,,,\nA2,Other,other.com,,,,,,,,\nA1,Acme again,acme.org,,,,,,,,\n")
    assert _rejected(result, before) == [(4, "external_id", "duplicate external_id 'A1': already in row 2")]


def test_duplicate_touchpoint_inside_the_file(csv_file, acme):
    before = table_counts()
    result = import_csv(kind="touchpoints", path=csv_file(
        TOUCHES + "t1,web,web_visit,2024-01-05T10:00:00Z,A1,,,,\nt1,web,web_visit,2024-01-06T10:00:00Z,A1,,,,\n"))
    assert _rejected(result, before) == [(3, "external_id", "duplicate (source, external_id): already in row 2")]


def test_one_bad_row_among_many_good_ones_writes_nothing(csv_file):
    before = table_counts()
    good = "".join(f"A{i},Account {i},a{i}.com,,,,,,,,\n" for i in range(200))
    result = _accounts(csv_file, good + "B1,Bad,b1.com,,lots,,,,,,\n")
    assert _rejected(result, before) == [(202, "employees", "'lots' is not a whole number")]


def test_errors_are_capped_with_the_total(csv_file):
    result = _accounts(csv_file, "".join(f"A{i},,a{i}.com,,,,,,,,\n" for i in range(150)))
    assert (len(result.errors), result.error_count, result.rejected) == (100, 150, 150)


@pytest.mark.parametrize("text, message", [
    ("", "The file is empty."),
    ("\ufeff\r\n", "The file is empty."),
    (ACCOUNTS, "The file has a header but no data rows."),
])
def test_empty_files(csv_file, text, message):
    result = import_csv(kind="accounts", path=csv_file(text))
    assert result.file_error == message


def test_utf16_is_read(csv_file):
    result = import_csv(kind="accounts", path=csv_file(ACCOUNTS + "A1,Müller AG,acme.com,,,,,,,,\n", encoding="utf-16"))
    assert (result.ok, result.encoding) == (True, "UTF-16 LE with BOM")
    assert Account.objects.get().name == "Müller AG"


def test_latin1_is_detected_and_decoded(csv_file):
    result = import_csv(kind="accounts", path=csv_file(ACCOUNTS + "A1,Société Générale,sg.fr,,,,France,,,,\n",
                                                       encoding="latin-1"))
    assert result.ok and result.encoding.startswith("Windows-1252")
    assert Account.objects.get().name == "Société Générale"


def test_utf8_broken_after_the_sniffed_part_is_rejected(csv_file):
    before = table_counts()
    # 1 MiB of valid UTF-8 rows, then a Latin-1 byte: rejected as a whole with the line.
    rows = "".join(f"A{i},Account {i:06d} padding padding padding,a{i}.com,,,,,,,,\n" for i in range(20000))
    path = csv_file(ACCOUNTS + rows)
    with path.open("ab") as fh:
        fh.write("B1,Soci\u00e9t\u00e9,b.fr,,,,,,,,\n".encode("latin-1"))
    result = import_csv(kind="accounts", path=path)
    offset = len((ACCOUNTS + rows).encode()) + len("B1,Soci")
    assert result.file_error == (
        f"The file is not valid UTF-8: byte 0xe9 at offset {offset} (line 20002). Save it as UTF-8, or pick its encoding.")
    assert table_counts() == before


def test_csv_injection_is_stored_as_text_and_escaped_for_export(csv_file):
    result = _accounts(csv_file, 'A1,"=HYPERLINK(""http://x"")",acme.com,,,,,,,,\nA2,@SUM(1),b.com,,,,,,,,\n')
    assert result.ok
    name = Account.objects.get(external_id="A1").name
    assert name == '=HYPERLINK("http://x")'
    assert csv_safe(name) == '\'=HYPERLINK("http://x")'
    assert [csv_safe(v) for v in ("+1", "-1", "@x", "ok", 5)] == ["'+1", "'-1", "'@x", "ok", 5]


# --- upserts --------------------------------------------------------------------------------------

def test_reimport_is_unchanged_and_a_changed_row_updates(csv_file):
    body = "A1,Acme,acme.com,Software,120,\"$1,234.50\",US,,1,true,Tier 1\nA2,Beta,beta.io,,,,,,,,\n"
    first = _accounts(csv_file, body)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    again = _accounts(csv_file, body)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert Account.objects.count() == 2
    changed = _accounts(csv_file, body.replace("Software,120", "Software,150"))
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 1)
    acme = Account.objects.get(external_id="A1")
    assert (acme.employees, acme.annual_revenue, acme.tier, acme.is_target) == (150, Decimal("1234.50"), 1, True)
    assert list(acme.segments.values_list("name", flat=True)) == ["Tier 1"]


def test_owner_email_names_a_user_or_creates_an_inactive_sales_rep(csv_file):
    bob = User.objects.create_user("bob", "bob@example.com")
    result = _accounts(csv_file, "A1,Acme,acme.com,,,,,BOB@example.com,,,\nA2,Beta,beta.io,,,,,new.rep@example.com,,,\n")
    assert result.users_created == ["new.rep@example.com"]
    assert Account.objects.get(external_id="A1").owner == bob
    rep = Account.objects.get(external_id="A2").owner
    assert (rep.email, rep.is_active, list(rep.groups.values_list("name", flat=True))) == (
        "new.rep@example.com", False, ["sales"])


def test_dry_run_counts_but_writes_nothing(csv_file):
    before = table_counts()
    result = _accounts(csv_file, "A1,Acme,acme.com,,,,,new@example.com,,,\n", dry_run=True)
    assert (result.ok, result.created, result.users_created) == (True, 1, ["new@example.com"])
    assert table_counts() == before


def test_contact_without_account_is_matched_by_email_domain_or_reported(csv_file, acme):
    result = import_csv(kind="contacts", path=csv_file(
        CONTACTS + "C1,,Ann@Acme.com,Ann,Lee,Chief Marketing Officer,champion,,,,no\n"
                   "C2,,zed@nowhere.example,Zed,,,,,,,\n"))
    assert result.ok
    ann = Contact.objects.get(external_id="C1")
    assert (ann.email, ann.account, ann.role, ann.seniority_level) == ("ann@acme.com", acme, "champion", "cxo")
    assert (result.contacts_unmatched, result.unmatched_examples) == (1, ["zed@nowhere.example"])
    assert Contact.objects.get(external_id="C2").account is None


def test_reimporting_contacts_without_an_account_keeps_the_account_they_have(csv_file, acme):
    # Bob's address is not at acme.com: he was put at Acme by hand (or by the API).
    Contact.objects.create(external_id="C9", email="bob@gmail.example", account=acme)
    no_column = "external_id,email,first_name\nC9,bob@gmail.example,Bob\n"
    blank_cell = CONTACTS + "C9,,bob@gmail.example,Bob,,,,,,,\n"
    for text in (no_column, blank_cell):
        result = import_csv(kind="contacts", path=csv_file(text))
        assert result.ok, result.errors
        assert Contact.objects.get(external_id="C9").account == acme  # not moved off by the domain rule
        assert result.contacts_unmatched == 0


def test_touchpoint_with_only_a_contact_email_gets_the_contacts_account(csv_file, acme):
    Contact.objects.create(email="ann@acme.com", account=acme)
    result = import_csv(kind="touchpoints", path=csv_file(
        TOUCHES + "t1,web,web_visit,2024-01-05T10:00:00+02:00,,ANN@acme.com,,3.5,\n"))
    assert result.ok, result.errors
    touch = Touchpoint.objects.get()
    assert (touch.account, touch.contact.email, touch.minutes) == (acme, "ann@acme.com", Decimal("3.50"))
    assert touch.occurred_at == dt.datetime(2024, 1, 5, 8, 0, tzinfo=dt.UTC)


def test_touchpoint_whose_contact_has_no_account_is_rejected(csv_file):
    Contact.objects.create(email="zed@nowhere.example")
    result = import_csv(kind="touchpoints", path=csv_file(
        TOUCHES + "t1,web,web_visit,2024-01-05,,zed@nowhere.example,,,\n"))
    assert [(e.row, e.column) for e in result.errors] == [(2, "account_external_id")]
    assert Touchpoint.objects.count() == 0


def test_changed_touchpoint_updates_and_identical_one_is_unchanged(csv_file, acme):
    body = "t1,web,web_visit,2024-01-05T10:00:00Z,A1,,,,\nt2,web,email_open,2024-01-05T11:00:00Z,A1,,,,\n"
    import_csv(kind="touchpoints", path=csv_file(TOUCHES + body))
    result = import_csv(kind="touchpoints", path=csv_file(TOUCHES + body.replace("email_open", "email_click")))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    assert Touchpoint.objects.get(external_id="t2").kind == "email_click"


def test_a_file_without_an_amount_column_keeps_the_stored_amounts(csv_file, acme):
    assert import_csv(kind="opportunities", path=csv_file(OPPS + "O1,A1,Deal,5000,USD,Negotiation,,2024-01-15,,,\n")).ok
    # The same deal from an export without Amount: its name changes, its 5,000 stays.
    result = import_csv(kind="opportunities", path=csv_file(
        "external_id,account_external_id,name,stage,created_at\nO1,A1,Renamed deal,Negotiation,2024-01-15\n"))
    assert result.ok, result.errors
    deal = Opportunity.objects.get(external_id="O1")
    assert (deal.name, deal.amount) == ("Renamed deal", Decimal("5000.00"))


def test_opportunity_stages_map_to_closed_and_won(csv_file, acme):
    result = import_csv(kind="opportunities", path=csv_file(
        OPPS + "O1,A1,Won deal,\"1.234,50 €\",,Closed/Won,,01/15/2024,15.02.2024,,\n"
               "O2,A1,Lost deal,100,USD,closedlost,,2024-01-15,2024-02-01,,\n"
               "O3,A1,Open deal,100,USD,Negotiation,,2024-01-15,,,\n"))
    assert result.ok, result.errors
    won = Opportunity.objects.get(external_id="O1")
    # 1.234,50 € → 1234.50 EUR; 01/15/2024 is US (slashes), 15.02.2024 is EU (dots).
    assert (won.amount, won.currency, won.is_closed, won.is_won) == (Decimal("1234.50"), "EUR", True, True)
    assert (won.created_at.date(), won.closed_at.date()) == (dt.date(2024, 1, 15), dt.date(2024, 2, 15))
    lost = Opportunity.objects.get(external_id="O2")
    assert (lost.is_closed, lost.is_won) == (True, False)
    assert Opportunity.objects.get(external_id="O3").is_closed is False


def test_closed_opportunity_without_a_close_date_is_an_error(csv_file, acme):
    result = import_csv(kind="opportunities", path=csv_file(OPPS + "O1,A1,Deal,100,USD,Closed Won,,2024-01-15,,,\n"))
    assert [(e.row, e.column, e.reason) for e in result.errors] == [
        (2, "closed_at", "is required for a closed opportunity")]


def test_segment_membership_is_added_never_removed(csv_file):
    _accounts(csv_file, "A1,Acme,acme.com,,,,,,,,Target;EMEA\n")
    result = _accounts(csv_file, "A1,Acme,acme.com,,,,,,,,Target;APAC\n")
    assert (result.updated, result.unchanged) == (1, 0)
    assert sorted(Segment.objects.get(name=n).accounts.count() for n in ("Target", "EMEA", "APAC")) == [1, 1, 1]


def test_the_command_prints_errors_and_fails(csv_file):
    path = csv_file(ACCOUNTS + "A1,,acme.com,,,,,,,,\n")
    with pytest.raises(CommandError, match="1 error"):
        call_command("import_csv", "accounts", str(path))


def test_the_command_imports(csv_file, capsys):
    call_command("import_csv", "accounts", str(csv_file(ACCOUNTS + "A1,Acme,acme.com,,,,,,,,\n")), "--preset", "native")
    assert "Imported 1 row(s): 1 created, 0 updated, 0 unchanged, 0 rejected." in capsys.readouterr().out


# --- values ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("2024-03-05", dt.datetime(2024, 3, 5, tzinfo=dt.UTC)),
    ("2024-03-05T14:30:00Z", dt.datetime(2024, 3, 5, 14, 30, tzinfo=dt.UTC)),
    ("2024-03-05 14:30:00.250", dt.datetime(2024, 3, 5, 14, 30, 0, 250000, tzinfo=dt.UTC)),
    ("2024-03-05T14:30:00+02:00", dt.datetime(2024, 3, 5, 12, 30, tzinfo=dt.UTC)),
    ("2020-05-15 22:18:25 UTC", dt.datetime(2020, 5, 15, 22, 18, 25, tzinfo=dt.UTC)),
    ("03/05/2024", dt.datetime(2024, 3, 5, tzinfo=dt.UTC)),
    ("3/5/2024 2:30 PM", dt.datetime(2024, 3, 5, 14, 30, tzinfo=dt.UTC)),
    ("05.03.2024", dt.datetime(2024, 3, 5, tzinfo=dt.UTC)),
    ("05.03.2024 14:30", dt.datetime(2024, 3, 5, 14, 30, tzinfo=dt.UTC)),
])
def test_dates(text, expected):
    assert parsing.parse_datetime(text, dt.UTC) == expected


def test_naive_dates_are_in_the_chosen_time_zone():
    berlin = parsing.parse_datetime("2024-07-01 12:00", ZoneInfo("Europe/Berlin"))
    assert berlin.astimezone(dt.UTC) == dt.datetime(2024, 7, 1, 10, 0, tzinfo=dt.UTC)  # CEST = UTC+2


@pytest.mark.parametrize("text, amount, currency", [
    ("$1,234.50", Decimal("1234.50"), "USD"),
    ("1.234,50 €", Decimal("1234.50"), "EUR"),
    ("1,234", Decimal("1234"), None),
    ("12,5", Decimal("12.5"), None),
    ("1.234.567", Decimal("1234567"), None),
    ("GBP 99.99", Decimal("99.99"), "GBP"),
    ("(250.00)", Decimal("-250.00"), None),
])
def test_amounts(text, amount, currency):
    assert parsing.parse_amount(text) == (amount, currency)
