"""The weekly executive summary: figures worked out by hand, sent once per reader and week."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail

from accounts.models import Opportunity
from alerts import services
from alerts.models import AlertPreferences, Delivery
from alerts.summary import periods, weekly_summary
from metrics import models as metric_models
from metrics.models import InfluenceSummary, SegmentSnapshot

from .conftest import D, at, publish, touch

pytestmark = pytest.mark.django_db
UTC = dt.UTC


@pytest.fixture
def deals(world):
    """Besides Iron East's 120,000 and Umbrella's 5,000 created on D (both engaged before):"""
    # Created last week; Globex's touches come later (D−5, D): influenced as of D, not as of D−7.
    Opportunity.objects.create(account=world.globex, name="Globex pilot", amount=Decimal("30000"), created_at=at(10))
    # Won this week; Carl's meeting on D−20 engaged Acme before the close.
    Opportunity.objects.create(account=world.acme, name="Acme suite", amount=Decimal("50000"), created_at=at(60),
                               closed_at=at(2), is_closed=True, is_won=True)
    # Lost this week: no revenue.
    Opportunity.objects.create(account=world.initech, name="Initech trial", amount=Decimal("10000"),
                               created_at=at(30), closed_at=at(1), is_closed=True)
    # Last quarter, after a touch on 1 Nov.
    touch(world.acme, "web_visit", dt.datetime(2024, 11, 1, 12, tzinfo=UTC), minutes="5")
    Opportunity.objects.create(account=world.acme, name="Acme 2024", amount=Decimal("40000"),
                               created_at=dt.datetime(2024, 11, 15, 12, tzinfo=UTC))


def test_the_periods():
    (week, week_before), (quarter, quarter_before) = periods(D).values()
    assert (week.first, week.last, week_before.first, week_before.last) == (
        dt.date(2025, 3, 25), D, dt.date(2025, 3, 18), dt.date(2025, 3, 24))
    # Quarter to date: 1 Jan … 31 Mar is 89 days after its start; so is 29 Dec after 1 Oct.
    assert (quarter.first, quarter_before.first, quarter_before.last) == (
        dt.date(2025, 1, 1), dt.date(2024, 10, 1), dt.date(2024, 12, 29))
    _, (q, qb) = periods(dt.date(2025, 5, 31)).values()
    assert (q.first, qb.first, qb.last) == (dt.date(2025, 4, 1), dt.date(2025, 1, 1), dt.date(2025, 3, 2))


def test_pipeline_and_revenue_influenced_this_week_and_quarter_against_the_period_before(deals):
    s = weekly_summary(as_of=D)
    week, quarter = s["influence"]["week"], s["influence"]["quarter"]
    figures = ("pipeline_created", "pipeline_opportunities", "influenced_pipeline", "influenced_pipeline_opportunities",
               "won_revenue", "won_opportunities", "influenced_revenue", "influenced_revenue_opportunities")
    assert [week["now"][f] for f in figures] == [125000, 2, 125000, 2, 50000, 1, 50000, 1]
    # Globex's pilot was not yet influenced at the end of last week.
    assert [week["before"][f] for f in figures] == [30000, 1, 0, 0, 0, 0, 0, 0]
    assert week["pipeline_change"] is None  # nothing influenced before: no ratio
    assert [quarter["now"][f] for f in figures] == [215000, 5, 215000, 5, 50000, 1, 50000, 1]
    assert [quarter["before"][f] for f in figures] == [40000, 1, 40000, 1, 0, 0, 0, 0]
    assert quarter["pipeline_change"] == pytest.approx(175000 / 40000)


def test_headline_evidence_funnels_and_movers(deals, world):
    InfluenceSummary.objects.create(as_of=D, headline="Accounts in the top quartile won 20 points more often.",
                                    headline_opportunities=44)
    comparison = getattr(metric_models, "OutcomeComparison", None)
    if comparison is not None:
        comparison.objects.create(as_of=D, dimension="quartile", group_a="4", group_b="1", closed_a=22, closed_b=22,
                                  won_a=12, won_b=8, win_rate_difference=0.2, win_rate_difference_low=0.05,
                                  win_rate_difference_high=0.35, win_rate_p_value=0.012)
    publish(D - dt.timedelta(days=7))
    SegmentSnapshot.objects.create(segment=None, as_of=D, accounts=4, funnel_aware=4, funnel_engaged=3, funnel_mqa=2,
                                   funnel_opportunity=1)
    SegmentSnapshot.objects.create(segment=None, as_of=D - dt.timedelta(days=7), accounts=4, funnel_mqa=1)
    SegmentSnapshot.objects.create(segment=world.enterprise, as_of=D, accounts=2, funnel_aware=2)

    s = weekly_summary(as_of=D)

    assert s["headline"]["text"] == "Accounts in the top quartile won 20 points more often."
    assert s["headline"]["opportunities"] == 44
    if comparison is not None:
        assert s["headline"]["evidence"]["win_rate_p_value"] == 0.012
    assert [(f["name"], f["funnel_mqa"], f["week_ago"] and f["week_ago"]["funnel_mqa"]) for f in s["funnels"]] == [
        ("All target accounts", 2, 1), ("Enterprise", 0, None),
    ]
    assert [(m["account"], m["week_change"]) for m in s["movers"]] == [
        ("Iron East", 1461), ("Globex", 70), ("Initech", 3), ("Acme", 2),
    ]


def test_the_summary_goes_to_executives_once_a_week(deals, charlie, bob, django_capture_on_commit_callbacks):
    AlertPreferences.objects.create(user=bob, weekly_summary=True)  # a rep who asked for it
    with django_capture_on_commit_callbacks(execute=True):
        report = services.weekly_summaries_send()
    assert report.weekly == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["bob@example.com", "charlie@example.com"]
    message = mail.outbox[0]
    assert message.subject == "ABM weekly summary, week ending 31 Mar 2025"
    assert "Influenced pipeline: 125,000 this week (–), 215,000 quarter to date (+438 %)" in message.body
    assert "https://abm.example.com/alerts/weekly/?as_of=2025-03-31" in message.body
    assert "Unsubscribe from the weekly summary: https://abm.example.com/alerts/unsubscribe/" in message.body
    html, _ = message.alternatives[0]
    assert "Iron East" in html

    with django_capture_on_commit_callbacks(execute=True):
        assert services.weekly_summaries_send().weekly == 0
    assert len(mail.outbox) == 2
    assert Delivery.objects.filter(kind="weekly", status="sent").count() == 2


def test_an_executive_who_unsubscribed_gets_no_summary(world, charlie, django_capture_on_commit_callbacks):
    services.preferences_unsubscribe(user_id=charlie.pk, kind="weekly")
    with django_capture_on_commit_callbacks(execute=True):
        services.weekly_summaries_send()
    assert mail.outbox == []
