"""/trends/: every role sees it, the period toggle swaps the body, the CSV is the table shown.

Time is frozen at 2024-07-01 10:00 UTC, so the last complete day D is 2024-06-30, the builders' D.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from freezegun import freeze_time

from accounts.models import Segment
from sales import trends
from sales.models import OpportunityStageChange
from tests.metrics.builders import account, opportunity

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen():
    # The URLconf loads every app's views (the Fit page's scikit-learn among them) before the clock
    # stops: importing those libraries under a frozen clock crashes them.
    reverse("sales:trends")
    with freeze_time("2024-07-01 10:00:00"):
        yield


@pytest.fixture
def deals() -> None:
    a = account("A")
    Segment.objects.create(name="Enterprise").accounts.add(a)
    # May: two closed (won 10,000 after 40 days, lost 5,000); June: one created, still open.
    won = opportunity(a, "10000", datetime(2024, 4, 10, 12, tzinfo=UTC), closed=datetime(2024, 5, 20, 12, tzinfo=UTC),
                      won=True)
    opportunity(a, "5000", datetime(2024, 4, 15, 12, tzinfo=UTC), closed=datetime(2024, 5, 5, 12, tzinfo=UTC))
    opportunity(a, "3000", datetime(2024, 6, 1, 12, tzinfo=UTC))
    for n, (stage, day) in enumerate((("Prospecting", 10), ("Qualification", 20))):
        OpportunityStageChange.objects.create(opportunity=won, stage=stage, source="test", external_id=f"h{n}",
                                              entered_at=datetime(2024, 4, day, tzinfo=UTC))
    OpportunityStageChange.objects.create(opportunity=won, stage="Closed Won", entered_at=won.closed_at, source="test",
                                          external_id="h9")


@pytest.mark.parametrize("user", ["alice", "bob", "charlie", "ada"])
def test_every_role_sees_the_trends_page_with_its_definitions(client, request, deals, user):
    client.force_login(request.getfixturevalue(user))
    response = client.get(reverse("sales:trends"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/trends/" aria-current="page">Trends</a>' in html
    assert "<th scope=\"row\">2024-05</th>" in html
    # May: won 1 of 2 → 50 %; every figure has its definition.
    assert "50 %" in html
    assert 'id="def-sales_velocity"' in html and 'href="#def-win_rate"' in html
    # The stage table: Prospecting → Qualification → Won, one deal each.
    assert "<th scope=\"row\">Qualification</th>" in html


def test_the_period_toggle_returns_only_the_body_to_htmx(client, charlie, deals):
    client.force_login(charlie)
    response = client.get(reverse("sales:trends"), {"period": "quarter"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html and "2024 Q2" in html
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_the_csv_is_the_table_shown(client, charlie, deals):
    client.force_login(charlie)
    segment = Segment.objects.get(name="Enterprise")
    response = client.get(reverse("sales:trends_export"), {"period": "month", "scope": segment.pk})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == ("period,opportunities_created,pipeline_created,opportunities_closed,opportunities_won,"
                        "pipeline_won,win_rate,avg_contract_value,median_cycle_days,open_opportunities,sales_velocity")
    may = next(line for line in lines if line.startswith("2024-05,"))
    # Created 0; closed 2, won 1 (10,000): win rate 0.5, ACV 10,000, cycle 40; open at the end of May: 0
    # → velocity 0 × 0.5 × 10,000 / 40 = 0.
    assert may == "2024-05,0,0.00,2,1,10000.00,0.5,10000.00,40.0,0,0.0"
    assert len(lines) == 1 + 12


def test_the_page_needs_a_login(client):
    response = client.get(reverse("sales:trends"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_page_shows_a_change_at_once_although_its_figures_are_cached(client, charlie, deals, monkeypatch):
    computed = []
    monkeypatch.setattr(trends, "trends", lambda real=trends.trends, **kw: computed.append(kw) or real(**kw))
    client.force_login(charlie)

    def export() -> str:
        return b"".join(client.get(reverse("sales:trends_export")).streaming_content).decode()

    before = export()
    assert "2024-06,1,3000.00," in before  # June: one created, 3,000
    assert export() == before and len(computed) == 1  # the same data: from the cache
    account_ = Segment.objects.get(name="Enterprise").accounts.get()
    opportunity(account_, "4000", datetime(2024, 6, 20, 12, tzinfo=UTC))
    assert "2024-06,2,7000.00," in export() and len(computed) == 2  # a new opportunity: computed again


def test_stage_history_is_read_only_in_the_admin(client, django_user_model):
    admin_user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client.force_login(admin_user)
    assert client.get("/admin/sales/opportunitystagechange/").status_code == 200
    assert client.get("/admin/sales/opportunitystagechange/add/").status_code == 403
