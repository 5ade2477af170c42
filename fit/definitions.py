"""The Fit page's figures, described once: its ⓘ tooltips and its Definitions section read them
(docs/metrics.md, "Fit", says the same at length)."""

from __future__ import annotations

from django.conf import settings

DEFINITIONS: dict[str, tuple[str, str]] = {
    "fit_score": (
        "Fit score",
        "0–100: the model's probability, in percent, that an opportunity at an account with this industry, "
        "employee band, revenue band and country is won, learnt from the closed new-business deals (a "
        "regularised logistic regression). With too few deals, the points of the rule profile instead.",
    ),
    "fit_baseline": (
        "Baseline",
        "The score of an account whose every attribute has the average effect of the deals learnt from. Every "
        "score is the baseline plus its contributions, exactly (0 for the rule profile).",
    ),
    "fit_contribution": (
        "Contribution",
        "How many points an attribute adds to (or takes from) the baseline: its share of the score's distance "
        "from the baseline, in proportion to how far its value moves the log-odds from the average. The "
        "contributions of an account add up to score − baseline.",
    ),
    "fit_effect": (
        "Effect of a value",
        "Points an attribute value adds to the baseline for an account whose other attributes are average: "
        "100 × σ(z0 + weight − the attribute's mean weight) − baseline, where weight is the value's log-odds "
        "weight in the model.",
    ),
    "fit_auc": (
        "AUC on held-out deals",
        "The chance that a won deal held out of training scores higher than a lost one (0.5: no better than a "
        "coin; 1: perfect). Five-fold cross-validation: each deal is scored by the model learnt from the other "
        "four fifths of the deals, so every deal is scored while held out.",
    ),
    "fit_calibration": (
        "Calibration",
        "The held-out deals in five bins of equal size by score: the bin's mean score against the share of its "
        "deals won. A calibrated score sits on the diagonal (a score of 30 wins about 30 % of the time).",
    ),
    "fit_minimum": (
        "Enough deals",
        "The model learns only from at least {min} won and {min} lost closed new-business deals; with fewer, "
        "the rule profile scores the accounts.",
    ),
}


def described() -> list[tuple[str, str, str]]:
    """(name, label, text) of every definition, the settings filled in."""
    return [(name, label, text.format(min=settings.FIT_MIN_DEALS)) for name, (label, text) in DEFINITIONS.items()]
