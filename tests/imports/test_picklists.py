"""CRM picklist values: Salesforce contact roles and HubSpot buying roles become our roles
(METRICS.md, "Buying-committee roles"), an admin's synonyms take precedence, and `other` counts
as a known contact in no required role."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.admin import PicklistSynonymForm
from accounts.models import Account, Contact, Opportunity, PicklistSynonym
from accounts.picklists import picklist_key
from imports.services import import_csv
from metrics.families.coverage import coverage_rows
from metrics.models import MetricSettings
from tests.imports.conftest import table_counts

pytestmark = pytest.mark.django_db

CONTACTS = "email,role\n"

# METRICS.md and docs/import.md, "Picklists: roles and stages".
SALESFORCE_ROLES = {
    "Business User": "end_user",
    "Decision Maker": "decision_maker",
    "Economic Buyer": "economic_buyer",
    "Economic Decision Maker": "economic_buyer",
    "Evaluator": "technical_evaluator",
    "Executive Sponsor": "economic_buyer",
    "Influencer": "influencer",
    "Technical Buyer": "technical_evaluator",
    "Other": "other",
}
HUBSPOT_ROLES = {
    "Blocker": "blocker",
    "Budget Holder": "economic_buyer",
    "Champion": "champion",
    "Decision Maker": "decision_maker",
    "End User": "end_user",
    "Executive Sponsor": "economic_buyer",
    "Influencer": "influencer",
    "Legal and Compliance": "other",
    "Other": "other",
}
# HubSpot's API gives the internal values, not the labels.
HUBSPOT_INTERNAL = {
    "BLOCKER": "blocker",
    "BUDGET_HOLDER": "economic_buyer",
    "CHAMPION": "champion",
    "DECISION_MAKER": "decision_maker",
    "END_USER": "end_user",
    "EXECUTIVE_SPONSOR": "economic_buyer",
    "INFLUENCER": "influencer",
    "LEGAL_AND_COMPLIANCE": "other",
    "OTHER": "other",
}


def _roles_imported(csv_file, labels: list[str]) -> dict[str, str]:
    """Import one contact per label; the label → the role stored."""
    body = "".join(f"c{i}@acme.com,{label}\n" for i, label in enumerate(labels))
    result = import_csv(kind="contacts", path=csv_file(CONTACTS + body))
    assert result.ok, result.errors
    stored = dict(Contact.objects.values_list("email", "role"))
    return {label: stored[f"c{i}@acme.com"] for i, label in enumerate(labels)}


def test_role_other_is_imported(csv_file):
    assert _roles_imported(csv_file, ["Other"]) == {"Other": "other"}


@pytest.mark.parametrize("crm, table", [
    ("salesforce", SALESFORCE_ROLES), ("hubspot labels", HUBSPOT_ROLES), ("hubspot internal values", HUBSPOT_INTERNAL),
])
def test_crm_role_values_map_to_our_roles(csv_file, crm, table):
    assert _roles_imported(csv_file, list(table)) == table


def test_an_unknown_role_is_rejected_with_the_accepted_values(csv_file):
    before = table_counts()
    result = import_csv(kind="contacts", path=csv_file(CONTACTS + "ann@acme.com,Champion\nben@acme.com,Gatekeeper\n"))
    assert not result.ok
    assert [(e.row, e.column, e.reason) for e in result.errors] == [(3, "role", (
        "'Gatekeeper' is not one of: decision_maker, economic_buyer, champion, influencer, technical_evaluator, "
        "end_user, blocker, other (or a CRM label: Blocker, Budget Holder, Business User, Champion, Decision Maker, "
        "Economic Buyer, Economic Decision Maker, End User, Evaluator, Executive Sponsor, Influencer, "
        "Legal and Compliance, Other, Technical Buyer)"))]
    assert table_counts() == before


def test_unknown_roles_cost_no_query_per_row(csv_file):
    _synonym("role", "Sponsor", "champion")

    def queries(bad_rows: int) -> int:
        body = "".join(f"c{i}@acme.com,Gatekeeper\n" for i in range(bad_rows))
        with CaptureQueriesContext(connection) as ctx:
            result = import_csv(kind="contacts", path=csv_file(CONTACTS + body))
        assert result.error_count == bad_rows and "Sponsor" in result.errors[-1].reason
        return len(ctx.captured_queries)

    assert queries(50) == queries(1)


# --- the admin's synonyms ---------------------------------------------------------------------------

def _synonym(field: str, label: str, value: str) -> PicklistSynonym:
    return PicklistSynonym.objects.create(field=field, label=label, key=picklist_key(label), value=value)


def test_a_role_synonym_imports_its_label_as_our_role(csv_file):
    _synonym("role", "Sponsor", "champion")
    assert _roles_imported(csv_file, ["Sponsor", "SPONSOR"]) == {"Sponsor": "champion", "SPONSOR": "champion"}


def test_an_unknown_role_lists_the_synonyms_too(csv_file):
    _synonym("role", "Sponsor", "champion")
    result = import_csv(kind="contacts", path=csv_file(CONTACTS + "ann@acme.com,Gatekeeper\n"))
    assert result.errors[0].reason.endswith("Legal and Compliance, Other, Sponsor, Technical Buyer)")


def test_a_synonym_overrides_the_built_in_label(csv_file):
    # At this company an Executive Sponsor is the internal champion, not the budget owner.
    _synonym("role", "Executive Sponsor", "champion")
    assert _roles_imported(csv_file, ["Executive Sponsor", "Budget Holder"]) == {
        "Executive Sponsor": "champion", "Budget Holder": "economic_buyer"}


def test_a_stage_synonym_closes_and_wins_the_opportunity(csv_file):
    Account.objects.create(name="Acme", external_id="A1")
    _synonym("stage", "Signed", "won")
    result = import_csv(kind="opportunities", path=csv_file(
        "external_id,account_external_id,stage,created_at,closed_at\n"
        "O1,A1,Signed,2024-01-05,2024-02-01\n"
        "O2,A1,Sent to legal,2024-01-05,\n"))
    assert result.ok, result.errors
    assert {o.external_id: (o.stage, o.is_closed, o.is_won, o.closed_at) for o in Opportunity.objects.all()} == {
        "O1": ("Signed", True, True, dt.datetime(2024, 2, 1, tzinfo=dt.UTC)),
        "O2": ("Sent to legal", False, False, None),
    }


@pytest.mark.parametrize("field, value, message", [
    ("role", "won", "'won' is not one of: decision_maker, economic_buyer, champion, influencer, "
                    "technical_evaluator, end_user, blocker, other"),
    ("role", "sponsor", "'sponsor' is not one of: decision_maker, economic_buyer, champion, influencer, "
                        "technical_evaluator, end_user, blocker, other"),
    ("stage", "champion", "'champion' is not one of: won, lost, open"),
])
def test_the_admin_form_refuses_a_value_the_field_does_not_allow(field, value, message):
    form = PicklistSynonymForm(data={"field": field, "label": "Sponsor", "value": value})
    assert form.errors == {"value": [message]}
    assert PicklistSynonym.objects.count() == 0


def test_the_admin_form_refuses_a_label_already_mapped():
    _synonym("role", "Sponsor", "champion")
    form = PicklistSynonymForm(data={"field": "role", "label": "SPONSOR ", "value": "influencer"})
    assert form.errors == {"label": ["'SPONSOR' is already mapped (Contact role: Sponsor → champion)."]}
    # The same label for the other field is another picklist: allowed, and saved with its match key.
    form = PicklistSynonymForm(data={"field": "stage", "label": "Sponsor", "value": "Won"})
    assert form.is_valid(), form.errors
    saved = form.save()
    assert (saved.field, saved.label, saved.key, saved.value) == ("stage", "Sponsor", "sponsor", "won")


# --- coverage ---------------------------------------------------------------------------------------

def test_a_contact_with_role_other_fills_no_required_role(csv_file):
    acme = Account.objects.create(name="Acme", domain="acme.com")
    result = import_csv(kind="contacts", path=csv_file(CONTACTS + "ann@acme.com,Decision Maker\n"
                                                                   "ben@acme.com,Legal and Compliance\n"))
    assert result.ok, result.errors
    assert sorted(Contact.objects.values_list("role", flat=True)) == ["decision_maker", "other"]
    cfg = MetricSettings.load()
    assert cfg.required_roles == ["decision_maker", "champion", "influencer", "technical_evaluator", "end_user"]
    row = coverage_rows(as_of=dt.date(2024, 3, 1), account_ids=[acme.pk], cfg=cfg)[acme.pk]
    # Two contacts known, one of the five required roles filled: 1 / 5.
    assert (row["contacts"], row["roles_covered"], row["role_coverage"]) == (2, 1, 0.2)
