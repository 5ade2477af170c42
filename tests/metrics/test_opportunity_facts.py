"""OpportunityFact: a run stores each opportunity's pre-creation minutes and attribution credits;
a refresh after new touches reuses those of the accounts it did not touch and computes the rest,
with the figures of a full run."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import Opportunity
from metrics import services
from metrics.families import influence
from metrics.models import AttributionCredit, MetricSettings, OpportunityFact
from tests.metrics.builders import D, account, at, contact, opportunity, program, snapshot_rows, touch

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Two target accounts, each with a webinar touch and an email touch before two deals: one
    closed (won) and one open, created in W90."""
    webinar, email = program("Webinar", "webinar"), program("Newsletter", "email")
    accounts = []
    for n in range(2):
        acc = account(external_id=f"A{n}")
        ada = contact(acc)
        touch(acc, "webinar_attended", at(50), who=ada, program=webinar)
        touch(acc, "email_click", at(45), who=ada, program=email)
        opportunity(acc, "1000.00", at(40), closed=at(10), won=True)
        opportunity(acc, "3000.00", at(20))
        accounts.append(acc)
    services.compute_day(as_of=D)
    return accounts, webinar, email


def _attributed(monkeypatch) -> list[int]:
    """The opportunities whose credits are computed (rather than read) from now on."""
    computed: list[int] = []
    real = influence.journey_credits
    monkeypatch.setattr(influence, "journey_credits", lambda j, cfg: computed.append(j.pk) or real(j, cfg))
    return computed


def _full_run() -> dict:
    services.compute_day(as_of=D)
    return snapshot_rows()


def test_a_run_stores_each_opportunitys_minutes_and_credits(world) -> None:
    accounts, webinar, email = world
    facts = list(OpportunityFact.objects.select_related("opportunity"))
    # Minutes: the closed deals only (the outcome tables' unit): 30 (webinar) + 2 (click) before creation.
    assert sorted((f.opportunity.amount, f.units) for f in facts if f.kind == "minutes") == [
        (Decimal("1000.00"), 32_000_000)] * 2
    # Pipeline credit of a 3,000 deal, linear: half to each program, in cents.
    open_deals = [f for f in facts if f.kind == "pipeline" and f.opportunity.amount == Decimal("3000.00")]
    assert [f.credit["linear"] for f in open_deals] == [{str(webinar.pk): 150_000, str(email.pk): 150_000}] * 2
    assert sorted(f.opportunity.amount for f in facts if f.kind == "revenue") == [Decimal("1000.00")] * 2


def test_a_refresh_recomputes_only_the_touched_accounts_opportunities_and_equals_a_full_run(world, monkeypatch):
    (first, second), webinar, _ = world
    touch(first, "webinar_attended", at(25), program=webinar)  # before the open deal was created: credited
    computed = _attributed(monkeypatch)
    services.refresh_day_accounts(as_of=D, account_ids=[first.pk])
    # Pipeline: both deals of `first` (created in W90); revenue: its won deal. None of `second`'s.
    mine = set(Opportunity.objects.filter(account=first).values_list("pk", flat=True))
    assert sorted(computed) == sorted([*mine, *Opportunity.objects.filter(account=first, is_won=True)
                                       .values_list("pk", flat=True)])
    refreshed = snapshot_rows()
    linear = AttributionCredit.objects.get(as_of=D, basis="pipeline", model="linear", program=webinar).credit
    # 1,000 + 3,000 at `second` (half each) + `first`'s 1,000 (half) + 3,000 (two webinar touches of three: 2/3)
    assert linear == Decimal("500.00") + Decimal("1500.00") + Decimal("500.00") + Decimal("2000.00")
    assert _full_run() == refreshed


def test_a_fact_no_longer_holds_when_its_opportunity_or_the_settings_change(world, monkeypatch) -> None:
    (first, second), *_ = world
    grown = Opportunity.objects.get(account=second, is_won=False)
    Opportunity.objects.filter(pk=grown.pk).update(amount=Decimal("4500.00"))
    computed = _attributed(monkeypatch)
    services.refresh_day_accounts(as_of=D, account_ids=[first.pk])
    assert grown.pk in computed  # its amount changed: its stored credit no longer holds
    assert _full_run() == snapshot_rows()
    computed.clear()
    cfg = MetricSettings.load()
    cfg.time_decay_half_life_days = 14
    cfg.save()
    services.refresh_day_accounts(as_of=D, account_ids=[first.pk])
    assert len(computed) == 6  # every deal: 4 pipeline + 2 revenue under the new half-life
