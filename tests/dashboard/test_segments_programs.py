"""Segment and program pages: funnel, trend, distribution, comparison; reach, focus and waste."""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import D, figure, text


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
    # The funnel counts accounts at or past each stage, and says so; "MQA" alone is the MQA flag.
    assert funnel["y"] == ["All accounts", "Aware or further", "Engaged or further", "MQA or further",
                           "Opportunity or customer", "Customer"]
    assert funnel["x"] == [2, 2, 2, 1, 1, 0]
    assert funnel["marker"]["color"] == ["#8a94a6", "#1f77b4", "#e4572e", "#e4572e", "#d4a017", "#d4a017"]
    t = text(r)
    assert "1 of 2 accounts covered" in t and "50 %" in t
    assert ("Of 2 accounts, 2 are aware or further, 2 engaged or further, 1 MQA or further, 1 have an opportunity"
            in t)
    # The side panel names the MQA count as the segment list and the compare table do (share × accounts).
    assert "100 % engaged (2 accounts)" in t and "50 % MQA (1 account)" in t


def test_mqa_means_the_flag_and_the_funnel_says_or_further(as_alice, world):
    """A segment whose opportunity accounts are not MQAs: 1 MQA (25 %), 3 at MQA or further."""
    from accounts.models import Segment
    from metrics.models import SegmentSnapshot

    mixed = Segment.objects.create(name="Mixed")
    SegmentSnapshot.objects.create(segment=mixed, as_of=D, accounts=4, aware_share=1.0, engaged_share=0.5,
                                   mqa_share=0.25, funnel_aware=4, funnel_engaged=3, funnel_mqa=3,
                                   funnel_opportunity=2, funnel_customer=1)
    r = as_alice.get(f"/segments/{mixed.pk}/")
    funnel = figure(r, "fig-funnel")["data"][0]
    assert dict(zip(funnel["y"], funnel["x"], strict=True))["MQA or further"] == 3
    t = text(r)
    assert "25 % MQA (1 account)" in t
    assert "3 MQA or further" in t and "holds the 1 MQA and the accounts with an opportunity or a win" in t
    assert "Mixed 4 0 % 100 % 50 % 25 %" in text(as_alice.get("/segments/"))


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


def _returns_table(t: str) -> str:
    """The text of the page from the cost-and-return section to the reach section."""
    return t[t.index("Cost and return"):t.index("Reach, focus and waste")]


def test_program_returns_under_the_chosen_model(as_alice, world):
    # Linear: webinar cost 10,000, credited 60,000 pipeline (1 opportunity) and 20,000 revenue:
    # 10,000 per opportunity, 6.0 of pipeline per unit of cost, ROI (20,000 − 10,000) / 10,000 = 100 %.
    # Display cost 5,000, credited 20,000 pipeline (1 opportunity) and no revenue: ROI −100 %.
    t = _returns_table(text(as_alice.get("/programs/")))
    assert "Cost and return (Linear attribution)" in t
    assert "Spring webinar Webinar 10,000 60,000 20,000 1 10,000 6.0 100 %" in t
    assert "Display retargeting Display 5,000 20,000 0 1 5,000 4.0 -100 %" in t
    # By channel: under a multi-touch model a channel's opportunities are not a sum, so not shown.
    assert "Webinar 1 10,000 60,000 20,000 – – 6.0 100 %" in t
    assert "a channel's opportunities are not the sum of its programs'" in t
    # First touch gave all 80,000 to display: the webinar's cost bought nothing under this model.
    first = _returns_table(text(as_alice.get("/programs/?model=first_touch")))
    assert "Cost and return (First touch attribution)" in first
    assert "Display retargeting Display 5,000 80,000 0 1 5,000 16.0 -100 %" in first
    assert "Spring webinar Webinar 10,000 0 0 0 – 0.0 -100 %" in first
    assert "Display 1 5,000 80,000 0 1 5,000 16.0 -100 %" in first  # single-touch: channels count
    assert "not the sum of its programs'" not in first


