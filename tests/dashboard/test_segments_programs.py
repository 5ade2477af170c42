"""Segment and program pages: funnel, trend, distribution, comparison; reach, focus and waste."""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import figure, text


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def test_segment_list(as_alice, world):
    t = text(as_alice.get("/segments/"))
    # Target list: 3 accounts, 1 covered (33 %), 3 aware (100 %), 2 engaged (67 %), 1 MQA (33 %), median 50.
    assert "All target accounts target list 3 33 % 100 % 67 % 33 % 50 1.3 80,000" in t
    assert "Enterprise 2 50 % 100 % 100 % 50 % 145 2.0 80,000" in t
    assert "SMB 2 0 % 50 % 0 % 0 % 0 0.0 0" in t


def test_segment_funnel_and_coverage(as_alice, world):
    r = as_alice.get(f"/segments/{world.enterprise.pk}/")
    funnel = figure(r, "fig-funnel")["data"][0]
    assert funnel["y"] == ["All accounts", "Aware", "Engaged", "MQA", "Opportunity", "Customer"]
    assert funnel["x"] == [2, 2, 2, 1, 1, 0]
    assert funnel["marker"]["color"] == ["#8a94a6", "#1f77b4", "#e4572e", "#e4572e", "#d4a017", "#d4a017"]
    t = text(r)
    assert "1 of 2 accounts covered" in t and "50 %" in t
    assert "Of 2 accounts, 2 are aware or further, 2 engaged, 1 MQAs, 1 have an opportunity" in t


def test_segment_distribution_counts_member_accounts_of_the_day(as_alice, world):
    # Enterprise members on D: Acme 240 minutes (200–499), Globex 50 (30–59).
    hist = figure(as_alice.get(f"/segments/{world.enterprise.pk}/"), "fig-histogram")["data"][0]
    assert hist["x"] == ["0", "under 10", "10–29", "30–59", "60–99", "100–199", "200–499", "500+"]
    assert hist["y"] == [0, 0, 0, 1, 0, 0, 1, 0]
    # The target list: Acme, Globex and Initech (0 minutes).
    target = figure(as_alice.get("/segments/target/"), "fig-histogram")["data"][0]
    assert target["y"] == [1, 0, 0, 1, 0, 0, 1, 0]


def test_target_list_trend(as_alice, world):
    trend = {t["name"]: t for t in figure(as_alice.get("/segments/target/"), "fig-trend")["data"]}
    assert trend["Aware"]["x"] == ["2025-03-30", "2025-03-31"]
    assert trend["Aware"]["y"] == [2 / 3, 1.0]
    assert trend["Covered"]["line"]["color"] == "#6f42c1"
    assert trend["Opportunity or customer"]["y"] == [0.3333, 0.3333]  # 1 of 3
    assert trend["Mean programs reached (right axis)"]["yaxis"] == "y2"


def test_compare_two_segments(as_alice, world):
    r = as_alice.get(f"/segments/{world.enterprise.pk}/?compare={world.smb.pk}")
    bars = {t["name"]: t["y"] for t in figure(r, "fig-compare")["data"]}
    # Shares of each segment's accounts at or past each stage.
    assert bars == {"Enterprise": [1.0, 1.0, 1.0, 0.5, 0.5, 0.0], "SMB": [1.0, 0.5, 0.0, 0.0, 0.0, 0.0]}
    assert "Aware i 100 % 50 %" in text(r)
    hist = {t["name"]: t["y"] for t in figure(r, "fig-compare-hist")["data"]}
    # SMB members on D: Initech 0 and =Umbrella 5 minutes: half in "0", half in "under 10".
    assert hist["SMB"] == [0.5, 0.5, 0, 0, 0, 0, 0, 0]


def test_unknown_segment_is_404(as_alice, world):
    assert as_alice.get("/segments/999999/").status_code == 404


def test_segment_without_snapshot(as_alice, world):
    from accounts.models import Segment

    new = Segment.objects.create(name="Brand new")
    assert "No snapshot of this segment on 2025-03-31" in text(as_alice.get(f"/segments/{new.pk}/"))


def test_program_list_tables_and_charts(as_alice, world):
    r = as_alice.get("/programs/")
    t = text(r)
    # Costliest first. Webinar: reach 2/3, focus 0.6, waste 0.25 of 10,000 = 2,500.
    assert "Spring webinar Webinar 10,000 40 12 8 67 % 60 % 25 % 2,500" in t
    assert "Display retargeting Display 5,000 100 50 5 33 % 20 % 80 % 4,000" in t
    bars = {b["name"]: b for b in figure(r, "fig-programs")["data"]}
    assert bars["Target reach"]["y"] == ["Spring webinar", "Display retargeting"]
    assert bars["Target reach"]["x"] == [2 / 3, 1 / 3]
    assert bars["Focus"]["x"] == [0.6, 0.2]
    assert bars["Waste"]["x"] == [0.25, 0.8]
    cost = {b["name"]: b["x"] for b in figure(r, "fig-program-cost")["data"]}
    assert cost == {"Cost at target accounts": [7500.0, 1000.0], "Wasted cost": [2500.0, 4000.0]}
    channels = {b["name"]: b for b in figure(r, "fig-channel")["data"]}
    assert channels["Waste"]["y"] == ["Webinar", "Display"] and channels["Waste"]["x"] == [0.25, 0.8]


def test_program_list_channel_filter(as_alice, world):
    t = text(as_alice.get("/programs/?channel=display"))
    assert "Display retargeting Display 5,000" in t and "Spring webinar Webinar" not in t


def test_program_detail_reached_accounts(as_alice, world):
    r = as_alice.get(f"/programs/{world.webinar.pk}/")
    t = text(r)
    assert "2 of 3 target accounts reached" in t and "6 of 10 successes at target accounts" in t
    # Webinar attendances: Dana at Acme on D−1, someone at =Umbrella on D−40; the one after D is not counted.
    assert "2 accounts with a success of this program up to 2025-03-31, latest first." in t
    assert "Acme acme.example target 1 2025-03-30 2025-03-30" in t
    assert "=Umbrella umbrella.example no 1 2025-02-19 2025-02-19" in t
    assert t.index("Acme acme.example") < t.index("=Umbrella umbrella.example")


def test_program_without_snapshot(as_alice, world):
    from accounts.models import Program

    p = Program.objects.create(name="Idle", channel="email")
    t = text(as_alice.get(f"/programs/{p.pk}/"))
    assert "No snapshot of this program on 2025-03-31" in t
    assert "No account has had a success of this program up to 2025-03-31." in t
