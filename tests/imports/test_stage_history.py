"""The stage_history import kind: Salesforce OpportunityHistory and HubSpot deal-stage history.

No OpportunityHistory export is among the real samples (tests/fixtures/samples); the Salesforce
file here has the object's own columns in the order a Data Loader export of OpportunityHistory
writes them (Salesforce object reference), the HubSpot one the columns of Fivetran's
deal_property_history table (fivetran/dbt_hubspot's seed of it, with readable values).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Opportunity
from imports.models import ImportJob
from imports.services import import_csv
from sales import trends
from sales.models import OpportunityStageChange
from tests.metrics.builders import account, opportunity

pytestmark = pytest.mark.django_db

SF_HEADER = ("Id,OpportunityId,CreatedById,CreatedDate,StageName,Amount,ExpectedRevenue,CloseDate,Probability,"
             "ForecastCategory,SystemModstamp,IsDeleted\n")
SF_HISTORY = SF_HEADER + (
    "008A1,006A1,005X,2024-04-01T09:00:00.000+0000,Prospecting,10000,1000,2024-06-30,10,Pipeline,"
    "2024-04-01T09:00:00.000+0000,false\n"
    "008A2,006A1,005X,2024-04-11T09:00:00.000+0000,Qualification,10000,2000,2024-06-30,20,Pipeline,"
    "2024-04-11T09:00:00.000+0000,false\n"
    # The amount changed, the stage did not: a row of the history, no entry into a stage.
    "008A3,006A1,005X,2024-04-20T09:00:00.000+0000,Qualification,12000,2400,2024-06-30,20,Pipeline,"
    "2024-04-20T09:00:00.000+0000,false\n"
    "008A4,006A1,005X,2024-05-01T09:00:00.000+0000,Closed Won,12000,12000,2024-05-01,100,Closed,"
    "2024-05-01T09:00:00.000+0000,false\n"
    "008B1,006B1,005X,2024-04-05T09:00:00.000+0000,Prospecting,5000,500,2024-06-30,10,Pipeline,"
    "2024-04-05T09:00:00.000+0000,false\n"
    # In the recycle bin: skipped and counted.
    "008B2,006B1,005X,2024-04-06T09:00:00.000+0000,Qualification,5000,1000,2024-06-30,20,Pipeline,"
    "2024-04-06T09:00:00.000+0000,true\n"
    "008B3,006B1,005X,2024-04-25T09:00:00.000+0000,Closed Lost,5000,0,2024-04-25,0,Omitted,"
    "2024-04-25T09:00:00.000+0000,false\n"
)


@pytest.fixture
def deals() -> None:
    target = account("Acme")
    opportunity(target, "12000", datetime(2024, 4, 1, 9, tzinfo=UTC), external_id="006A1",
                closed=datetime(2024, 5, 1, 9, tzinfo=UTC), won=True)
    opportunity(target, "5000", datetime(2024, 4, 5, 9, tzinfo=UTC), external_id="006B1",
                closed=datetime(2024, 4, 25, 9, tzinfo=UTC))
    opportunity(target, "7000", datetime(2019, 10, 1, tzinfo=UTC), external_id="1100390922")


def test_a_salesforce_opportunity_history_file_imports_and_a_reimport_changes_nothing(deals, csv_file):
    path = csv_file(SF_HISTORY, "OpportunityHistory.csv")
    result = import_csv(kind="stage_history", path=path, preset="auto")
    assert result.ok, result.errors
    assert result.preset == "salesforce"
    assert (result.rows, result.created, result.skipped) == (7, 6, {"deleted history row": 1})
    a1 = OpportunityStageChange.objects.get(source="salesforce", external_id="008A2")
    assert (a1.opportunity.external_id, a1.stage, a1.entered_at) == (
        "006A1", "Qualification", datetime(2024, 4, 11, 9, tzinfo=UTC))

    again = import_csv(kind="stage_history", path=path, preset="salesforce")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 6)
    assert OpportunityStageChange.objects.count() == 6

    # The imported history as the trends page reads it, as of 2024-05-31, April and May:
    # Prospecting entered by A1 and B1: A1 went on to Qualification, B1 straight to Lost (no
    # advance) → 1 / 2; days A1 04-01 → 04-11 = 10, B1 04-05 → 04-25 = 20 → median 15.
    # Qualification entered by A1 (the 04-20 row is no new entry), won → 1 / 1, 04-11 → 05-01 = 20 days.
    history = trends.stage_history(scope=trends.TARGETS, as_of=datetime(2024, 5, 31).date(), grain="month", count=2)
    totals = {r.label: (r.entered, r.advanced, r.median_days) for r in history.totals}
    assert totals == {"Prospecting": (2, 1, 15.0), "Qualification": (1, 1, 20.0), "Won": (1, 0, None),
                      "Lost": (1, 0, None)}


def test_a_changed_row_is_updated_not_added(deals, csv_file):
    import_csv(kind="stage_history", path=csv_file(SF_HISTORY, "first.csv"), preset="salesforce")
    fixed = SF_HISTORY.replace("008A2,006A1,005X,2024-04-11T09:00", "008A2,006A1,005X,2024-04-12T09:00")
    result = import_csv(kind="stage_history", path=csv_file(fixed, "fixed.csv"), preset="salesforce")
    assert (result.created, result.updated, result.unchanged) == (0, 1, 5)
    assert OpportunityStageChange.objects.get(external_id="008A2").entered_at == datetime(2024, 4, 12, 9, tzinfo=UTC)


HUBSPOT_HISTORY = (
    "deal_id,timestamp,_fivetran_synced,source,name,source_id,value\n"
    "1100390922,2019-10-22 19:17:37.819 UTC,2020-05-19 15:45:36.499 UTC,CRM_UI,dealstage,u1,appointmentscheduled\n"
    "1100390922,2019-10-22 19:17:37.819 UTC,2020-05-19 15:45:36.499 UTC,CRM_UI,amount,u1,7000\n"
    "1100390922,2019-11-04 10:00:00.000 UTC,2020-05-19 15:45:36.499 UTC,CRM_UI,dealstage,u1,qualifiedtobuy\n"
    "1100390922,2019-12-01 10:00:00.000 UTC,2020-05-19 15:45:36.499 UTC,CRM_UI,dealstage,u1,closedwon\n"
)


def test_hubspot_deal_stage_history_keeps_the_stage_rows_by_label_and_reimports_unchanged(deals, csv_file):
    path = csv_file(HUBSPOT_HISTORY, "deal_property_history.csv")
    result = import_csv(kind="stage_history", path=path, preset="auto")
    assert result.ok, result.errors
    assert result.preset == "hubspot"
    assert (result.created, result.skipped) == (3, {"history of amount (not the deal stage)": 1})
    stages = list(OpportunityStageChange.objects.filter(source="hubspot").values_list("stage", flat=True))
    assert stages == ["Appointment scheduled", "Qualified to buy", "Closed won"]
    # No id of its own: keyed by the deal and the moment, so the same file again writes nothing.
    assert OpportunityStageChange.objects.filter(external_id="1100390922@2019-10-22T19:17:37.819000+00:00").exists()
    again = import_csv(kind="stage_history", path=path, preset="hubspot")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_bad_rows_name_their_row_and_column_and_nothing_is_written(deals, csv_file):
    bad = SF_HEADER + (
        "008C1,006ZZ,005X,2024-04-01T09:00:00Z,Prospecting,1,1,2024-06-30,10,Pipeline,2024-04-01T09:00:00Z,false\n"
        "008C2,006A1,005X,2024-04-01T09:00:00Z,,1,1,2024-06-30,10,Pipeline,2024-04-01T09:00:00Z,false\n"
        "008C3,006A1,005X,first of April,Prospecting,1,1,2024-06-30,10,Pipeline,2024-04-01T09:00:00Z,false\n"
        "008C4,006A1,005X,2024-04-02T09:00:00Z,Prospecting,1,1,2024-06-30,10,Pipeline,2024-04-01T09:00:00Z,false\n"
        "008C4,006A1,005X,2024-04-03T09:00:00Z,Qualification,1,1,2024-06-30,10,Pipeline,2024-04-01T09:00:00Z,false\n"
    )
    result = import_csv(kind="stage_history", path=csv_file(bad), preset="salesforce")
    assert not result.ok
    errors = {(e.row, e.column): e.reason for e in result.errors}
    assert errors[(2, "OpportunityId")] == "no opportunity has the external id '006ZZ' (import the opportunities first)"
    assert errors[(3, "StageName")] == "is blank: the stage the opportunity entered"
    assert (4, "CreatedDate") in errors
    assert errors[(6, "Id")] == "duplicate history row '008C4': already in row 5"
    assert OpportunityStageChange.objects.count() == 0
    assert Opportunity.objects.count() == 3


def test_a_file_without_the_opportunity_column_is_rejected_with_what_it_lacks(csv_file):
    result = import_csv(kind="stage_history", path=csv_file("Id,StageName,CreatedDate\n1,Prospecting,2024-04-01\n"),
                        preset="salesforce")
    assert "Missing: opportunity_external_id" in result.file_error


def test_the_import_page_previews_and_runs_a_history_file(client, alice, deals, settings, tmp_path,
                                                         django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(alice)
    response = client.post(reverse("imports:import"), {
        "kind": "stage_history", "preset": "auto", "timezone": "UTC",
        "file": SimpleUploadedFile("OpportunityHistory.csv", SF_HISTORY.encode())})
    job = ImportJob.objects.get()
    page = client.get(response["Location"]).content.decode()
    # The preview shows the first row as it would be stored, and writes nothing.
    assert "<td>Prospecting</td>" in page and "2024-04-01 09:00 UTC" in page
    assert OpportunityStageChange.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:run", args=[job.pk]))
    job.refresh_from_db()
    assert (job.status, job.result["created"], job.result["skipped_total"]) == ("done", 6, 1)
