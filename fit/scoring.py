"""The fit score's arithmetic: attributes, the model, its validation and the explained score.

Pure functions over plain values (no database): fit.services reads the deals and accounts,
calls these, and stores the result. docs/metrics.md, "Fit", says the same in prose.

**Attributes.** industry, employee band, revenue band and country of the account; a missing
value is the value "unknown" (it is learnt like any other).

**Model.** scikit-learn's LogisticRegression (L2-regularised, C=FIT_C) on the one-hot encoded
attributes (OneHotEncoder; a value never seen in training weighs 0), fitted to the closed
new-business deals: won = 1, lost = 0. The score is 100 × the predicted probability of a win.

**Validation.** Five-fold stratified cross-validation (fixed seed): the deals are split into
five folds of the same won/lost mix, and each deal is scored by the model fitted on the other
four folds, so every deal is scored once while held out. The AUC (sklearn.metrics.roc_auc_score)
and the calibration table (sklearn.calibration.calibration_curve, quantile bins) are computed
from those held-out scores. The stored model is then fitted on every deal.

**Explained score.** With w_a(v) the log-odds weight of value v of attribute a, b the intercept,
and m_a the mean weight of attribute a over the deals learnt from:
  z0 = b + Σ_a m_a (the log-odds of an account whose attributes are all average)
  d_a = w_a(v_a) − m_a  (how far this account's value moves the log-odds), z = z0 + Σ_a d_a
  baseline = 100 σ(z0), score = 100 σ(z), and contribution_a = 100 × s × d_a,
where s = (σ(z) − σ(z0)) / (z − z0) is the mean slope of σ between the two (σ'(z0) when z = z0).
The contributions therefore add up to score − baseline exactly (they are the integrated
gradients of the logistic curve along the straight path z0 → z), and each has the sign of its
log-odds effect. Shown in whole points: score and baseline are rounded, and the contributions
are rounded by largest remainders so that baseline + Σ contributions = score still holds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from metrics.families.influence import SIZE_BANDS, size_band

ATTRIBUTES: tuple[str, ...] = ("industry", "employee_band", "revenue_band", "country")
ATTRIBUTE_LABELS: dict[str, str] = {
    "industry": "Industry",
    "employee_band": "Employees",
    "revenue_band": "Annual revenue",
    "country": "Country",
}
UNKNOWN = "unknown"
EMPLOYEE_BANDS: tuple[str, ...] = tuple(label for _, label in reversed(SIZE_BANDS))
# Annual revenue in the account's currency, by lower bound.
REVENUE_FLOORS: tuple[tuple[int, str], ...] = (
    (1_000_000_000, "1B+"),
    (250_000_000, "250M-1B"),
    (50_000_000, "50M-250M"),
    (10_000_000, "10M-50M"),
    (1_000_000, "1M-10M"),
    (1, "<1M"),
)
REVENUE_BANDS: tuple[str, ...] = tuple(label for _, label in reversed(REVENUE_FLOORS))

FIT_C = 0.3  # inverse regularisation strength: smaller shrinks rare values' weights harder
FOLDS = 5
SEED = 0
CALIBRATION_BINS = 5


def revenue_band(revenue: Decimal | float | None) -> str | None:
    """<1M, 1M-10M, 10M-50M, 50M-250M, 250M-1B, 1B+; unknown (or 0) has no band."""
    if not revenue or revenue <= 0:
        return None
    return next(label for floor, label in REVENUE_FLOORS if revenue >= floor)


def _text(value: str | None) -> str:
    return " ".join((value or "").split())


def attributes_of(
    *, industry: str | None, employees: int | None, revenue: Decimal | float | None, country: str | None
) -> tuple[str, str, str, str]:
    """An account's four attribute values, in ATTRIBUTES order ("unknown" where missing)."""
    return (
        _text(industry) or UNKNOWN,
        size_band(employees) or UNKNOWN,
        revenue_band(revenue) or UNKNOWN,
        _text(country) or UNKNOWN,
    )


