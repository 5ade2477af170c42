"""The fit score's arithmetic: the explained score adds up, and the model learns what wins."""

from __future__ import annotations

import math

import pytest

from accounts.models import Account
from fit import scoring
from fit.models import FitMethod, FitScore
from fit.services import fit_train
from tests.fit.builders import D, account, deals, software_always_wins

LN3 = math.log(3)


def _model(industry: dict[str, float], country: dict[str, float] | None = None) -> scoring.Model:
    """A hand-made model: intercept 0, every mean weight 0, so z0 = 0 and the baseline is 50."""
    return scoring.Model(
        intercept=0.0,
        weights=(industry, {"1-49": 0.0}, {"<1M": 0.0}, country or {"Germany": 0.0}),
        means=(0.0, 0.0, 0.0, 0.0),
    )


def test_one_attribute_takes_the_whole_distance_from_the_baseline():
    # z = ln 3: score = 100 × 3/4 = 75; baseline 100 σ(0) = 50; industry 75 − 50 = +25, the rest 0.
    e = scoring.explain(_model({"Software": LN3}), ("Software", "1-49", "<1M", "Germany"))
    assert e.score == 75
    assert e.contributions[0] == {"attribute": "industry", "value": "Software", "points": 25}
    assert [c["points"] for c in e.contributions[1:]] == [0, 0, 0]


def test_equal_log_odds_effects_share_the_points_equally():
    # z = ln 3 + ln 3 = ln 9: score = 100 × 9/10 = 90; baseline 50; 40 points, 20 each.
    e = scoring.explain(_model({"Software": LN3}, {"Germany": LN3}), ("Software", "1-49", "<1M", "Germany"))
    assert e.score == 90
    assert {(c["attribute"], c["points"]) for c in e.contributions if c["points"]} == {("industry", 20),
                                                                                       ("country", 20)}


def test_a_value_never_seen_weighs_nothing_and_a_negative_effect_takes_points_away():
    # Retail: z = −ln 3, score 100 × 1/4 = 25 = 50 − 25. "Mining" was never learnt: weight 0, score 50.
    m = _model({"Software": LN3, "Retail": -LN3})
    assert scoring.explain(m, ("Retail", "1-49", "<1M", "Germany")).contributions[0]["points"] == -25
    unseen = scoring.explain(m, ("Mining", "1-49", "<1M", "Germany"))
    assert (unseen.score, [c["points"] for c in unseen.contributions]) == (50, [0, 0, 0, 0])


def test_rounding_keeps_the_sum():
    # Three equal shares of 40: 13.33 each; the largest remainders get the extra point.
    assert scoring.apportion([40 / 3] * 3, 40) == [14, 13, 13]
    assert sum(scoring.apportion([2.6, -7.45, 0.35, 12.2], 8)) == 8
    # Floors −1, −1 make −2: one point back, to the first of the tied remainders (0.4 each).
    assert scoring.apportion([-0.6, -0.6], -1) == [0, -1]


@pytest.mark.django_db
def test_every_stored_score_is_its_baseline_plus_its_contributions():
    software_always_wins()
    # Accounts with every kind of attribute, unknown ones too.
    account(industry="Software", employees=20_000, revenue=2_000_000_000, country="Japan")
    account()
    run = fit_train(as_of=D)
    assert run.method == FitMethod.MODEL
    scores = list(FitScore.objects.all())
    assert len(scores) == Account.objects.count() == run.accounts_scored
    for s in scores:
        assert run.baseline + sum(c["points"] for c in s.contributions) == s.score
        assert [c["attribute"] for c in s.contributions] != [] and 0 <= s.score <= 100
        assert abs(s.score - s.probability) <= 0.5


@pytest.mark.django_db
def test_the_industry_that_always_wins_makes_the_top_contribution():
    software_always_wins()
    run = fit_train(as_of=D)
    top = run.attributes[0]
    assert (top["attribute"], top["value"], top["deals"], top["won"]) == ("industry", "Software", 40, 40)
    assert top["points"] > 0 and all(e["points"] < top["points"] for e in run.attributes[1:])
    # The 40 all-won Software deals beat every lost deal; only the 10 won elsewhere tie with the lost.
    assert run.auc > 0.8
    assert sum(b["deals"] for b in run.calibration) == 90 and run.won == 50 and run.lost == 40

    software = FitScore.objects.filter(account__industry="Software").first()
    retail = FitScore.objects.filter(account__industry="Retail").first()
    assert software.contributions[0]["attribute"] == "industry" and software.contributions[0]["points"] > 0
    assert software.score > run.baseline > retail.score


@pytest.mark.django_db
def test_renewals_upsells_and_later_deals_are_not_learnt_from():
    software_always_wins()
    acc = account(industry="Retail")
    deals(acc, won=50, type="renewal")
    deals(acc, won=50, type="upsell")
    run = fit_train(as_of=D)
    assert (run.won, run.lost) == (50, 40)
    # Deals closed after the as-of day are not known yet: as of a day before the closes, none.
    early = fit_train(as_of=D.replace(month=4, day=9))
    assert (early.method, early.won, early.lost) == (FitMethod.RULES, 0, 0)


@pytest.mark.django_db
def test_the_nightly_task_retrains_from_yesterdays_deals():
    from abm_dashboard.celery import app
    from fit.models import FitRun
    from fit.tasks import train_fit

    app.loader.import_default_modules()
    entry = app.conf.beat_schedule["nightly-fit"]
    assert entry["task"] == train_fit.name == "fit.tasks.train_fit"
    software_always_wins()
    run_id = train_fit.delay(D.isoformat()).get()
    run = FitRun.objects.get(pk=run_id)
    assert (run.as_of, run.method, run.won, run.lost) == (D, FitMethod.MODEL, 50, 40)
