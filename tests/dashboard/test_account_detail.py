"""The account health page: verdict, tiles, charts, committee grid, heatmap, timeline, opportunities."""

from __future__ import annotations

import pytest

from dashboard.selectors import account_verdict
from metrics.models import AccountSnapshot
from tests.dashboard.conftest import figure, text


@pytest.fixture
def page(client, alice, world):
    client.force_login(alice)
    return client.get(f"/accounts/{world.acme.pk}/")


def test_verdict_line(page):
    assert "Healthy: MQA, 4 of 5 roles covered, engagement spike this week." in text(page)


@pytest.mark.parametrize(
    ("fields", "sentence"),
    [
        # Engaged but few roles and no decision maker: worth watching.
        (dict(engaged=True, roles_covered=1, covered=False, has_decision_maker=False),
         "Watch: 1 of 5 roles covered, no decision maker, engaged"),
        (dict(engaged=False, roles_covered=0, has_decision_maker=False),
         "At risk: not engaged, 0 of 5 roles covered, no decision maker"),
        # 20 minutes in the last 30 days against 50 before: down 60 %.
        (dict(engaged=True, covered=True, roles_covered=3, has_decision_maker=True, minutes_30d=20,
              minutes_prev_30d=50, journey_stage="opportunity"),
         "At risk: minutes down 60 % on the previous 30 days, engaged, 3 of 5 roles covered"),
    ],
)
def test_verdicts(fields, sentence):
    assert account_verdict(AccountSnapshot(**fields), 5).sentence == sentence


def test_tiles_show_the_snapshot_figures(page):
    t = text(page)
    assert "4 of 5 roles" in t and "4 reachable of 5 contacts" in t
    assert "4 aware contacts" in t and "12 web visits" in t and "7 email opens" in t
    assert "240 minutes, 90 days" in t and "120 in 30 days · 45 in 7 · percentile 100" in t
    assert "3 programs reached" in t and "across 2 channels" in t
    assert "50,000 influenced pipeline" in t and "80,000 pipeline created" in t


def test_each_tile_has_a_definition_on_hover(page):
    html = page.content.decode()
    assert 'title="Engagement minutes in the last 90 days (W90)."' in html
    assert 'href="/definitions/#minutes_90d"' in html


def test_sparklines_come_from_the_snapshot_history(page):
    # Acme's three snapshots: minutes_90d 150, 200, 240; role_coverage 0.6, 0.8, 0.8.
    eng = figure(page, "fig-spark-engagement")["data"][0]
    assert eng["x"] == ["2025-03-29", "2025-03-30", "2025-03-31"]
    assert eng["y"] == [150.0, 200.0, 240.0]
    assert eng["line"]["color"] == "#e4572e"
    assert figure(page, "fig-spark-coverage")["data"][0]["y"] == [0.6, 0.8, 0.8]
    assert figure(page, "fig-spark-influence")["data"][0]["y"] == [50000.0, 50000.0, 50000.0]


def test_minutes_over_time_and_by_kind(page):
    lines = {t["name"]: t["y"] for t in figure(page, "fig-minutes")["data"]}
    assert lines == {"Last 7 days": [45, 45, 45], "Last 30 days": [120, 120, 120], "Last 90 days": [150, 200, 240]}
    # One weekly sample (every 7th day back from D) fits in 3 days of history: D itself.
    kinds = {t["name"]: t["y"] for t in figure(page, "fig-kinds")["data"]}
    assert kinds == {"meeting": [60.0], "web visit": [90.0], "webinar attended": [90.0]}
    assert "the most minutes came from web visit (90), webinar attended (90), meeting (60)" in text(page)


def test_buying_committee_marks_the_gap(page):
    html = page.content.decode()
    t = text(page)
    assert "Decision maker Dana Diaz CEO" in t
    assert "Technical evaluator Olga Ode opted out" in t
    assert "End user ✗ Gap: nobody in this role" in t
    assert html.count('class="gap"') == 1
    assert "Other contacts Wes West" in t


def test_heatmap_minutes_per_contact_per_week(page):
    # 13 weeks ending D start on 2024-12-31 (D − 90); week index = days since then // 7.
    hm = figure(page, "fig-heatmap")["data"][0]
    assert hm["y"] == ["Carl Chen", "Dana Diaz", "Ivy Ito", "Olga Ode", "Wes West", "Anonymous visitors"]
    assert hm["x"][0] == "Dec 31" and hm["x"][-1] == "Mar 25"
    z = hm["z"]
    # Carl: email open on D−20 (1 min, week 10), web visit of 5.5 min on D−3 (week 12).
    assert z[0] == [0.0] * 10 + [1.0, 0.0, 5.5]
    # Dana: webinar on D−1 = 30 min × 2 (CEO); her ad impression is worth nothing.
    assert z[1] == [0.0] * 12 + [60.0]
    assert z[2] == z[3] == z[4] == [0.0] * 13
    # Anonymous web visit on D−10 (week 11). Carl's webinar after D is not counted.
    assert z[5] == [0.0] * 11 + [1.0, 0.0]
    assert "67.5 minutes in all" in text(page)


