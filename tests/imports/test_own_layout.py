"""A CRM export in its own column layout goes in with mapping options only.

The files (docs/examples/crm, the worked example of docs/import.md) name accounts by name, give revenue
in millions, carry no is_target flag, and hold deals without an account or without an engage date.
Every expected figure is worked out by hand in the comments next to it.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Account, Opportunity
from metrics.models import OutcomeGroup
from metrics.services import compute_day

CRM = Path(__file__).resolve().parents[2] / "docs" / "examples" / "crm"
ACCOUNT_MAP = ["--map", "name=account", "--map", "industry=sector", "--map", "annual_revenue=revenue",
               "--map", "country=office_location", "--multiply", "annual_revenue=1000000"]


def _import(*args: str) -> None:
    call_command("import_csv", *args)


@pytest.fixture
def crm(tmp_path: Path, db) -> Path:
    """Accounts, the target list and the pipeline imported; returns the rejected-rows file."""
    _import("accounts", str(CRM / "accounts.csv"), *ACCOUNT_MAP)
    _import("targets", str(CRM / "targets.csv"))
    rejected = tmp_path / "pipeline.rejected.csv"
    _import("opportunities", str(CRM / "sales_pipeline.csv"), "--mapping", str(CRM / "opportunities-mapping.json"),
            "--on-error", "skip", "--rejected", str(rejected))
    return rejected


def test_accounts_are_keyed_by_name_with_revenue_in_millions(crm):
    acme = Account.objects.get(name="Acme Corporation")
    # 1100.04 million; no external id and no domain in the file: the account is keyed by its name.
    assert (acme.annual_revenue, acme.employees, acme.industry, acme.country) == (
        Decimal("1100040000.00"), 2822, "technolgy", "United States")
    assert (acme.external_id, acme.domain) == (None, None)
    assert Account.objects.count() == 5


def test_reimporting_the_accounts_changes_nothing(crm, capsys):
    _import("accounts", str(CRM / "accounts.csv"), *ACCOUNT_MAP)
    assert "Imported 5 row(s): 0 created, 0 updated, 5 unchanged, 0 rejected." in capsys.readouterr().out
    assert Account.objects.count() == 5


def test_the_target_list_marks_accounts_by_name_and_reports_the_unknown(db, capsys):
    _import("accounts", str(CRM / "accounts.csv"), *ACCOUNT_MAP)
    _import("targets", str(CRM / "targets.csv"))
    out = capsys.readouterr().out
    # "dontechi" matches Dontechi case-insensitively; "Nowhere Inc" is no account.
    assert "2 account(s) newly marked as targets, 0 already were, 0 rejected; 1 matched no account." in out
    assert "matched no account: Nowhere Inc" in out
    assert dict(Account.objects.filter(is_target=True).values_list("name", "tier")) == {
        "Acme Corporation": 1, "Dontechi": 2}


def test_deals_without_account_or_date_are_rejected_with_reasons_and_the_rest_stored(crm):
    # 9 deals: rows 6 (no account), 7 (no account, no date) and 10 (Prospecting, no date) rejected.
    assert set(Opportunity.objects.values_list("external_id", flat=True)) == {
        "1C1I7A6R", "Z063OYW0", "EC4QE1BX", "MV1LWRNH", "UP409DSB", "ZZ0ACME1"}
    with crm.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    needs_account = ("is required: an opportunity names its account by account_external_id, account_domain "
                     "or account_name")
    assert [(r["opportunity_id"], r["_row"], r["_column"], r["_reason"]) for r in rows] == [
        ("PE84CX4O", "6", "account", needs_account),
        ("ZNBS69V1", "7", "account; engage_date", f"account: {needs_account}; engage_date: is required"),
        ("KWVA7VR1", "10", "engage_date", "is required"),
    ]
    # The original cells come back untouched, ready to be fixed and imported again.
    assert rows[0]["sales_agent"] == "Zane Levy" and rows[0]["deal_stage"] == "Engaging"


def test_stages_and_close_dates_follow_the_crm(crm):
    won = Opportunity.objects.get(external_id="1C1I7A6R")
    assert (won.is_closed, won.is_won, won.name, won.currency, won.amount) == (
        True, True, "1C1I7A6R", "USD", Decimal("1054.00"))
    assert won.created_at == dt.datetime(2017, 10, 20, tzinfo=dt.UTC)
    assert won.closed_at == dt.datetime(2017, 11, 2, tzinfo=dt.UTC)
    engaging = Opportunity.objects.get(external_id="UP409DSB")
    assert (engaging.is_closed, engaging.closed_at, engaging.amount) == (False, None, Decimal("0.00"))


def test_influence_figures_equal_the_ones_worked_out_from_the_file(crm, client, charlie):
    compute_day(as_of=dt.date(2017, 12, 31))
    groups = {(g.dimension, g.group): g for g in OutcomeGroup.objects.filter(as_of=dt.date(2017, 12, 31))}
    target, other = groups[("target", "target")], groups[("target", "non_target")]
    # Closed in 2017: targets Acme (won 1054 in 13 days; lost 0) and Dontechi (won 588 in 21 days);
    # non-targets Betasoloin (lost) and Cancity (won 50 in 16 days).
    assert (target.opportunities_closed, target.opportunities_won) == (3, 2)
    assert target.win_rate == pytest.approx(2 / 3)
    assert (target.median_cycle_days, target.avg_contract_value, target.pipeline_created) == (
        17.0, Decimal("821.00"), Decimal("1642.00"))
    assert (other.opportunities_closed, other.opportunities_won, other.win_rate) == (2, 1, 0.5)
    assert (other.median_cycle_days, other.avg_contract_value, other.pipeline_created) == (
        16.0, Decimal("50.00"), Decimal("50.00"))

    client.force_login(charlie)
    page = client.get(reverse("dashboard:influence"), {"as_of": "2017-12-31"}).content.decode()
    assert "Target vs non-target accounts" in page
    assert '<td class="num">3</td><td class="num">2</td><td class="num">67 %</td>' in page.replace("&nbsp;", " ")


def test_a_saved_profile_is_chosen_by_the_header_next_time(db, tmp_path, capsys):
    _import("accounts", str(CRM / "accounts.csv"), *ACCOUNT_MAP, "--save-profile", "CRM accounts")
    again = tmp_path / "accounts-again.csv"
    again.write_text((CRM / "accounts.csv").read_text().replace("Acme Corporation,technolgy", "Acme Corporation,tech"))
    capsys.readouterr()
    _import("accounts", str(again))  # no mapping options: the profile saved for this header applies
    out = capsys.readouterr().out
    assert "profile: CRM accounts" in out and "0 created, 1 updated, 4 unchanged" in out
    assert Account.objects.get(name="Acme Corporation").industry == "tech"
