"""How a contact, an opportunity or a touchpoint names its account: by CRM id, by domain (a web
address will do) or by name, case-insensitively; the first one the row gives wins. Unknown and
ambiguous references are row errors in the file's own column names (docs/import.md, "Naming the account")."""

from __future__ import annotations

import pytest

from accounts.models import Account, Contact, Opportunity, Touchpoint
from imports.mapping import UserMapping
from imports.services import import_csv
from tests.imports.conftest import table_counts

pytestmark = pytest.mark.django_db

REFS = "account_external_id,account_domain,account_name"
# Per kind: the header, and a row from (key, account id, account domain, account name).
LAYOUTS = {
    "contacts": (f"email,{REFS}\n", lambda key, ext, domain, name: f"{key}@mail.example,{ext},{domain},{name}\n"),
    "opportunities": (f"external_id,{REFS},created_at\n",
                      lambda key, ext, domain, name: f"{key},{ext},{domain},{name},2024-01-05\n"),
    "touchpoints": (f"external_id,source,kind,occurred_at,{REFS}\n",
                    lambda key, ext, domain, name: f"{key},web,web_visit,2024-01-05T10:00:00Z,{ext},{domain},{name}\n"),
}
KINDS = list(LAYOUTS)


def _import(csv_file, kind: str, rows: list[tuple[str, str, str, str]]):
    header, row = LAYOUTS[kind]
    return import_csv(kind=kind, path=csv_file(header + "".join(row(*r) for r in rows)))


def _accounts_by_key(kind: str) -> dict[str, str]:
    """What was stored: the row's key → the name of the account it went to."""
    if kind == "contacts":
        return {c.email.split("@")[0]: c.account.name for c in Contact.objects.select_related("account")}
    model = Opportunity if kind == "opportunities" else Touchpoint
    return {o.external_id: o.account.name for o in model.objects.select_related("account")}


@pytest.fixture
def accounts(db) -> None:
    Account.objects.create(name="Acme", external_id="A1", domain="acme.com")
    Account.objects.create(name="Beta Corp", external_id="B1", domain="beta.io")
    Account.objects.create(name="Gamma", domain="gamma.org")


@pytest.fixture
def two_acmes(db) -> None:
    Account.objects.create(name="Acme", external_id="A1", domain="acme.com")
    Account.objects.create(name="ACME", domain="acme.de")


CANDIDATES = "matches 2 accounts: Acme (id A1, domain acme.com); ACME (id -, domain acme.de); "
# Messages quote the name as the row wrote it.
TWO_ACMES = f"the name 'Acme' {CANDIDATES}name the account by account_external_id or account_domain instead"
# An accounts file has no account_* columns: its rows are told apart by their own keys.
TWO_ACMES_IN_ACCOUNTS = f"the name 'acme' {CANDIDATES}give the row an external_id or a domain to tell them apart"


# --- found by id, domain or name --------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_the_account_is_named_by_id_domain_or_name(csv_file, accounts, kind):
    result = _import(csv_file, kind, [
        ("by-id", "B1", "", ""),
        ("by-domain", "", "https://www.Acme.com/about", ""),  # a web address: its domain, acme.com
        ("by-name", "", "", "gAMMA"),  # the name, whatever its capitals
    ])
    assert result.ok, result.errors
    assert _accounts_by_key(kind) == {"by-id": "Beta Corp", "by-domain": "Acme", "by-name": "Gamma"}


@pytest.mark.parametrize("kind", KINDS)
def test_the_first_reference_a_row_gives_wins(csv_file, accounts, kind):
    result = _import(csv_file, kind, [
        ("id-and-name", "A1", "", "Beta Corp"),
        ("domain-and-name", "", "beta.io", "Acme"),
        ("all-three", "A1", "beta.io", "Gamma"),
    ])
    assert result.ok, result.errors
    assert _accounts_by_key(kind) == {"id-and-name": "Acme", "domain-and-name": "Beta Corp", "all-three": "Acme"}


# --- unknown ----------------------------------------------------------------------------------------

def _rejected(result, before: dict[str, int]) -> list[tuple[int, str, str]]:
    assert not result.ok
    assert table_counts() == before
    return [(e.row, e.column, e.reason) for e in result.errors]


# The file's own columns: errors name them, not our fields.
OWN_COLUMNS = UserMapping(map={"account_name": ["Company"], "account_domain": ["Website"]})