def test_timeline_newest_first_and_never_after_the_day(page):
    t = text(page)
    assert t.index("2025-03-30 12:00 Webinar attended Dana Diaz Spring webinar") < t.index("2025-03-28 12:00 Web visit")
    assert "2025-04-01" not in t


def test_timeline_loads_more(client, alice, world, monkeypatch):
    monkeypatch.setattr("dashboard.selectors.TIMELINE_PAGE", 2)
    client.force_login(alice)
    first = client.get(f"/accounts/{world.acme.pk}/")
    # 5 touches at Acme up to D, 2 per page: the first page links to page 2.
    assert f'hx-get="/accounts/{world.acme.pk}/timeline/?as_of=2025-03-31&amp;page=2"' in first.content.decode()
    # Newest first: page 1 = webinar and ad impression (D−1), page 2 = the web visits of D−3 and D−10,
    # page 3 = the email open of D−20 and nothing more.
    assert text(first).count("Ad impression Dana Diaz Display retargeting") == 1
    second = client.get(f"/accounts/{world.acme.pk}/timeline/?as_of=2025-03-31&page=2")
    assert "2025-03-28 12:00 Web visit Carl Chen – 5.5 2025-03-21 12:00 Web visit anonymous –" in text(second)
    assert "page=3" in second.content.decode()
    third = client.get(f"/accounts/{world.acme.pk}/timeline/?as_of=2025-03-31&page=3")
    assert text(third) == "2025-03-11 12:00 Email open Carl Chen – –"


def test_opportunities(page):
    assert "Acme expansion New business Proposal 2025-03-01 – 80,000 USD" in text(page)


def test_an_account_without_a_snapshot_that_day(client, alice, world):
    client.force_login(alice)
    r = client.get(f"/accounts/{world.initech.pk}/?as_of=2025-03-30")
    assert r.status_code == 200
    # Initech's only snapshot is on D; on D−1 it has none.
    assert "No snapshot of this account on 2025-03-30" in text(r)


def test_unknown_account_is_404(client, alice, world):
    client.force_login(alice)
    assert client.get("/accounts/999999/").status_code == 404


def test_an_account_with_no_engagement_says_so_instead_of_a_heatmap(client, alice, world):
    """Globex has a contact but no touch in the 13 weeks: no chart of zeros on a −0.4 … 0.4 scale."""
    from accounts.models import Contact

    Contact.objects.create(account=world.globex, email="gil@globex.example", first_name="Gil", last_name="Gray")
    client.force_login(alice)
    r = client.get(f"/accounts/{world.globex.pk}/")
    assert 'id="fig-heatmap"' not in r.content.decode()
    assert "No engagement in these 13 weeks (31 Dec – 31 Mar 2025): none of its 1 contact" in text(r)


def test_namesakes_get_labels_of_their_own(client, alice, world):
    """Two Dana Diaz at Acme: one row and one label each (by title when that tells them apart)."""
    from accounts.models import Contact

    Contact.objects.create(account=world.acme, email="dana.d@acme.example", first_name="Dana", last_name="Diaz",
                           title="Buyer", role="end_user")
    Contact.objects.create(account=world.initech, email="x1@initech.example", first_name="Xi", last_name="Xu")
    Contact.objects.create(account=world.initech, email="x2@initech.example", first_name="Xi", last_name="Xu")
    client.force_login(alice)
    rows = figure(client.get(f"/accounts/{world.acme.pk}/"), "fig-heatmap")["data"][0]["y"]
    assert len(rows) == len(set(rows)) == 7
    assert {"Dana Diaz (CEO)", "Dana Diaz (Buyer)"} <= set(rows)
    # Same name, no titles: told apart by email.
    from dashboard.selectors import contact_labels

    assert sorted(contact_labels(list(world.initech.contacts.all())).values()) == [
        "Xi Xu (x1@initech.example)", "Xi Xu (x2@initech.example)"
    ]


def test_each_touch_kind_has_one_colour_on_every_account(page):
    from dashboard.charts import KIND_COLOURS

    colours = {t["name"]: t["marker"]["color"] for t in figure(page, "fig-kinds")["data"]}
    # Fixed by kind, not by the kind's place among this account's kinds.
    assert colours == {"meeting": KIND_COLOURS["meeting"], "web visit": KIND_COLOURS["web_visit"],
                       "webinar attended": KIND_COLOURS["webinar_attended"]}
    from accounts.models import TouchpointKind

    assert set(KIND_COLOURS) == set(TouchpointKind.values)
    assert len(set(KIND_COLOURS.values())) == len(KIND_COLOURS)
    # The timeline marks each kind with the same colour.
    assert f'style="background: {KIND_COLOURS["webinar_attended"]}"' in page.content.decode()