def _sigmoid(z: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------------------- rounding


def apportion(raw: Sequence[float], total: int) -> list[int]:
    """Whole numbers close to `raw` that add up to `total` (largest remainders).

    >>> apportion([2.6, 1.3, -0.9], 3)
    [3, 1, -1]
    """
    out = [math.floor(r) for r in raw]
    left = total - sum(out)
    while left:
        step = 1 if left > 0 else -1
        # Up: the value furthest below its raw share; down: the one furthest above it.
        gaps = [(r - o) * step for r, o in zip(raw, out, strict=True)]
        i = max(range(len(out)), key=lambda k: (gaps[k], -k))
        out[i] += step
        left -= step
    return out


# ---------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Model:
    """A fitted model as plain numbers: what scoring and the page need, nothing of sklearn."""

    intercept: float
    weights: tuple[dict[str, float], ...]  # per attribute: value → log-odds weight
    means: tuple[float, ...]  # per attribute: mean weight over the deals learnt from

    @property
    def z0(self) -> float:
        return self.intercept + sum(self.means)

    @property
    def baseline(self) -> float:
        """100 σ(z0): the score of an account whose every attribute weighs the average."""
        return 100 * float(_sigmoid(self.z0))


@dataclass(frozen=True)
class Explained:
    score: int
    probability: float  # 100 σ(z), unrounded
    contributions: list[dict]  # [{"attribute", "value", "points"}], largest effect first


def _encoder() -> OneHotEncoder:
    return OneHotEncoder(handle_unknown="ignore", sparse_output=False)


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[OneHotEncoder, LogisticRegression]:
    encoder = _encoder().fit(x)
    clf = LogisticRegression(C=FIT_C, max_iter=1000).fit(encoder.transform(x), y)
    return encoder, clf


def _as_model(encoder: OneHotEncoder, clf: LogisticRegression, x: np.ndarray) -> Model:
    coef = clf.coef_[0]
    weights: list[dict[str, float]] = []
    start = 0
    for categories in encoder.categories_:
        weights.append({str(v): float(coef[start + k]) for k, v in enumerate(categories)})
        start += len(categories)
    means = tuple(float(np.mean([w[str(v)] for v in x[:, a]])) for a, w in enumerate(weights))
    return Model(intercept=float(clf.intercept_[0]), weights=tuple(weights), means=means)


@dataclass(frozen=True)
class Trained:
    model: Model
    auc: float | None
    calibration: list[dict]
    folds: int


def calibration_table(y: np.ndarray, p: np.ndarray, *, bins: int = CALIBRATION_BINS) -> list[dict]:
    """Per quantile bin of the held-out scores: mean predicted and observed win rate (0–100), deals.

    calibration_curve gives the two rates of the non-empty bins; the deal counts come from the
    same bin edges and assignment it uses (np.percentile, then searchsorted on the inner edges).
    """
    observed, predicted = calibration_curve(y, p, n_bins=bins, strategy="quantile")
    edges = np.percentile(p, np.linspace(0, 1, bins + 1) * 100)
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=bins)
    counts = counts[counts > 0]
    return [
        {"predicted": round(100 * float(pr), 1), "observed": round(100 * float(ob), 1), "deals": int(n)}
        for pr, ob, n in zip(predicted, observed, counts, strict=True)
    ]


def train(rows: Sequence[Sequence[str]], won: Sequence[bool]) -> Trained:
    """Validate out of fold, then fit on every deal. `rows`: each deal's attributes in ATTRIBUTES order."""
    x = np.array(rows, dtype=object).reshape(len(rows), len(ATTRIBUTES))
    y = np.array(won, dtype=int)
    folds = StratifiedKFold(n_splits=min(FOLDS, int(min(y.sum(), len(y) - y.sum()))), shuffle=True,
                            random_state=SEED)
    pipeline = make_pipeline(_encoder(), LogisticRegression(C=FIT_C, max_iter=1000))
    held_out = cross_val_predict(pipeline, x, y, cv=folds, method="predict_proba")[:, 1]
    encoder, clf = _fit(x, y)
    return Trained(
        model=_as_model(encoder, clf, x),
        auc=float(roc_auc_score(y, held_out)),
        calibration=calibration_table(y, held_out),
        folds=folds.get_n_splits(),
    )


def explain(model: Model, values: Sequence[str]) -> Explained:
    """An account's score and the contribution of each attribute (see the module docstring)."""
    d = [w.get(v, 0.0) - m for w, m, v in zip(model.weights, model.means, values, strict=True)]
    z0 = model.z0
    z = z0 + sum(d)
    p, p0 = float(_sigmoid(z)), float(_sigmoid(z0))
    slope = (p - p0) / (z - z0) if abs(z - z0) > 1e-12 else p0 * (1 - p0)
    score, baseline = round(100 * p), round(100 * p0)
    points = apportion([100 * slope * di for di in d], score - baseline)
    return Explained(score=score, probability=100 * p, contributions=_ranked(values, points))


def _ranked(values: Sequence[str], points: Sequence[int]) -> list[dict]:
    items = [
        {"attribute": a, "value": v, "points": pt} for a, v, pt in zip(ATTRIBUTES, values, points, strict=True)
    ]
    return sorted(items, key=lambda c: -abs(c["points"]))


def value_effects(model: Model, rows: Sequence[Sequence[str]], won: Sequence[bool]) -> list[dict]:
    """Every attribute value the model knows: its log-odds weight, its effect in points on an
    otherwise average account (100 σ(z0 + w − m) − baseline), and the deals and wins it had."""
    deals: dict[tuple[int, str], list[int]] = {}
    for row, w in zip(rows, won, strict=True):
        for a, v in enumerate(row):
            seen = deals.setdefault((a, v), [0, 0])
            seen[0] += 1
            seen[1] += int(w)
    out = []
    z0, base = model.z0, model.baseline
    for a, (weights, mean) in enumerate(zip(model.weights, model.means, strict=True)):
        for value, weight in weights.items():
            n, k = deals.get((a, value), (0, 0))
            out.append({
                "attribute": ATTRIBUTES[a], "value": value, "weight": round(weight, 4),
                "points": round(100 * float(_sigmoid(z0 + weight - mean)) - base, 1), "deals": n, "won": k,
            })
    return sorted(out, key=lambda e: (-e["points"], e["attribute"], e["value"]))


# ---------------------------------------------------------------------------- the rule profile


def _key(value: str) -> str:
    return _text(value).casefold()


def rule_explain(profile: dict[str, dict[str, int]], values: Sequence[str]) -> Explained:
    """The rule profile's score: the points of each attribute value it names, added up (baseline 0)."""
    points = []
    for attribute, value in zip(ATTRIBUTES, values, strict=True):
        chosen = {_key(k): int(v) for k, v in (profile.get(attribute) or {}).items()}
        points.append(chosen.get(_key(value), 0))
    score = sum(points)
    return Explained(score=score, probability=float(score), contributions=_ranked(values, points))
