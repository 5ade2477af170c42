"""Reads of the fit app: the latest run, the look-alikes, the fit distribution.

Pages read the scores the last run stored; nothing here trains or scores.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Least

from accounts.models import Account
from fit import scoring
from fit.models import FitRun, FitScore
from metrics.families.influence import SIZE_BANDS

BIN_POINTS = 10  # the distribution's bins: 0–9, 10–19, …, 90–100


def latest_run() -> FitRun | None:
    return FitRun.objects.order_by("-created_at", "-id").first()


@dataclass(frozen=True)
class LookalikeFilters:
    min_score: int | None = None
    industry: str = ""
    employee_band: str = ""
    country: str = ""
    q: str = ""

    def described(self) -> list[tuple[str, str]]:
        """(label, value) of each filter set, for the confirmation page."""
        out = [("Not a target account", "yes")]
        if self.min_score is not None:
            out.append(("Fit score at least", str(self.min_score)))
        for label, value in (("Industry", self.industry), ("Employees", self.employee_band),
                             ("Country", self.country), ("Name or domain contains", self.q)):
            if value:
                out.append((label, value))
        return out


def lookalikes(*, filters: LookalikeFilters) -> QuerySet[FitScore]:
    """Non-target accounts by fit, best first (ties: the unrounded probability, then name)."""
    qs = FitScore.objects.filter(account__is_target=False).select_related("account", "account__owner")
    if filters.min_score is not None:
        qs = qs.filter(score__gte=filters.min_score)
    if filters.industry:
        qs = qs.filter(_text_q("industry", filters.industry))
    if filters.country:
        qs = qs.filter(_text_q("country", filters.country))
    if filters.employee_band:
        qs = qs.filter(_band_q(filters.employee_band))
    if filters.q:
        qs = qs.filter(Q(account__name__icontains=filters.q) | Q(account__domain__icontains=filters.q))
    return qs.order_by("-probability", "account__name", "account_id")


def _text_q(field: str, value: str) -> Q:
    return Q(**{f"account__{field}": ""}) if value == scoring.UNKNOWN else Q(**{f"account__{field}__iexact": value})


def _band_q(band: str) -> Q:
    """The employee counts of a band of metrics.families.influence.SIZE_BANDS ("unknown": none or 0)."""
    if band == scoring.UNKNOWN:
        return Q(account__employees__isnull=True) | Q(account__employees=0)
    floors = dict((label, floor) for floor, label in SIZE_BANDS)
    if band not in floors:
        return Q(pk__in=[])
    low = floors[band]
    above = [f for f in floors.values() if f > low]
    q = Q(account__employees__gte=low)
    return q & Q(account__employees__lt=min(above)) if above else q


def lookalike_accounts(*, filters: LookalikeFilters) -> QuerySet[Account]:
    """The accounts of lookalikes(): what "mark as targets" acts on."""
    return Account.objects.filter(pk__in=lookalikes(filters=filters).values("account_id"))


def distribution(*, run: FitRun) -> dict[str, list[int]]:
    """Accounts per 10-point bin of fit (the last bin holds 90–100), targets and non-targets. One query."""
    rows = (
        FitScore.objects.filter(run=run)
        .annotate(bin=Least(F("score") / BIN_POINTS, Value(100 // BIN_POINTS - 1)))
        .values("account__is_target", "bin")
        .annotate(n=Count("pk"))
    )
    out = {"targets": [0] * (100 // BIN_POINTS), "others": [0] * (100 // BIN_POINTS)}
    for row in rows:
        out["targets" if row["account__is_target"] else "others"][row["bin"]] += row["n"]
    return out


def filter_choices() -> dict[str, list[str]]:
    """The industries and countries the non-target accounts have, for the filter's lists."""
    accounts = Account.objects.filter(is_target=False)
    industries = accounts.exclude(industry="").values_list("industry", flat=True).distinct().order_by("industry")
    countries = accounts.exclude(country="").values_list("country", flat=True).distinct().order_by("country")
    return {"industries": list(industries), "countries": list(countries)}
