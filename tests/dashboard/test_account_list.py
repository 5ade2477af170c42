"""The account list: filters, sorting, pagination, htmx fragments and the CSV export."""

from __future__ import annotations

import re

import pytest

from dashboard.views import ACCOUNTS_PER_PAGE
from metrics.exports import csv_value as csv_cell
from tests.dashboard.conftest import add_noise, text


def names(response) -> list[str]:
    """Account names in table order."""
    return re.findall(r'<a href="/accounts/\d+/\?as_of=[\d-]+">([^<]+)</a>', response.content.decode())


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def test_default_sort_is_most_engaged_first(as_alice, world):
    r = as_alice.get("/accounts/")
    # minutes_90d: Acme 240, Globex 50, =Umbrella 5, Initech 0
    assert names(r) == ["Acme", "Globex", "=Umbrella", "Initech"]
    assert "4 accounts on 2025-03-31" in text(r)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("target=true", ["Acme", "Globex", "Initech"]),
        ("target=false", ["=Umbrella"]),
        ("tier=1", ["Acme", "Initech"]),
        ("stage=engaged", ["Globex"]),
        ("engaged=true", ["Acme", "Globex"]),
        ("mqa=true", ["Acme"]),
        ("spike=true", ["Acme"]),
        ("spike=false", ["Globex", "=Umbrella", "Initech"]),
        ("q=glob", ["Globex"]),
        ("q=INITECH.example", ["Initech"]),
        ("segment=target", ["Acme", "Globex", "Initech"]),
        ("tier=9", ["Acme", "Globex", "=Umbrella", "Initech"]),  # an invalid value is ignored
    ],
)
def test_filters(as_alice, world, query, expected):
    assert names(as_alice.get(f"/accounts/?{query}")) == expected


def test_segment_and_owner_filters(as_alice, world, bob):
    assert names(as_alice.get(f"/accounts/?segment={world.enterprise.pk}")) == ["Acme", "Globex"]
    assert names(as_alice.get(f"/accounts/?owner={bob.pk}")) == ["Acme", "Globex"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["=Umbrella", "Acme", "Globex", "Initech"]),
        ("-name", ["Initech", "Globex", "Acme", "=Umbrella"]),
        ("minutes_90d", ["Initech", "=Umbrella", "Globex", "Acme"]),
        # stages rank none < aware < engaged < mqa: Acme (mqa), Globex (engaged), =Umbrella (aware), Initech
        ("-stage", ["Acme", "Globex", "=Umbrella", "Initech"]),
        ("-minutes_30d", ["Acme", "Globex", "=Umbrella", "Initech"]),
        ("-role_coverage", ["Acme", "Globex", "Initech", "=Umbrella"]),
    ],
)
def test_sorting(as_alice, world, sort, expected):
    assert names(as_alice.get(f"/accounts/?sort={sort}")) == expected


def test_sort_header_links_flip_direction_and_keep_filters(as_alice, world):
    html = as_alice.get("/accounts/?target=true&sort=-minutes_90d").content.decode()
    assert 'href="/accounts/?target=true&amp;sort=minutes_90d"' in html
    assert 'aria-sort="descending"' in html


def test_spike_is_flagged(as_alice, world):
    row = re.search(r"Acme</a>.*?</tr>", as_alice.get("/accounts/").content.decode(), re.S).group(0)
    assert "▲ spike" in row and "MQA" in row


