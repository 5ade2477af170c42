"""The ICP fit score: training runs, the score of each account, and the marketer's rule profile.

A run (FitRun) is one training of the model (or, with too few closed deals, one scoring by the
rule profile) and what it measured; each account keeps the score of the latest run (FitScore, one
row per account, replaced by the next run). How the score and its contributions are computed:
fit/scoring.py and docs/metrics.md, "Fit".
"""

from __future__ import annotations

from django.db import models

from accounts.models import Account


class FitMethod(models.TextChoices):
    MODEL = "model", "Learnt from closed deals"
    RULES = "rules", "Rule-based profile"


class FitRun(models.Model):
    """One scoring of every account, by the model trained that day or by the rule profile."""

    as_of = models.DateField(help_text="The day the closed deals were counted up to (inclusive).")
    created_at = models.DateTimeField(auto_now_add=True)
    method = models.CharField(max_length=10, choices=FitMethod.choices)
    # The closed new-business deals there were to learn from (all of them, before the split).
    won = models.PositiveIntegerField(default=0)
    lost = models.PositiveIntegerField(default=0)
    # The held-out validation (model runs only): the cross-validation folds (each deal scored by
    # the model of the other folds), the AUC of those scores, and the calibration table
    # [{"predicted": mean score 0–100, "observed": win rate 0–100, "deals": n}].
    folds = models.PositiveSmallIntegerField(default=0)
    auc = models.FloatField(null=True, blank=True)
    calibration = models.JSONField(default=list, blank=True)
    # The score of an account of average attributes, in points: every score is baseline + its
    # contributions (0 for the rule profile, whose points add up from nothing).
    baseline = models.SmallIntegerField(default=0)
    # Per attribute value: [{"attribute", "value", "weight" (log-odds), "points" (for an otherwise
    # average account), "deals", "won"}], what the page's table of contributions shows.
    attributes = models.JSONField(default=list, blank=True)
    accounts_scored = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Fit {self.get_method_display().lower()} as of {self.as_of}"


class FitScore(models.Model):
    """An account's fit score from the latest run, with the contribution of each attribute."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, primary_key=True, related_name="fit")
    run = models.ForeignKey(FitRun, on_delete=models.CASCADE, related_name="scores")
    score = models.PositiveSmallIntegerField(help_text="0–100: run.baseline + the sum of the contributions.")
    # The unrounded model probability × 100 (the rule points for the profile): orders look-alikes
    # whose rounded scores tie.
    probability = models.FloatField()
    # [{"attribute": "industry", "value": "Software", "points": 18}, …], largest effect first.
    contributions = models.JSONField(default=list)

    class Meta:
        indexes = [models.Index(fields=["-probability"], name="fit_score_probability")]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.score}"


class FitProfile(models.Model):
    """The rule profile a marketer edits, used while there are too few closed deals to learn from.

    Each attribute maps chosen values to points; an account scores the points of its values.
    The largest points of the four attributes add up to at most 100 (fit.services checks it).
    """

    industries = models.JSONField(default=dict, blank=True)
    employee_bands = models.JSONField(default=dict, blank=True)
    revenue_bands = models.JSONField(default=dict, blank=True)
    countries = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return "Fit rule profile"

    @classmethod
    def load(cls) -> FitProfile:
        """The one profile; an empty one (not saved: pages only read) before the first edit."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)
