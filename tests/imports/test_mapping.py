"""Mapping options: a file in its own column layout goes in with --map, --set, --multiply, a mapping
file or a saved profile; every bad option rejects the file before anything is written."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Account, Opportunity
from imports.mapping import UserMapping, load_mapping_file
from imports.models import ImportProfile
from imports.profiles import profile_save
from tests.imports.conftest import table_counts

pytestmark = pytest.mark.django_db

# A CRM report: account names, a sector, revenue in millions. No column has one of our names.
REPORT = "company,sector,revenue\nAcme,Software,1.5\n"


def _import(kind: str, path: Path, *options: str) -> str:
    """Run the command; its output."""
    out = io.StringIO()
    call_command("import_csv", kind, str(path), *options, stdout=out)
    return out.getvalue()


def _refused(kind: str, path: Path, *options: str) -> str:
    """Run the command expecting it to refuse; its message. Nothing may have been written."""
    before = table_counts()
    with pytest.raises(CommandError) as refused:
        _import(kind, path, *options)
    assert table_counts() == before
    return str(refused.value)


@pytest.fixture
def acme(db) -> Account:
    return Account.objects.create(name="Acme", domain="acme.com", external_id="A1")


# --- --map, --set, --multiply -----------------------------------------------------------------------

def test_one_column_feeds_two_fields(csv_file):
    _import("accounts", csv_file(REPORT), "--map", "external_id=company", "--map", "name=company")
    assert Account.objects.values_list("external_id", "name").get() == ("Acme", "Acme")


def test_set_fills_blank_cells_and_a_field_without_a_column_but_a_cell_wins(csv_file, acme):
    # GBP rather than USD: a blank currency is USD anyway, so USD would not show the constant at work.
    deals = csv_file("deal_id,account,opened,price,cur\n"
                     "D1,Acme,2024-01-05,100,\n"
                     "D2,Acme,2024-01-06,200,EUR\n", name="deals.csv")
    _import("opportunities", deals, "--map", "external_id=deal_id", "--map", "account_name=account",
            "--map", "created_at=opened", "--map", "amount=price", "--map", "currency=cur", "--set", "currency=GBP")
    no_currency_column = csv_file("deal_id,account,opened\nD3,Acme,2024-01-07\n", name="more-deals.csv")
    _import("opportunities", no_currency_column, "--map", "external_id=deal_id", "--map", "account_name=account",
            "--map", "created_at=opened", "--set", "currency=GBP")
    assert dict(Opportunity.objects.values_list("external_id", "currency")) == {"D1": "GBP", "D2": "EUR", "D3": "GBP"}


def test_multiply_revenue_given_in_millions(csv_file):
    _import("accounts", csv_file(REPORT), "--map", "name=company", "--map", "annual_revenue=revenue",
            "--multiply", "annual_revenue=1000000")
    assert Account.objects.get().annual_revenue == Decimal("1500000.00")


def test_multiplied_employees_must_come_out_whole(csv_file):
    path = csv_file("company,staff\nAcme,2.5\nBeta,2.0005\n")
    options = ("--map", "name=company", "--map", "employees=staff", "--multiply", "employees=1000")
    before = table_counts()
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"^Rejected: 1 error\(s\) in 1 row\(s\); nothing was written\.$"):
        call_command("import_csv", "accounts", str(path), *options, stdout=out)
    # 2.0005 × 1000 = 2000.5; the column is named as the file names it.
    assert "  row 3, column staff: '2.0005' is not a whole number\n" in out.getvalue()
    assert table_counts() == before

    _import("accounts", csv_file("company,staff\nAcme,2.5\n"), *options)
    assert Account.objects.get().employees == 2500


def test_map_without_a_column_drops_the_presets_guess(csv_file):
    # The native preset reads `domain`; the user says the file has no domain worth keeping.
    _import("accounts", csv_file("external_id,name,domain\nA1,Acme,acme.com\n"), "--map", "domain=")
    assert Account.objects.values_list("external_id", "name", "domain").get() == ("A1", "Acme", None)


def test_a_mapping_file_is_the_same_as_the_options(csv_file, tmp_path):
    mapping = tmp_path / "report.json"
    mapping.write_text(json.dumps({
        "map": {"name": "company", "industry": "sector", "annual_revenue": "revenue"},
        "set": {"country": "Germany"},
        "multiply": {"annual_revenue": 1000000},
    }))
    options = ("--map", "name=company", "--map", "industry=sector", "--map", "annual_revenue=revenue",
               "--set", "country=Germany", "--multiply", "annual_revenue=1000000")
    assert load_mapping_file(mapping) == UserMapping.from_options(
        maps=list(options[1:6:2]), sets=[options[7]], multiplies=[options[9]])

    path = csv_file(REPORT)
    _import("accounts", path, "--mapping", str(mapping))
    acme = Account.objects.get()
    assert (acme.name, acme.industry, acme.annual_revenue, acme.country) == (
        "Acme", "Software", Decimal("1500000.00"), "Germany")
    # The same file again with the options: the very same values, so nothing changes.
    assert "Imported 1 row(s): 0 created, 0 updated, 1 unchanged, 0 rejected." in _import("accounts", path, *options)


def test_options_override_the_mapping_file(csv_file, tmp_path):
    mapping = tmp_path / "report.json"
    mapping.write_text(json.dumps({"map": {"name": "company", "annual_revenue": "revenue"},
                                   "multiply": {"annual_revenue": 1000}}))
    path = csv_file("company,legal_name,revenue\nAcme,Acme GmbH,1.5\n")
    _import("accounts", path, "--mapping", str(mapping), "--map", "name=legal_name",
            "--multiply", "annual_revenue=1000000")
    assert Account.objects.values_list("name", "annual_revenue").get() == ("Acme GmbH", Decimal("1500000.00"))


# --- bad options: a clear message, nothing written --------------------------------------------------

def test_unknown_field_lists_the_kinds_fields(csv_file, acme):
    assert _refused("accounts", csv_file(REPORT), "--map", "name=company", "--map", "colour=sector") == (
        "Rejected: map colour: accounts have no field 'colour'. Fields: annual_revenue, country, domain, employees, "
        "external_id, industry, is_target, name, owner_email, segments, tier.")


def test_a_column_the_file_does_not_have_lists_the_files_columns(csv_file, acme):
    assert _refused("accounts", csv_file(REPORT), "--map", "name=firm") == (
        "Rejected: map name=firm: the file has no column 'firm'. Columns: company, sector, revenue.")


@pytest.mark.parametrize("option, message", [
    ("annual_revenue=lots", "--multiply: the multiplier for annual_revenue ('lots') is not a number."),
    ("annual_revenue=0", "--multiply: the multiplier for annual_revenue must be a positive number, not '0'."),
    ("annual_revenue=-2", "--multiply: the multiplier for annual_revenue must be a positive number, not '-2'."),
    ("annual_revenue=NaN", "--multiply: the multiplier for annual_revenue must be a positive number, not 'NaN'."),
    ("annual_revenue=", "--multiply 'annual_revenue=': write FIELD=VALUE, e.g. --multiply annual_revenue=1000000."),
])
def test_a_multiplier_must_be_a_positive_number(csv_file, acme, option, message):
    assert _refused("accounts", csv_file(REPORT), "--map", "name=company", "--multiply", option) == message


@pytest.mark.parametrize("option, message", [
    ("name", "--map 'name': write FIELD=VALUE, e.g. --map name=account."),
    ("=company", "--map '=company': write FIELD=VALUE, e.g. --map name=account."),
])
def test_map_needs_field_equals_column(csv_file, acme, option, message):
    assert _refused("accounts", csv_file(REPORT), "--map", option) == message


def test_set_needs_field_equals_value(csv_file, acme):
    assert _refused("accounts", csv_file(REPORT), "--map", "name=company", "--set", "Germany") == (
        "--set 'Germany': write FIELD=VALUE, e.g. --set currency=USD.")


def test_only_numbers_can_be_multiplied(csv_file, acme):
    assert _refused("accounts", csv_file(REPORT), "--map", "name=company", "--multiply", "industry=2") == (
        "Rejected: multiply industry: only numbers can be multiplied (annual_revenue, employees).")


def test_a_mapping_file_that_is_not_json_names_the_line(csv_file, tmp_path, acme):
    mapping = tmp_path / "report.json"
    mapping.write_text('{\n  "map": {"name": "company"},\n  "set": {country: "DE"}\n}\n')
    assert _refused("accounts", csv_file(REPORT), "--mapping", str(mapping)) == (
        f"The mapping file {mapping} is not valid JSON (line 3: Expecting property name enclosed in double quotes).")


@pytest.mark.parametrize("content, message", [
    ({"maps": {"name": "company"}}, "The mapping file report.json has unknown keys maps: use map, set and multiply."),
    (["name", "company"], "The mapping file report.json must be a JSON object with the keys map, set and multiply."),
    ({"map": {"name": 3}}, "The mapping file report.json: map.name must be a column name or a list of column names."),
    ({"map": {"name": "company"}, "set": {"is_target": True}},
     "The mapping file report.json: set.is_target must be a text or a number."),
])
def test_a_mapping_file_of_the_wrong_shape(csv_file, tmp_path, acme, content, message):
    mapping = tmp_path / "report.json"
    mapping.write_text(json.dumps(content))
    assert _refused("accounts", csv_file(REPORT), "--mapping", str(mapping)) == message


# --- profiles ---------------------------------------------------------------------------------------

def _profile(name: str, kind: str, header: list[str]) -> ImportProfile:
    return profile_save(name=name, kind=kind, preset="auto", header=header,
                        mapping=UserMapping(map={"name": [header[0]]}), user=None)


def test_an_unknown_profile_names_the_profiles_of_the_kind(csv_file, acme):
    _profile("Old CRM accounts", "accounts", ["firm"])
    _profile("CRM accounts", "accounts", ["company", "sector", "revenue"])
    profile_save(name="CRM contacts", kind="contacts", preset="auto", header=["mail"],
                 mapping=UserMapping(map={"email": ["mail"]}), user=None)
    assert _refused("accounts", csv_file(REPORT), "--profile", "CRM acounts") == (
        "No import profile is named 'CRM acounts' (profiles for accounts: CRM accounts, Old CRM accounts).")
    assert _refused("accounts", csv_file(REPORT), "--profile", "CRM contacts") == (
        "The profile 'CRM contacts' is for contacts, not accounts.")


def test_an_unknown_profile_when_there_is_none(csv_file):
    assert _refused("accounts", csv_file(REPORT), "--profile", "CRM") == (
        "No import profile is named 'CRM' (profiles for accounts: none yet).")


def test_a_saved_profile_is_chosen_by_the_same_header_only(csv_file):
    options = ("--map", "name=firm", "--map", "industry=branche", "--map", "annual_revenue=umsatz_m",
               "--multiply", "annual_revenue=1000000")
    out = _import("accounts", csv_file("firm,branche,umsatz_m\nAcme,Software,1.5\n", name="january.csv"),
                  *options, "--save-profile", "German CRM")
    assert "Saved the mapping as profile 'German CRM'." in out

    # Next month's file: other rows, the same header (in other capitals). No option needed.
    out = _import("accounts", csv_file("FIRM,Branche,Umsatz_M\nBeta,Hardware,2.25\n", name="february.csv"))
    assert "profile: German CRM" in out and "Imported 1 row(s): 1 created" in out
    assert Account.objects.values_list("name", "industry", "annual_revenue").get(name="Beta") == (
        "Beta", "Hardware", Decimal("2250000.00"))

    # A column more: another layout, so the profile is not used and `firm` means nothing to the presets.
    message = _refused("accounts", csv_file("firm,branche,umsatz_m,notes\nGamma,Retail,3,\n", name="march.csv"))
    assert message.startswith("Rejected: The columns do not look like accounts") and "Missing: name" in message
    assert set(Account.objects.values_list("name", flat=True)) == {"Acme", "Beta"}