def test_program_figures_equal_the_attribution_export(as_alice, world):
    """Per program and model, the page's pipeline, revenue and opportunities are the export's."""
    from metrics.exports import export_rows
    from metrics.models import AttributionModel
    from tests.dashboard.conftest import D

    _, rows = export_rows(level="influence", as_of=D)
    exported = {(r["program"], r["model"], r["basis"]): r for r in rows if r["record"] == "attribution"}
    for model in AttributionModel.values:
        fig = figure(as_alice.get(f"/programs/?model={model}"), "fig-returns")
        points = {name: (x, y, extra) for trace in fig["data"] if trace["mode"] == "markers"
                  for name, x, y, extra in zip(trace["text"], trace["x"], trace["y"], trace["customdata"], strict=True)}
        assert set(points) == {"Spring webinar", "Display retargeting"}
        for name, (cost, pipeline, (revenue, opportunities, _roi)) in points.items():
            credited = exported.get((name, model, "pipeline"))
            won = exported.get((name, model, "revenue"))
            assert pipeline == (float(credited["credit"]) if credited else 0.0), (name, model)
            assert opportunities == (credited["opportunities"] if credited else 0), (name, model)
            assert revenue == (float(won["credit"]) if won else 0.0), (name, model)
        assert {n: p[0] for n, p in points.items()} == {"Spring webinar": 10000.0, "Display retargeting": 5000.0}


def test_program_scatter_is_coloured_by_channel(as_alice, world):
    from dashboard.charts import CHANNEL_COLOURS

    traces = figure(as_alice.get("/programs/"), "fig-returns")["data"]
    colours = {t["name"]: t["marker"]["color"] for t in traces if t["mode"] == "markers"}
    assert colours == {"Webinar": CHANNEL_COLOURS["webinar"], "Display": CHANNEL_COLOURS["display"]}
    assert traces[-1]["name"] == "pipeline = cost"


def test_programs_sort_by_any_column_with_blanks_last(as_alice, world):
    from decimal import Decimal

    from accounts.models import Program
    from metrics.models import ProgramSnapshot
    from tests.dashboard.conftest import D

    free = Program.objects.create(name="Free webinar", channel="webinar", cost=Decimal("0"))
    ProgramSnapshot.objects.create(program=free, as_of=D)

    def order(query: str) -> list[str]:
        t = _returns_table(text(as_alice.get(f"/programs/?{query}")))
        names = ["Spring webinar Webinar", "Display retargeting Display", "Free webinar Webinar"]
        return sorted(names, key=t.index)

    # A program that cost nothing has no ROI (blank, not 0) and sorts last either way.
    assert "Free webinar Webinar 0 0 0 0 – – –" in _returns_table(text(as_alice.get("/programs/")))
    assert order("sort=-roi") == ["Spring webinar Webinar", "Display retargeting Display", "Free webinar Webinar"]
    assert order("sort=roi") == ["Display retargeting Display", "Spring webinar Webinar", "Free webinar Webinar"]
    assert order("sort=-cost") == ["Spring webinar Webinar", "Display retargeting Display", "Free webinar Webinar"]
    assert order("sort=name") == ["Display retargeting Display", "Free webinar Webinar", "Spring webinar Webinar"]
    # The header of the sorted column flips the order and keeps the model and channel.
    html = as_alice.get("/programs/?model=first_touch&sort=-roi").content.decode()
    assert 'href="?model=first_touch&amp;sort=roi#by-program">ROI ↓</a>' in html


def test_program_page_links_are_well_formed(as_alice, world):
    """The channel links once read "??channel=event" and did nothing."""
    html = as_alice.get("/programs/?model=u_shaped").content.decode()
    assert "??" not in html
    assert 'href="?model=u_shaped&amp;channel=display#by-program">Display</a>' in html


def test_focus_and_waste_are_explained_so_nobody_adds_them_up(as_alice, world):
    t = text(as_alice.get("/programs/"))
    assert "Focus i : of the program's successes , the share at target accounts." in t
    assert "Waste i : of the program's touches (successes or not), the share at accounts that are not targets" in t
    assert "so they do not add up to 100 %" in t
