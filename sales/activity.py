"""Sales activity per rep (METRICS.md "Beyond the five"; docs/metrics.md § Sales activity).

Activity is counted from the touches a rep performed (`Touchpoint.performed_by`), per UTC day,
ISO week (Monday first) or calendar month, in one GROUP BY over the (performed_by, occurred_at)
index. Outcomes — the rep's target accounts accepted after the rep's first touch there, and the
pipeline and revenue created at them — are as of the day D the page shows, in one query over the
rep's target accounts.

Computed on request, not stored: rep actions are a small slice of the touches (tens per rep per
day, against the marketing touches of every account), so the index range scan of a year of them
takes milliseconds, and a stored table would be one more thing for every import to keep fresh.
The result is cached for ten minutes under a key that changes when a touch is added or an
opportunity changes (as the data-quality page caches its touch checks), so a refresh after an
import is never stale.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Trunc, TruncDate

from accounts.models import Account, Opportunity, Touchpoint, TouchpointKind
from metrics.models import AccountSnapshot
from metrics.selectors import published_days

# A connected call this long or longer is a meaningful conversation (METRICS.md: ≥ 5 minutes).
MEANINGFUL_CALL_MINUTES = 5
# How many periods of each grain a page shows, ending with the period that holds D.
GRAINS: dict[str, int] = {"day": 30, "week": 12, "month": 12}
CACHE_SECONDS = 600

CALL_KINDS = (TouchpointKind.CALL_ATTEMPT, TouchpointKind.CALL_CONNECTED)
# The kinds a rep's activity counts; every other performed touch (a web visit a source credits to
# a rep, say) is left out.
ACTIVITY_KINDS = (*CALL_KINDS, TouchpointKind.SALES_EMAIL, TouchpointKind.SALES_EMAIL_REPLY, TouchpointKind.MEETING)


def _share(numerator: int, denominator: int) -> float | None:
    """numerator / denominator; None (blank, undefined) when the denominator is 0."""
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class Activity:
    calls: int = 0  # attempts + connected
    connects: int = 0
    sales_emails: int = 0
    replies: int = 0
    meetings: int = 0
    meaningful_conversations: int = 0

    @property
    def connect_rate(self) -> float | None:
        return _share(self.connects, self.calls)

    @property
    def conversation_to_meeting_rate(self) -> float | None:
        return _share(self.meetings, self.meaningful_conversations)

    def __add__(self, other: Activity) -> Activity:
        return Activity(*(a + b for a, b in zip(self.counts(), other.counts(), strict=True)))

    def counts(self) -> tuple[int, ...]:
        return (self.calls, self.connects, self.sales_emails, self.replies, self.meetings,
                self.meaningful_conversations)


@dataclass(frozen=True)
class Outcomes:
    target_accounts: int = 0
    accepted_accounts: int = 0
    accepted_pipeline: Decimal = Decimal(0)
    accepted_revenue: Decimal = Decimal(0)

    @property
    def accepted_per_1000(self) -> float | None:
        return None if not self.target_accounts else 1000 * self.accepted_accounts / self.target_accounts


@dataclass
class RepRow:
    rep_id: int
    name: str
    total: Activity = Activity()
    by_period: dict[dt.date, Activity] = field(default_factory=dict)
    outcomes: Outcomes = Outcomes()


@dataclass
class Report:
    as_of: dt.date
    grain: str
    periods: list[dt.date]  # each period's first day, oldest first
    rows: list[RepRow]

    @property
    def total(self) -> Activity:
        return sum((r.total for r in self.rows), Activity())

    @property
    def total_outcomes(self) -> Outcomes:
        return Outcomes(*(sum(getattr(r.outcomes, f) for r in self.rows) for f in
                          ("target_accounts", "accepted_accounts", "accepted_pipeline", "accepted_revenue")))

    def team_by_period(self) -> dict[dt.date, Activity]:
        return {p: sum((r.by_period.get(p, Activity()) for r in self.rows), Activity()) for p in self.periods}


# ---------------------------------------------------------------------------- periods


def period_start(day: dt.date, grain: str) -> dt.date:
    """The first day of the period holding `day`: itself, its week's Monday, its month's first."""
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def periods(*, as_of: dt.date, grain: str) -> list[dt.date]:
    """The GRAINS[grain] periods ending with the one holding `as_of`, oldest first."""
    starts = [period_start(as_of, grain)]
    for _ in range(GRAINS[grain] - 1):
        starts.append(period_start(starts[-1] - dt.timedelta(days=1), grain))
    return starts[::-1]


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


# ---------------------------------------------------------------------------- the figures


def activity_by_rep(*, rep_ids: Iterable[int], grain: str, first: dt.date, as_of: dt.date
                    ) -> dict[tuple[int, dt.date], Activity]:
    """(rep, period start) → the rep's activity over the touches they performed from `first`
    through `as_of` (UTC days). One GROUP BY; the range scan uses touchpoint_performer_time."""
    kinds = TouchpointKind
    rows = (
        Touchpoint.objects.filter(
            performed_by_id__in=list(rep_ids), kind__in=ACTIVITY_KINDS,
            occurred_at__gte=_midnight(first), occurred_at__lt=_midnight(as_of + dt.timedelta(days=1)),
        )
        .annotate(period=Trunc("occurred_at", grain, tzinfo=dt.UTC))
        .values("performed_by_id", "period")
        .annotate(
            calls=Count("id", filter=Q(kind__in=CALL_KINDS)),
            connects=Count("id", filter=Q(kind=kinds.CALL_CONNECTED)),
            sales_emails=Count("id", filter=Q(kind=kinds.SALES_EMAIL)),
            replies=Count("id", filter=Q(kind=kinds.SALES_EMAIL_REPLY)),
            meetings=Count("id", filter=Q(kind=kinds.MEETING)),
            meaningful=Count("id", filter=Q(kind=kinds.CALL_CONNECTED, minutes__gte=MEANINGFUL_CALL_MINUTES)),
        )
        .order_by()
    )
    found: dict[tuple[int, dt.date], Activity] = {}
    for r in rows:
        start = r["period"].astimezone(dt.UTC).date() if isinstance(r["period"], dt.datetime) else r["period"]
        found[(r["performed_by_id"], start)] = Activity(
            r["calls"], r["connects"], r["sales_emails"], r["replies"], r["meetings"], r["meaningful"]
        )
    return found


def outcomes_by_rep(*, rep_ids: Iterable[int], as_of: dt.date) -> dict[int, Outcomes]:
    """rep → outcomes as of `as_of` at the target accounts the rep owns.

    An account is accepted when, after the rep's first touch there (the earliest touch they
    performed at it, on or before D): an opportunity was created there (later than that moment, on
    or before D), or the account was MQA on a published day from the first touch's day through D
    having not been MQA on the last published day before it. Pipeline: the amounts of the
    opportunities created there after the first touch; revenue: those of them won and closed on or
    before D.
    """
    end = _midnight(as_of + dt.timedelta(days=1))
    # Per target account ((owner, is_target) index): its first touch by its owner walks
    # touchpoint_account_time in time order; its opportunities opportunity_account_created; its
    # snapshots the (account, as_of) unique index.
    first_touch = Subquery(
        Touchpoint.objects.filter(account_id=OuterRef("pk"), performed_by_id=OuterRef("owner_id"), occurred_at__lt=end)
        .order_by("occurred_at").values("occurred_at")[:1]
    )
    after = Opportunity.objects.filter(account_id=OuterRef("pk"), created_at__gt=OuterRef("first_at"),
                                       created_at__lt=end)
    money = DecimalField(max_digits=18, decimal_places=2)

    def _amounts(opportunities: QuerySet) -> Coalesce:
        return Coalesce(Subquery(opportunities.values("account_id").annotate(s=Sum("amount")).values("s")[:1],
                                 output_field=money), Value(Decimal(0)), output_field=money)

    first_day = OuterRef("first_day")
    snapshots = AccountSnapshot.objects.filter(account_id=OuterRef("pk"), as_of__in=published_days())
    accounts = (
        Account.objects.filter(is_target=True, owner_id__in=list(rep_ids))
        .annotate(first_at=first_touch)
        .annotate(first_day=TruncDate("first_at", tzinfo=dt.UTC))
        .annotate(
            opportunity_after=Exists(after),
            mqa_after=Exists(snapshots.filter(mqa=True, as_of__gte=first_day, as_of__lte=as_of)),
            mqa_before=Coalesce(Subquery(snapshots.filter(as_of__lt=first_day).order_by("-as_of").values("mqa")[:1]),
                                Value(False)),
            pipeline=_amounts(after),
            revenue=_amounts(after.filter(is_won=True, closed_at__lt=end)),
        )
        .values("owner_id", "first_at", "opportunity_after", "mqa_after", "mqa_before", "pipeline", "revenue")
        .order_by()
    )
    # One row per target account of the reps (not per touch): summed here rather than in a second
    # level of SQL grouping, which the ORM cannot put over these subqueries.
    totals: dict[int, list] = {}
    for a in accounts:
        t = totals.setdefault(a["owner_id"], [0, 0, Decimal(0), Decimal(0)])
        t[0] += 1
        if a["first_at"] is not None and (a["opportunity_after"] or (a["mqa_after"] and not a["mqa_before"])):
            t[1] += 1
            t[2] += a["pipeline"] or 0
            t[3] += a["revenue"] or 0
    return {rep: Outcomes(*values) for rep, values in totals.items()}


def reps_for_report(*, first: dt.date, as_of: dt.date) -> QuerySet:
    """Everyone with a row: owners of target accounts and anyone who performed a touch in the window."""
    performed = Touchpoint.objects.filter(
        performed_by_id=OuterRef("pk"), occurred_at__gte=_midnight(first),
        occurred_at__lt=_midnight(as_of + dt.timedelta(days=1)),
    )
    return (
        User.objects.filter(Exists(Account.objects.filter(owner=OuterRef("pk"), is_target=True)) | Exists(performed))
        .order_by("first_name", "last_name", "username")
        .only("id", "username", "first_name", "last_name")
    )


def _cache_key(grain: str, as_of: dt.date, rep_ids: list[int]) -> str:
    """A key that changes when a touch is added, an opportunity changes or D's snapshots change:
    one query (three index lookups: the newest touch id, the newest opportunity change, D's rows)."""
    changes = Touchpoint.objects.order_by().values(
        last=Subquery(Touchpoint.objects.order_by("-id").values("id")[:1]),
        changed=Subquery(Opportunity.objects.order_by("-updated_at").values("updated_at")[:1]),
        snapshots=Subquery(AccountSnapshot.objects.filter(as_of=as_of).order_by().values("as_of")
                           .annotate(n=Count("id")).values("n")[:1]),
    )[:1]
    marks = next(iter(changes), {"last": None, "changed": None, "snapshots": None})
    reps = hashlib.sha1(",".join(map(str, rep_ids)).encode()).hexdigest()[:12]
    changed = marks["changed"].timestamp() if marks["changed"] else 0
    return f"sales:activity:{grain}:{as_of.isoformat()}:{reps}:{marks['last']}:{changed}:{marks['snapshots']}"


def sales_activity(*, reps: Iterable[User], grain: str, as_of: dt.date, cached: bool = True) -> Report:
    """The page's report: every rep's activity per period and in total, and their outcomes.
    `cached=False` for one rep (/me/): its two queries cost less than the cache key's one plus
    the risk of a miss."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {', '.join(GRAINS)}, not {grain!r}")
    reps = list(reps)
    rep_ids = [r.pk for r in reps]
    key = _cache_key(grain, as_of, rep_ids) if cached else ""
    report = cache.get(key) if cached else None
    if report is not None:
        return report
    starts = periods(as_of=as_of, grain=grain)
    activity = activity_by_rep(rep_ids=rep_ids, grain=grain, first=starts[0], as_of=as_of)
    outcomes = outcomes_by_rep(rep_ids=rep_ids, as_of=as_of)
    rows = []
    for rep in reps:
        by_period = {p: activity[(rep.pk, p)] for p in starts if (rep.pk, p) in activity}
        rows.append(RepRow(
            rep_id=rep.pk, name=rep.get_full_name() or rep.username,
            total=sum(by_period.values(), Activity()), by_period=by_period,
            outcomes=outcomes.get(rep.pk, Outcomes()),
        ))
    report = Report(as_of=as_of, grain=grain, periods=starts, rows=rows)
    if cached:
        cache.set(key, report, timeout=CACHE_SECONDS)
    return report

