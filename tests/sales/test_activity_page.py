"""/sales-activity/ and the rep's own numbers on /me/: who sees which reps, and the numbers shown."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User

from accounts.models import Touchpoint
from metrics.models import MetricsRun
from tests.metrics.builders import D, account, at

pytestmark = pytest.mark.django_db


def build_team(bob: User) -> User:
    """Bob and Dan (sales reps) and their touches, with day D published.

    Bob on D: 2 call attempts, 2 connected calls (6 and 3 minutes), 1 sales email, 1 meeting.
    Dan on D−1: 1 connected call of 10 minutes. Bob owns 2 target accounts, Dan 1.
    """
    dan = User.objects.create_user("dan", "dan@example.com", "pw-dan", first_name="Dan")
    dan.groups.add(Group.objects.get(name="sales"))
    acme, _ = account("Acme", owner=bob), account("Bobs other", owner=bob)
    hooli = account("Hooli", owner=dan)
    rows = [(acme, "call_attempt", at(0, 9), bob, None), (acme, "call_attempt", at(0, 10), bob, None),
            (acme, "call_connected", at(0, 11), bob, "6"), (acme, "call_connected", at(0, 12), bob, "3"),
            (acme, "sales_email", at(0, 13), bob, None), (acme, "meeting", at(0, 14), bob, "30"),
            (hooli, "call_connected", at(1, 9), dan, "10")]
    for n, (acc, kind, when, rep, minutes) in enumerate(rows):
        Touchpoint.objects.create(account=acc, kind=kind, occurred_at=when, performed_by=rep, source="test",
                                  external_id=f"P{n}", minutes=None if minutes is None else Decimal(minutes))
    MetricsRun.objects.create(as_of=D, status="done", chunks_total=1, chunks_done=1)
    return dan


def _cells(html: str, rep: str) -> list[str]:
    """The text of the cells of `rep`'s row in the per-rep table."""
    row = re.search(rf"<tr>\s*<td>(?:<a [^>]*>)?{rep}(?:</a>)?</td>(.*?)</tr>", html, re.S)
    assert row, f"no row for {rep}"
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


def test_a_manager_sees_every_rep_with_totals(client, alice, bob):
    build_team(bob)
    client.force_login(alice)
    html = client.get("/sales-activity/?period=day").content.decode()
    # Bob: calls 2 + 2 = 4, connects 2, rate 2/4 = 50 %, meaningful 1 (6 ≥ 5; 3 is not), emails 1,
    # replies 0, meetings 1, conversation → meeting 1/1 = 100 %; 2 target accounts, none accepted.
    assert _cells(html, "Bob") == ["4", "2", "50 %", "1", "1", "0", "1", "100 %", "2", "0", "0.0", "0", "0"]
    # Dan: 1 call, connected, 10 minutes: rate 100 %, meaningful 1, no meeting: 0/1 = 0 %.
    assert _cells(html, "Dan")[:9] == ["1", "1", "100 %", "1", "0", "0", "0", "0 %", "1"]
    assert "All reps" in html
    assert 'href="/definitions/#connect_rate"' in html  # every number has its definition
    assert 'id="fig-activity"' in html


def test_a_rep_sees_only_their_own_row(client, bob):
    build_team(bob)
    client.force_login(bob)
    html = client.get("/sales-activity/?period=week").content.decode()
    assert _cells(html, "Bob")[:3] == ["4", "2", "50 %"]
    assert "Dan" not in html and "All reps" not in html


def test_an_unknown_period_shows_weeks(client, alice, bob):
    build_team(bob)
    client.force_login(alice)
    html = client.get("/sales-activity/?period=fortnight").content.decode()
    assert "12 weeks to 30 Jun" in html


def test_my_accounts_shows_the_reps_week(client, bob):
    build_team(bob)
    client.force_login(bob)
    html = client.get("/me/").content.decode()
    section = html[html.index('id="my-activity"'):]
    # The week of Monday 24 June: Bob's 4 calls, 50 % connect rate, 1 meaningful conversation.
    tiles = [re.sub(r"<[^>]+>", "", d).strip() for d in re.findall(r"<dd>(.*?)</dd>", section)]
    assert tiles[:6] == ["4", "50 %", "1", "1", "0", "1"]


def test_before_the_first_metrics_run_the_page_says_so(client, alice):
    client.force_login(alice)
    response = client.get("/sales-activity/")
    assert response.status_code == 200
    assert "dashboard/no_metrics.html" in [t.name for t in response.templates]


def test_the_chart_is_what_plotly_itself_would_write(client, alice, bob):
    """The figure dict, written by hand (dashboard/charts.py), passes plotly's own validation, and
    its bars are the team's day: Bob's 4 calls on D."""
    from tests.dashboard.test_charts_json import as_json, embedded_figures, validated

    build_team(bob)
    client.force_login(alice)
    fig = embedded_figures(client.get("/sales-activity/?period=day"))["fig-activity"]
    assert as_json(fig["data"]) == validated(fig)["data"]
    calls = next(t for t in fig["data"] if t["name"] == "Calls")
    # Day D−1: Dan's one call; day D: Bob's 4.
    assert calls["y"][-2:] == [1, 4]
