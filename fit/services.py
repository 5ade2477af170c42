"""Writes of the fit app: train (or apply the rule profile) and store every account's score;
edit the rule profile."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, Opportunity, OpportunityType
from accounts.services import InvalidRecord, Problem
from fit import scoring
from fit.models import FitMethod, FitProfile, FitRun, FitScore

SCORE_BATCH = 2000
# FitProfile field → the attribute it gives points to.
PROFILE_FIELDS: dict[str, str] = {
    "industries": "industry",
    "employee_bands": "employee_band",
    "revenue_bands": "revenue_band",
    "countries": "country",
}


def _deals(*, as_of: dt.date) -> tuple[list[tuple[str, str, str, str]], list[bool]]:
    """The closed new-business deals closed on or before `as_of`: their account's attributes and
    whether they were won. Renewals and upsells are left out: they measure how customers stay
    and grow, not which prospects fit."""
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    deals = Opportunity.objects.filter(is_closed=True, type=OpportunityType.NEW, closed_at__lt=end).values_list(
        "is_won", "account__industry", "account__employees", "account__annual_revenue", "account__country"
    )
    rows, won = [], []
    for is_won, industry, employees, revenue, country in deals.iterator(chunk_size=5000):
        rows.append(scoring.attributes_of(industry=industry, employees=employees, revenue=revenue, country=country))
        won.append(bool(is_won))
    return rows, won


def _accounts() -> Iterator[tuple[int, tuple[str, str, str, str]]]:
    accounts = Account.objects.order_by("pk").values_list("pk", "industry", "employees", "annual_revenue", "country")
    for pk, industry, employees, revenue, country in accounts.iterator(chunk_size=SCORE_BATCH):
        yield pk, scoring.attributes_of(industry=industry, employees=employees, revenue=revenue, country=country)


def profile_points(profile: FitProfile) -> dict[str, dict[str, int]]:
    """The rule profile keyed by attribute, as fit.scoring.rule_explain reads it."""
    return {attribute: getattr(profile, field) or {} for field, attribute in PROFILE_FIELDS.items()}


def fit_train(*, as_of: dt.date | None = None) -> FitRun:
    """Score every account as of `as_of` (default: yesterday, the last whole UTC day).

    With at least FIT_MIN_DEALS won and as many lost closed new-business deals, by the model
    learnt from them (validated out of fold); otherwise by the rule profile. The run
    and every account's score are written in one transaction, replacing the previous scores.
    """
    as_of = as_of or timezone.now().date() - dt.timedelta(days=1)
    rows, won = _deals(as_of=as_of)
    n_won = sum(won)
    n_lost = len(won) - n_won
    minimum = settings.FIT_MIN_DEALS
    run = FitRun(as_of=as_of, won=n_won, lost=n_lost)
    if n_won >= minimum and n_lost >= minimum:
        trained = scoring.train(rows, won)
        model = trained.model
        run.method = FitMethod.MODEL
        run.auc, run.calibration = trained.auc, trained.calibration
        run.folds = trained.folds
        run.baseline = round(model.baseline)
        run.attributes = scoring.value_effects(model, rows, won)

        def explain(values: tuple[str, ...]) -> scoring.Explained:
            return scoring.explain(model, values)
    else:
        points = profile_points(FitProfile.load())
        run.method = FitMethod.RULES

        def explain(values: tuple[str, ...]) -> scoring.Explained:
            return scoring.rule_explain(points, values)

    with transaction.atomic():
        run.save()
        FitScore.objects.all().delete()
        batch: list[FitScore] = []
        cache: dict[tuple[str, ...], scoring.Explained] = {}  # accounts share few attribute combinations
        for pk, values in _accounts():
            e = cache.get(values) or cache.setdefault(values, explain(values))
            batch.append(FitScore(account_id=pk, run=run, score=e.score, probability=e.probability,
                                  contributions=e.contributions))
            if len(batch) >= SCORE_BATCH:
                FitScore.objects.bulk_create(batch)
                run.accounts_scored += len(batch)
                batch = []
        FitScore.objects.bulk_create(batch)
        run.accounts_scored += len(batch)
        run.save(update_fields=["accounts_scored"])
    return run


# ---------------------------------------------------------------------------- the rule profile

PROFILE_LABELS: dict[str, str] = {
    "industries": "Industries",
    "employee_bands": "Employee bands",
    "revenue_bands": "Revenue bands",
    "countries": "Countries",
}
# The values a band field accepts.
BAND_CHOICES: dict[str, tuple[str, ...]] = {
    "employee_bands": scoring.EMPLOYEE_BANDS,
    "revenue_bands": scoring.REVENUE_BANDS,
}


def parse_profile_lines(*, field: str, text: str) -> tuple[dict[str, int], list[Problem]]:
    """One attribute's points from lines of "value: points" (a blank line is skipped)."""
    label = PROFILE_LABELS[field]
    points: dict[str, int] = {}
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        value, sep, amount = line.rpartition(":")
        value = " ".join(value.split())
        where = f"{label}, line {number}"
        if not sep or not value:
            problems.append(Problem(field, f"{where}: {line.strip()!r} is not “value: points”"))
            continue
        try:
            n = int(amount.strip())
        except ValueError:
            problems.append(Problem(field, f"{where}: {amount.strip()!r} is not a whole number of points"))
            continue
        if not 0 <= n <= 100:
            problems.append(Problem(field, f"{where}: {n} points is not between 0 and 100"))
            continue
        if field in BAND_CHOICES and value not in BAND_CHOICES[field]:
            problems.append(Problem(
                field, f"{where}: {value!r} is not one of the bands {', '.join(BAND_CHOICES[field])}"
            ))
            continue
        key = value.casefold()
        if key in seen:
            problems.append(Problem(field, f"{where}: {value!r} is given already on line {seen[key]}"))
            continue
        seen[key] = number
        points[value] = n
    return points, problems


def fit_profile_update(*, texts: dict[str, str], user: AbstractBaseUser | None = None) -> FitProfile:
    """Replace the rule profile with the points of `texts` (field → "value: points" lines).

    Every line is checked first; any problem raises InvalidRecord naming the field and line and
    changes nothing. The largest points of the four attributes may add up to at most 100, so that
    a score stays 0–100 and is exactly the sum of its contributions. Saving rescoring is the
    caller's choice (fit_train), as the profile only scores while there are too few deals.
    """
    parsed: dict[str, dict[str, int]] = {}
    problems: list[Problem] = []
    for field in PROFILE_FIELDS:
        points, found = parse_profile_lines(field=field, text=texts.get(field, ""))
        parsed[field] = points
        problems += found
    if not problems:
        best = sum(max(p.values(), default=0) for p in parsed.values())
        if best > 100:
            problems.append(Problem(
                "profile", f"the best value of each attribute adds up to {best} points; at most 100 make a 0–100 score"
            ))
    if problems:
        raise InvalidRecord(problems)
    profile = FitProfile.load()
    for field, points in parsed.items():
        setattr(profile, field, points)
    profile.updated_by = user if user is not None and user.is_authenticated else None
    profile.save()
    return profile


def profile_texts(profile: FitProfile) -> dict[str, str]:
    """The profile as the form's "value: points" lines."""
    out: dict[str, Any] = {}
    for field in PROFILE_FIELDS:
        out[field] = "\n".join(f"{value}: {points}" for value, points in (getattr(profile, field) or {}).items())
    return out
