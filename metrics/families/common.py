"""What every family shares: the day windows, the engagement-minutes expression, program success.

A window is whole UTC days ending with the as-of date D, D included (METRICS.md). It is held as
a half-open interval of instants [start, end) so a touch at 23:59:59 on D is in and one at
00:00:00 on D+1 is out, and so each filter is a plain range on the indexed `occurred_at`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Case, F, FloatField, Q, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast

from accounts.models import Program, TouchpointKind
from metrics.models import MetricSettings


def day_start(day: date) -> datetime:
    """00:00:00 UTC of `day`."""
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """The instants of the days first … last (both included)."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return day_start(self.first)

    @property
    def end(self) -> datetime:
        """Exclusive: midnight after `last`."""
        return day_start(self.last + timedelta(days=1))

    def q(self, field: str = "occurred_at") -> Q:
        return Q(**{f"{field}__gte": self.start, f"{field}__lt": self.end})


def trailing(as_of: date, days: int, *, skip: int = 0) -> Window:
    """The `days` whole days ending `skip` days before D: trailing(D, 90) = W90 (D−89 … D),
    trailing(D, 30, skip=30) = P30 (D−59 … D−30), trailing(D, 21, skip=7) = B21 (D−27 … D−7)."""
    last = as_of - timedelta(days=skip)
    return Window(first=last - timedelta(days=days - 1), last=last)


def on_or_before(as_of: date, field: str = "occurred_at") -> Q:
    """Everything on or before D (program reach counts all of a program's touches up to D)."""
    return Q(**{f"{field}__lt": day_start(as_of + timedelta(days=1))})


@dataclass(frozen=True)
class Windows:
    """The engagement windows for one as-of date, from the tunable settings."""

    w_long: Window  # W90
    w_short: Window  # W30
    p_short: Window  # P30
    w_spike: Window  # W7
    b_spike: Window  # B21

    @classmethod
    def for_day(cls, as_of: date, cfg: MetricSettings) -> Windows:
        return cls(
            w_long=trailing(as_of, cfg.long_window_days),
            w_short=trailing(as_of, cfg.short_window_days),
            p_short=trailing(as_of, cfg.short_window_days, skip=cfg.short_window_days),
            w_spike=trailing(as_of, cfg.spike_window_days),
            b_spike=trailing(as_of, cfg.spike_baseline_days, skip=cfg.spike_window_days),
        )

    @property
    def span(self) -> Window:
        """The smallest window holding all of them: one range scan reads every touch they need."""
        windows = (self.w_long, self.w_short, self.p_short, self.w_spike, self.b_spike)
        return Window(first=min(w.first for w in windows), last=max(w.last for w in windows))


def minutes_expression(cfg: MetricSettings, prefix: str = "") -> Combinable:
    """Engagement minutes of one touchpoint, as one SQL expression.

    (the source's `minutes` when given, else the default of its kind) × the seniority multiplier
    of the touch's contact. A kind whose default is 0 (ad_impression: "never scored") or that the
    settings leave out is worth 0 even with a duration from the source. Anonymous touches (no
    contact, so the LEFT JOIN gives a NULL seniority) and unknown seniorities take × 1.0.
    `prefix` lets a query that reaches touchpoints through a relation (e.g. "touchpoints__") use
    the same rule.
    """
    scored = {kind: float(weight) for kind, weight in cfg.minutes_by_kind.items() if float(weight) > 0}
    # Usually just ad_impression.
    unscored = [kind for kind in TouchpointKind.values if kind not in scored]
    kind_weight = Case(
        *[When(**{f"{prefix}kind": kind}, then=Value(weight)) for kind, weight in scored.items()],
        default=Value(0.0),
        output_field=FloatField(),
    )
    base = Case(
        When(**{f"{prefix}kind__in": unscored}, then=Value(0.0)),
        When(**{f"{prefix}minutes__isnull": False}, then=Cast(F(f"{prefix}minutes"), FloatField())),
        default=kind_weight,
        output_field=FloatField(),
    )
    multiplier = Case(
        *[
            When(**{f"{prefix}contact__seniority_level": level}, then=Value(float(factor)))
            for level, factor in cfg.seniority_multipliers.items()
            if float(factor) != 1.0
        ],
        default=Value(1.0),
        output_field=FloatField(),
    )
    return base * multiplier


def program_success_kinds() -> dict[int, list[str]]:
    """Program id → the touchpoint kinds that count as its success (its own list or its channel's)."""
    return {p.pk: p.effective_success_kinds for p in Program.objects.only("id", "channel", "success_kinds")}


def success_q(success_kinds: dict[int, list[str]], prefix: str = "") -> Q:
    """A touch that is a success of the program it belongs to.

    Programs sharing the same success kinds (usually all programs of one channel) are grouped,
    so the condition has one term per distinct kind list, not one per program.
    """
    by_kinds: dict[tuple[str, ...], list[int]] = {}
    for program_id, kinds in success_kinds.items():
        if kinds:
            by_kinds.setdefault(tuple(sorted(kinds)), []).append(program_id)
    # Never true: the starting term when no program has success kinds (an empty `__in` would
    # make the whole aggregate's SQL raise EmptyResultSet instead).
    q = Q(**{f"{prefix}program__isnull": True}) & Q(**{f"{prefix}program__isnull": False})
    for kinds, program_ids in by_kinds.items():
        q |= Q(**{f"{prefix}program_id__in": program_ids, f"{prefix}kind__in": list(kinds)})
    return q