def test_an_unknown_domain_or_name_rejects_an_opportunity(csv_file, accounts):
    before = table_counts()
    result = import_csv(kind="opportunities", mapping=OWN_COLUMNS, path=csv_file(
        "external_id,Company,Website,created_at\n"
        "O1,Acme,,2024-01-05\n"
        "O2,,https://nowhere.example/,2024-01-05\n"
        "O3,Nowhere Inc,,2024-01-05\n"))
    assert _rejected(result, before) == [
        (3, "Website", "no account has the domain nowhere.example"),
        (4, "Company", "no account is named 'Nowhere Inc'"),
    ]


def test_an_unknown_domain_or_name_rejects_a_touchpoint(csv_file, accounts):
    before = table_counts()
    result = import_csv(kind="touchpoints", mapping=OWN_COLUMNS, path=csv_file(
        "external_id,source,kind,occurred_at,Company,Website\n"
        "t1,web,web_visit,2024-01-05T10:00:00Z,Acme,\n"
        "t2,web,web_visit,2024-01-05T10:00:00Z,,https://nowhere.example/\n"
        "t3,web,web_visit,2024-01-05T10:00:00Z,Nowhere Inc,\n"))
    assert _rejected(result, before) == [
        (3, "Website", "no account has the domain nowhere.example"),
        (4, "Company", "no account is named 'Nowhere Inc'"),
    ]


def test_a_contact_whose_account_name_is_unknown_falls_back_to_its_email_domain(csv_file, accounts):
    # CRM "Company" fields are spelled freely: the name finds nothing, the email's domain does.
    result = import_csv(kind="contacts", path=csv_file(
        f"email,{REFS}\n"
        "ann@acme.com,,,Acme Corporation Ltd\n"
        "zed@nowhere.example,,,Nowhere Inc\n"))
    assert result.ok, result.errors
    assert dict(Contact.objects.values_list("email", "account__name")) == {
        "ann@acme.com": "Acme", "zed@nowhere.example": None}
    assert (result.contacts_unmatched, result.unmatched_examples) == (1, ["zed@nowhere.example"])


def test_a_contact_whose_account_domain_is_unknown_is_rejected(csv_file, accounts):
    # Only a name falls back: a domain (or an id) that finds nothing is a mistake in the file.
    before = table_counts()
    result = import_csv(kind="contacts", path=csv_file(f"email,{REFS}\nann@acme.com,,acme.org,\n"))
    assert _rejected(result, before) == [(2, "account_domain", "no account has the domain acme.org")]


# --- ambiguous names --------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_a_name_two_accounts_share_is_rejected_with_both_candidates(csv_file, two_acmes, kind):
    before = table_counts()
    result = _import(csv_file, kind, [("by-id", "A1", "", ""), ("by-name", "", "", "Acme")])
    assert _rejected(result, before) == [(3, "account_name", TWO_ACMES)]


# --- accounts keyed by their name -------------------------------------------------------------------

def test_accounts_without_id_or_domain_are_updated_by_name_not_duplicated(csv_file):
    Account.objects.create(name="Acme Corp", industry="Software")
    result = import_csv(kind="accounts", path=csv_file("name,industry\nACME CORP,Hardware\nBeta,Retail\n"))
    assert (result.ok, result.created, result.updated, result.unchanged) == (True, 1, 1, 0)
    assert sorted(Account.objects.values_list("name", "industry", "external_id", "domain")) == [
        ("ACME CORP", "Hardware", None, None), ("Beta", "Retail", None, None)]


def test_an_account_name_two_stored_accounts_share_is_rejected(csv_file, two_acmes):
    before = table_counts()
    result = import_csv(kind="accounts", path=csv_file("name,industry\nacme,Hardware\n"))
    assert _rejected(result, before) == [(2, "name", TWO_ACMES_IN_ACCOUNTS)]



# SQLite's own lower() folds only A-Z; names are folded with unicode_lower() there (accounts.apps),
# so a name with an upper-case letter outside ASCII is found on either database.
@pytest.mark.parametrize("kind", KINDS)
def test_a_name_with_capitals_beyond_ascii_is_found(csv_file, kind):
    Account.objects.create(name="ÖKO GmbH", domain="oeko.de")
    result = _import(csv_file, kind, [("exact", "", "", "ÖKO GmbH"), ("lower", "", "", "öko gmbh")])
    assert result.ok, result.errors
    assert _accounts_by_key(kind) == {"exact": "ÖKO GmbH", "lower": "ÖKO GmbH"}


def test_reimporting_an_account_whose_name_has_capitals_beyond_ascii_updates_it(csv_file):
    import_csv(kind="accounts", path=csv_file("name,industry\nÖKO GmbH,Energy\n"))
    result = import_csv(kind="accounts", path=csv_file("name,industry\nÖKO GmbH,Solar\n"))
    assert (result.created, result.updated) == (0, 1)
    assert list(Account.objects.values_list("name", "industry")) == [("ÖKO GmbH", "Solar")]
