"""The demo data's stage history (accounts/demo/history.py), as the trends page reads it."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Opportunity
from sales import trends
from sales.models import OpportunityStageChange

END = date(2024, 6, 30)


def _seed(*args: str) -> list[tuple]:
    call_command("seed_demo", "--end-date", END.isoformat(), "--no-progress", "--accounts", "30", "--days", "200",
                 *args, stdout=StringIO(), stderr=StringIO())
    return list(OpportunityStageChange.objects.order_by("external_id").values_list(
        "opportunity__external_id", "stage", "entered_at", "source", "external_id"))


@pytest.mark.django_db
def test_every_demo_opportunity_has_a_history_that_ends_where_the_opportunity_is():
    first = _seed()
    assert _seed("--reset") == first  # the same arguments write the same rows
    opportunities = list(Opportunity.objects.prefetch_related("stage_changes"))
    assert opportunities and len(first) > len(opportunities)
    for o in opportunities:
        changes = sorted(o.stage_changes.all(), key=lambda c: c.entered_at)
        assert changes[0].entered_at == o.created_at and changes[0].stage == "Prospecting"
        if o.is_closed:
            # Closed: its last entry is its outcome, at its close.
            assert (changes[-1].stage, changes[-1].entered_at) == (o.stage, o.closed_at)
        else:
            assert changes[-1].stage == o.stage
        assert [c.entered_at for c in changes] == sorted(c.entered_at for c in changes)

    history = trends.stage_history(scope=trends.EVERY_ACCOUNT, as_of=END, grain="quarter", count=3)
    labels = [label for _, label in history.order]
    assert labels[:4] == ["Prospecting", "Qualification", "Proposal", "Negotiation"]
    assert set(labels[4:]) <= {"Won", "Lost"}
    assert history.totals[0].entered > 0 and history.totals[0].median_days is not None