def test_htmx_request_gets_only_the_results(as_alice, world):
    r = as_alice.get("/accounts/?mqa=true", HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert html.lstrip().startswith('<section id="account-results"')
    assert "<html" not in html and names(r) == ["Acme"]
    assert "HX-Request" in r["Vary"]
    # A history restore (back button after hx-push-url) needs the whole page.
    restore = as_alice.get("/accounts/?mqa=true", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in restore.content.decode()


def test_pagination(as_alice, world, bob):
    add_noise(ACCOUNTS_PER_PAGE + 10, bob, world.smb, world.webinar)
    first = as_alice.get("/accounts/")
    assert len(names(first)) == ACCOUNTS_PER_PAGE
    assert "64 accounts" in text(first)  # 4 + 60
    assert "Page 1 of 2" in text(first)
    second = as_alice.get("/accounts/?page=2")
    assert len(names(second)) == 14


def test_empty_filter_result_says_so(as_alice, world):
    assert "No accounts match these filters on 2025-03-31" in text(as_alice.get("/accounts/?q=nothing-like-this"))


def test_as_of_picks_the_latest_snapshot_on_or_before_the_day(as_alice, world):
    # Only Acme and Globex have snapshots on 2025-03-30.
    r = as_alice.get("/accounts/?as_of=2025-03-30")
    assert names(r) == ["Acme", "Globex"]
    r = as_alice.get("/accounts/?as_of=2025-04-15")  # after the latest: the latest
    assert names(r) == ["Acme", "Globex", "=Umbrella", "Initech"]


HEADER = (
    "as_of,account_id,account_external_id,account,domain,tier,owner,is_target,fit_score,contacts,reachable_contacts,"
    "roles_covered,role_coverage,profile_completeness,covered,has_decision_maker,web_visits,known_visitors,"
    "email_opens,event_attendances,calls_connected,aware_contacts,aware,minutes_7d,minutes_prev_21d,minutes_30d,"
    "minutes_prev_30d,minutes_90d,engaged_contacts_90d,engaged,mqa,spike,engagement_percentile,programs_reached,"
    "channels_reached,pipeline_created_90d,won_revenue_90d,influenced_pipeline,influenced_opportunities,"
    "journey_stage,nps,nps_responses,nps_promoters,nps_detractors"
)


def test_csv_export_is_the_filtered_sorted_list(as_alice, world):
    r = as_alice.get(f"/accounts/export.csv?segment={world.smb.pk}&sort=name")
    assert r["Content-Type"] == "text/csv; charset=utf-8"
    assert r["Content-Disposition"] == 'attachment; filename="accounts-2025-03-31.csv"'
    body = b"".join(r.streaming_content).decode()
    u, i = world.umbrella.pk, world.initech.pk
    assert body.splitlines() == [
        HEADER,
        # The name "=Umbrella" would run as a formula in a spreadsheet: it gets a leading apostrophe.
        f"2025-03-31,{u},,'=Umbrella,umbrella.example,3,alice,false,,0,0,0,0.0,0.0,false,false,0,0,0,0,0,0,true,"
        "0.0,0.0,5.0,0.0,5.0,0,false,false,false,33.33,0,0,0.00,0.00,0.00,0,aware,,0,0,0",
        f"2025-03-31,{i},,Initech,initech.example,1,,true,,0,0,0,0.0,0.0,false,false,0,0,0,0,0,0,false,"
        "0.0,0.0,0.0,0.0,0.0,0,false,false,false,33.33,0,0,0.00,0.00,0.00,0,none,,0,0,0",
    ]


def test_export_link_carries_the_filters(as_alice, world):
    html = as_alice.get("/accounts/?mqa=true&page=1").content.decode()
    assert 'href="/accounts/export.csv?mqa=true"' in html


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("plain", "plain"),
        (-1, "-1"),
        (-1.5, "-1.5"),
        (True, "true"),
        (False, "false"),
        (None, ""),
    ],
)
def test_csv_cells(value, cell):
    assert csv_cell(value) == cell


def test_a_new_sort_column_starts_names_ascending_and_figures_descending(as_alice, world):
    html = as_alice.get("/accounts/").content.decode()
    assert 'href="/accounts/?sort=name"' in html
    assert 'href="/accounts/?sort=-minutes_30d"' in html
    # The current column (-minutes_90d by default) flips.
    assert 'href="/accounts/?sort=minutes_90d"' in html
