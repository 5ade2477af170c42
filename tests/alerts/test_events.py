"""What happened on a day: each event, its sentence and its figures (alerts.events)."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import Account, Contact, Opportunity
from alerts.events import day_events, news_since, previous_published_day
from alerts.models import AlertRule
from alerts.selectors import alerts_by_rule
from metrics.models import AccountSnapshot, MetricSettings, MetricsRun

from .conftest import D, at, publish, snap, touch

pytestmark = pytest.mark.django_db


def texts(events, event: str) -> list[str]:
    return [a.text for a in events.by_event[event]]


def test_each_event_of_the_day_in_one_sentence_with_its_figures(world):
    events = day_events(as_of=D)

    assert events.previous == D - dt.timedelta(days=1) and events.since == D
    assert texts(events, "spike") == [
        "Globex: 90 minutes in the last 7 days against a weekly average of 20.",
        "Iron East: 1,747 minutes in the last 7 days against a weekly average of 286; Sofia Harris (CEO) attended "
        "the webinar “Scaling ABM” on 28 Mar.",
        "Umbrella: 60 minutes in the last 7 days against a weekly average of 1.",
    ]
    assert texts(events, "mqa") == [
        "Acme became an MQA: 240 minutes in the last 90 days from 3 engaged contacts; most engaged: Carl Chen "
        "(Head of IT) with 30 minutes."
    ]
    assert texts(events, "engaged_contact") == [
        "Dana Diaz (VP Sales, champion) at Acme engaged for the first time in 90 days: clicked an email of "
        "“Spring newsletter” on 31 Mar (2 minutes in 1 touch)."
    ]
    assert texts(events, "quiet_return") == [
        "Initech is back after 31 quiet days: An anonymous visitor visited the website on 31 Mar."
    ]
    # Umbrella's opportunity is at an account that is not a target.
    assert texts(events, "opportunity") == [
        "Iron East: new opportunity “Iron East platform” of 120,000 USD created on 31 Mar (stage Qualification), "
        "after 2,900 engagement minutes in the last 90 days."
    ]


def test_the_figures_behind_a_spike(world):
    spike = next(a for a in day_events(as_of=D).by_event["spike"] if a.account_name == "Iron East")
    assert spike.figures["minutes_7d"] == 1747
    assert spike.figures["weekly_average"] == 286
    top = spike.figures["top_contact"]
    # W7: Sofia 60 (webinar, × 2 as a CEO) + 10 (a 5-minute visit, × 2); Tom 30 (a meeting).
    assert (top["name"], top["title"], top["minutes"], top["kind"], top["program"]) == (
        "Sofia Harris", "CEO", 70.0, "webinar_attended", "Scaling ABM"
    )


def test_a_state_the_previous_published_day_had_is_no_news(world):
    AccountSnapshot.objects.filter(account=world.iron, as_of=D - dt.timedelta(days=1)).update(spike=True)
    AccountSnapshot.objects.filter(account=world.acme, as_of=D - dt.timedelta(days=1)).update(mqa=True)
    events = day_events(as_of=D)
    assert "Iron East" not in [a.account_name for a in events.by_event["spike"]]
    assert events.by_event["mqa"] == []


def test_an_unpublished_day_before_is_not_the_previous_day(world):
    # D−1's run failed: D's news reach back to the day after D−2 (nothing published there either,
    # so the window is D alone at first; then, with D−3 published, D−2 … D).
    MetricsRun.objects.filter(as_of=D - dt.timedelta(days=1)).update(status="failed")
    assert previous_published_day(D) is None
    publish(D - dt.timedelta(days=3))
    assert previous_published_day(D) == D - dt.timedelta(days=3)
    assert news_since(as_of=D, previous=D - dt.timedelta(days=3), cfg=MetricSettings.load()) == D - dt.timedelta(days=2)
    # An opportunity created on D−2 is news on D now.
    Opportunity.objects.create(account=world.acme, name="Acme renewal", amount=1000, created_at=at(2))
    assert [a.account_name for a in day_events(as_of=D).by_event["opportunity"]] == ["Acme", "Iron East"]


def test_the_news_window_is_at_most_a_week_long():
    cfg = MetricSettings.load()
    assert news_since(as_of=D, previous=D - dt.timedelta(days=30), cfg=cfg) == D - dt.timedelta(days=6)
    assert news_since(as_of=D, previous=None, cfg=cfg) == D


@pytest.mark.parametrize(("earlier", "new"), [(91, True), (90, False), (20, False)])
def test_a_contact_is_newly_engaged_when_W90_of_the_day_before_holds_no_touch_of_theirs(world, earlier, new):
    """W90 of D−1 is D−90 … D−1: a touch on D−90 means Dana was engaged already."""
    touch(world.acme, "email_click", at(earlier), who=world.dana)
    assert bool(day_events(as_of=D).by_event["engaged_contact"]) is new


def test_a_zero_minute_touch_engages_no_one(world):
    ivy = Contact.objects.create(account=world.acme, email="ivy@acme.example", first_name="Ivy", last_name="Ito",
                                 role="decision_maker")
    touch(world.acme, "ad_impression", at(0), who=ivy)
    assert [a.figures["contact"]["name"] for a in day_events(as_of=D).by_event["engaged_contact"]] == ["Dana Diaz"]


@pytest.mark.parametrize(("before", "quiet"), [(31, 30), (30, None)])
def test_quiet_days_are_the_whole_days_between_two_touches(world, before, quiet):
    """A touch 31 days before the return leaves 30 quiet days in between: enough for 30."""
    touch(world.initech, "web_visit", at(before), minutes="1")
    found = day_events(as_of=D, min_quiet_days=30).by_event["quiet_return"]
    assert [a.figures["quiet_days"] for a in found] == ([quiet] if quiet else [])


def test_a_first_engaged_touch_on_record_is_a_return_too(world):
    newco = Account.objects.create(name="Newco", domain="newco.example", is_target=True)
    snap(newco, minutes_7d=1)
    touch(newco, "web_visit", at(0), minutes="1")
    found = {a.account_name: a for a in day_events(as_of=D).by_event["quiet_return"]}
    assert found["Newco"].figures["quiet_days"] is None
    assert found["Newco"].text == (
        "Newco has its first engaged touch on record: An anonymous visitor visited the website on 31 Mar."
    )


def test_rules_pick_their_scope_roles_and_quiet_days(world, bob, alice, charlie):
    events = day_events(as_of=D)
    cfg = MetricSettings.load()
    rules = list(AlertRule.objects.select_related("segment").order_by("owner_id", "event"))
    found = {(ra.rule.owner.username, ra.rule.event): [a.account_name for a in ra.alerts]
             for ra in alerts_by_rule(rules=rules, events=events, cfg=cfg)}
    assert found[("bob", "spike")] == ["Iron East"]  # not Umbrella: not a target
    assert found[("bob", "mqa")] == ["Acme"]
    assert found[("bob", "engaged_contact")] == ["Acme"]
    assert found[("bob", "opportunity")] == ["Iron East"]
    assert found[("bob", "quiet_return")] == []
    assert found[("alice", "spike")] == ["Globex"]
    assert found[("charlie", "spike")] == ["Globex"]
    assert found[("charlie", "quiet_return")] == ["Initech"]

    strict = AlertRule(owner=bob, event="engaged_contact", scope="targets", roles=["decision_maker"])
    longer = AlertRule(owner=bob, event="quiet_return", scope="targets", quiet_days=45)
    segment = AlertRule(owner=bob, event="spike", scope="segment", segment=world.enterprise)
    targets = AlertRule(owner=bob, event="spike", scope="targets")
    [r_strict, r_longer, r_segment, r_targets] = alerts_by_rule(
        rules=[strict, longer, segment, targets], events=events, cfg=cfg
    )
    assert r_strict.alerts == []  # Dana is a champion
    assert r_longer.alerts == []  # 31 quiet days < 45
    assert [a.account_name for a in r_segment.alerts] == ["Globex"]
    assert [a.account_name for a in r_targets.alerts] == ["Globex", "Iron East"]


def test_finding_the_days_events_takes_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    for i in range(20):
        extra = Account.objects.create(name=f"Extra {i}", domain=f"x{i}.example", is_target=True)
        snap(extra, D - dt.timedelta(days=1), minutes_7d=1)
        snap(extra, minutes_7d=50, minutes_prev_21d=3, spike=True, mqa=True, minutes_90d=500)
        c = Contact.objects.create(account=extra, email=f"p{i}@x{i}.example", first_name="P", last_name=str(i),
                                   role="champion")
        touch(extra, "meeting", at(0), who=c)
    MetricSettings.load()
    with django_assert_max_num_queries(14):
        events = day_events(as_of=D)
    assert len(events.by_event["spike"]) == 23


def test_matching_rules_takes_one_query_per_scope_not_per_rule(world, bob, django_assert_num_queries):
    events = day_events(as_of=D)
    cfg = MetricSettings.load()
    rules = [AlertRule(owner=bob, event=event, scope="mine") for event in ("spike", "mqa") for _ in range(20)]
    rules += [AlertRule(owner=bob, event="spike", scope="segment", segment=world.enterprise) for _ in range(20)]
    with django_assert_num_queries(2):  # Bob's accounts; the Enterprise segment
        found = alerts_by_rule(rules=rules, events=events, cfg=cfg)
    assert len(found) == 60 and [a.account_name for a in found[0].alerts] == ["Iron East"]
