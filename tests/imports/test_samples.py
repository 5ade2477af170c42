"""Each preset on the real export files in tests/fixtures/samples (with their sources and licences), read as they are."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest

from accounts.models import Account, Contact, Opportunity, Program, Touchpoint
from imports.services import import_csv
from tests.imports.conftest import SAMPLES, table_counts

SF = SAMPLES / "salesforce"
HS = SAMPLES / "hubspot"
MK = SAMPLES / "marketo"

pytestmark = pytest.mark.django_db


def _apex_accounts():
    return import_csv(kind="accounts", path=SF / "apex-recipes-Accounts.csv", preset="salesforce")


def test_salesforce_apex_accounts_import_with_their_values_and_reimport_unchanged():
    result = _apex_accounts()
    assert result.ok, result.errors
    assert (result.rows, result.created) == (50, 50)
    zoo = Account.objects.get(name="Zoonoodle 37")
    # Website http://1688.com/at/nunc/… → domain 1688.com; NumberOfEmployees 28549; annualrevenue 5117586.
    assert (zoo.domain, zoo.employees, zoo.annual_revenue, zoo.country) == (
        "1688.com", 28549, Decimal("5117586.00"), "United States")
    # Four websites repeat an earlier row's host (xinhuanet.com, example.com, amazon.de, desdev.cn): those
    # accounts are kept without a domain and each is reported.
    assert result.warning_count == 4
    assert (result.warnings[0].row, result.warnings[0].column) == (29, "website")
    assert Account.objects.filter(domain__isnull=True).count() == 4

    again = _apex_accounts()
    assert (again.created, again.updated, again.unchanged) == (0, 0, 50)


def test_salesforce_apex_contacts_resolve_account_refs_through_the_data_plan():
    _apex_accounts()
    result = import_csv(kind="contacts", path=SF / "apex-recipes-Contacts.csv", preset="salesforce",
                        data_plan=SF / "apex-recipes-data-plan.json")
    assert result.ok, result.errors
    assert result.created == 150
    lianna = Contact.objects.get(email="lsinisbury0@dropbox.com")
    # accountId @AccountRef10 = the 10th record of the plan's Accounts.json: Blogtags 78 (toplist.cz).
    assert (lianna.account.name, lianna.account.domain) == ("Blogtags 78", "toplist.cz")
    assert (lianna.first_name, lianna.title, lianna.seniority_level) == ("Lianna", "Statistician I", "other")


def test_salesforce_apex_contacts_without_the_plan_are_rejected_as_a_whole():
    _apex_accounts()
    before = table_counts()
    result = import_csv(kind="contacts", path=SF / "apex-recipes-Contacts.csv", preset="salesforce")
    assert "data-plan references (@AccountRef10)" in result.file_error
    assert table_counts() == before


def test_salesforce_apex_opportunities_lack_id_and_created_date_and_say_so():
    result = import_csv(kind="opportunities", path=SF / "apex-recipes-Opportunities.csv", preset="salesforce")
    assert "Missing: external_id; created_at" in result.file_error
    assert "Found: amount, closedate, description, name, StageName, accountId" in result.file_error
    assert Opportunity.objects.count() == 0


def test_salesforce_campaigns_without_a_type_are_rejected():
    result = import_csv(kind="programs", path=SF / "apex-recipes-Campaigns.csv", preset="salesforce")
    assert "Missing: channel" in result.file_error


def test_salesforce_report_export_with_bom_and_object_prefixes():
    accounts = import_csv(kind="accounts", path=SF / "lwc-recipes-report-Accounts-Contacts.csv")
    assert accounts.preset == "salesforce" and accounts.encoding == "UTF-8 with BOM"
    # 14 lines, 10 distinct accounts: Alpha Dynamics and Madison Investments repeat on 2 more lines each.
    assert (accounts.created, accounts.skipped) == (10, {"repeats an earlier row of the same account": 4})
    contacts = import_csv(kind="contacts", path=SF / "lwc-recipes-report-Accounts-Contacts.csv")
    assert contacts.ok
    # 6 contact lines; the 8 account-only lines are skipped and counted.
    assert (contacts.created, sum(contacts.skipped.values()), contacts.contacts_unmatched) == (6, 8, 0)
    amy = Contact.objects.get(email="amy@demo.net")
    # "Contact: Phone", not "Account: Phone"; matched to its account by "Account: Account Name".
    assert (amy.phone, amy.account.name, amy.seniority_level) == ("4152568563", "Alpha Dynamics", "vp")
    assert Contact.objects.get(email="jennifer@demo.net").seniority_level == "cxo"  # title CEO


def test_salesforce_fivetran_accounts_keep_hashed_websites_out_of_domain():
    result = import_csv(kind="accounts", path=SF / "fivetran-sf_account_data.csv", preset="salesforce")
    assert result.ok and result.created == 10
    account = Account.objects.get(external_id="001q0000013WMSUAA4")
    assert (account.name, account.employees, account.domain) == ("Testins Opp Close", 120210, None)
    assert result.warnings[0].reason.startswith("'ye4O0TtPzpTBUyS5TfSNig==' is not a web address")


def test_salesforce_fivetran_contacts_name_their_unknown_accounts():
    result = import_csv(kind="contacts", path=SF / "fivetran-sf_contact_data.csv", preset="salesforce")
    assert [(e.row, e.column, e.reason) for e in result.errors] == [
        (3, "account_id", "unknown account 0011G00000eM9wvQAC"),
        (4, "account_id", "unknown account 0011G00000f8NwQAU"),
        (5, "account_id", "unknown account 0011G00000eNyiXQAS"),
    ]
    assert Contact.objects.count() == 0


def test_salesforce_events_become_meetings_and_calls_with_their_durations():
    rows = list(csv.DictReader((SF / "fivetran-sf_event_data.csv").open(encoding="utf-8")))
    for row in rows:
        account = Account.objects.get_or_create(external_id=row["account_id"], defaults={"name": row["account_id"]})[0]
        Contact.objects.create(external_id=row["who_id"], account=account)
    result = import_csv(kind="touchpoints", path=SF / "fivetran-sf_event_data.csv", preset="salesforce")
    assert result.ok, result.errors
    # The file's type column: 6 Call and 4 Meeting events.
    assert Touchpoint.objects.filter(kind="call_connected").count() == 6
    assert Touchpoint.objects.filter(kind="meeting").count() == 4
    first = Touchpoint.objects.get(external_id="00U1G00000DEaypUAD")
    assert (first.kind, first.minutes, first.source, first.contact.external_id) == (
        "call_connected", Decimal("15.00"), "salesforce", "0031G00001Pji7ZQAR")


def test_salesforce_tasks_that_are_not_engagement_are_skipped_and_counted():
    result = import_csv(kind="touchpoints", path=SF / "fivetran-sf_task_data.csv", preset="salesforce")
    assert result.ok
    assert result.skipped == {"Salesforce task of type 'X' (not engagement)": 7,
                              "Salesforce task of type 'blank' (not engagement)": 3}
    assert Touchpoint.objects.count() == 0


def test_hubspot_companies_import():
    result = import_csv(kind="accounts", path=HS / "fivetran-company_data.csv", preset="hubspot")
    assert result.ok and result.created == 24
    company = Account.objects.get(external_id="2182162682")
    assert (company.name, company.country, company.annual_revenue) == (
        "4b2c13cca3eb58ee49bbddcf00417130", "United States", Decimal("10000000.00"))


def test_hubspot_contacts_with_hashed_emails_are_rejected_row_by_row():
    before = table_counts()
    result = import_csv(kind="contacts", path=HS / "fivetran-contact_data.csv", preset="hubspot")
    assert (result.errors[0].row, result.errors[0].column) == (2, "property_email")
    assert result.errors[0].reason == "'fcb67ef339b691956cc85fa12be6490c' is not an email address"
    assert table_counts() == before


def test_hubspot_deals_without_a_company_column_are_rejected():
    result = import_csv(kind="opportunities", path=HS / "fivetran-deal_data.csv", preset="hubspot")
    assert "Missing: account_external_id" in result.file_error


def test_hubspot_email_events_count_sends_as_skipped():
    result = import_csv(kind="touchpoints", path=HS / "fivetran-email_event_data.csv", preset="hubspot")
    # 90 OPEN rows carry a hashed recipient: rejected; SENT 4, DELIVERED 3, PROCESSED 3 are not engagement.
    assert result.error_count == 90 and result.errors[0].column == "recipient"
    assert result.skipped == {"HubSpot SENT event (not engagement)": 4, "HubSpot DELIVERED event (not engagement)": 3,
                              "HubSpot PROCESSED event (not engagement)": 3}


def test_marketo_leads_match_accounts_by_email_domain():
    Account.objects.create(name="Email Inc", domain="email.com")
    result = import_csv(kind="contacts", path=MK / "fivetran-marketo_lead_data.csv", preset="marketo")
    assert result.ok and result.created == 100 and result.contacts_unmatched == 0
    lead = Contact.objects.get(external_id="1031229")
    assert (lead.email, lead.first_name, lead.account.name) == ("first_last_001@email.com", "first_001", "Email Inc")


def test_marketo_programs_map_channels_and_skip_operational_ones():
    result = import_csv(kind="programs", path=MK / "fivetran-marketo_program_data.csv", preset="marketo")
    assert result.ok
    # 100 programs: 13 Operational (skipped); Webinar 47, Content 23, Email Campaign 14, Email Nurture 2, Web Request 1.
    assert (result.created, result.skipped) == (87, {"Operational programs are not marketing programs": 13})
    assert Program.objects.get(external_id="1121").channel == "webinar"
    assert Program.objects.filter(channel="email").count() == 16


def test_marketo_click_activities_import_once():
    account = Account.objects.create(name="Leads Inc", domain="leads.example")
    path = MK / "fivetran-marketo_activity_click_email_data.csv"
    lead_ids = {row["lead_id"] for row in csv.DictReader(path.open(encoding="utf-8-sig"))}
    Contact.objects.bulk_create([Contact(external_id=lead, account=account) for lead in lead_ids])
    result = import_csv(kind="touchpoints", path=path, preset="marketo")
    assert result.ok, result.errors
    assert result.created == 100
    assert Touchpoint.objects.filter(kind="email_click", account=account, source="marketo").count() == 100
    again = import_csv(kind="touchpoints", path=path, preset="marketo")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 100)


def test_marketo_activities_with_unknown_leads_name_them():
    result = import_csv(kind="touchpoints", path=MK / "fivetran-marketo_activity_open_email_data.csv",
                        preset="marketo")
    assert (result.errors[0].row, result.errors[0].column, result.errors[0].reason) == (
        2, "lead_id", "unknown contact (external id 1305232)")
    assert Touchpoint.objects.count() == 0


def test_marketo_bulk_activity_export_maps_types_and_counts_the_rest(csv_file):
    account = Account.objects.create(name="Acme", domain="acme.example")
    Contact.objects.create(external_id="501", email="ann@acme.example", account=account)
    Program.objects.create(name="Webinar", channel="webinar", external_id="9001")
    Program.objects.create(name="Summit", channel="event", external_id="9002")
    path = csv_file(
        "marketoGUID,leadId,activityDate,activityTypeId,campaignId,primaryAttributeValueId,primaryAttributeValue,"
        "attributes\n"
        'g1,501,2024-03-01T10:00:00Z,1,7,,/pricing,"{""Webpage URL"": ""/pricing""}"\n'
        "g2,501,2024-03-01T10:01:00Z,2,7,55,Contact us,{}\n"
        "g3,501,2024-03-01T10:02:00Z,3,7,,/docs,{}\n"
        "g4,501,2024-03-01T10:03:00Z,10,7,12,Invite,{}\n"
        "g5,501,2024-03-01T10:04:00Z,11,7,12,Invite,{}\n"
        'g6,501,2024-03-02T16:00:00Z,104,7,9001,Webinar,"{""New Status"": ""Attended"", ""Old Status"": ""Registered""}"\n'
        'g7,501,2024-03-03T16:00:00Z,104,7,9002,Summit,"{""New Status"": ""Attended""}"\n'
        "g8,501,2024-03-01T09:00:00Z,6,7,12,Invite,{}\n"
        "g9,501,2024-03-01T09:00:01Z,7,7,12,Invite,{}\n"
        "g10,501,2024-03-01T09:00:02Z,8,7,12,Invite,{}\n"
        "g11,501,2024-03-01T09:00:03Z,12,7,,,{}\n"
    )
    result = import_csv(kind="touchpoints", path=path)
    assert result.preset == "marketo" and result.ok, result.errors
    kinds = dict(Touchpoint.objects.values_list("external_id", "kind"))
    assert kinds == {"g1": "web_visit", "g2": "form_fill", "g3": "web_visit", "g4": "email_open",
                     "g5": "email_click", "g6": "webinar_attended", "g7": "event_attended"}
    assert Touchpoint.objects.get(external_id="g6").program.external_id == "9001"
    assert result.skipped == {"Marketo Send Email (not engagement)": 1, "Marketo Email Delivered (not engagement)": 1,
                              "Marketo Email Bounced (not engagement)": 1, "Marketo New Lead (not engagement)": 1}
