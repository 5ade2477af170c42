"""Reads for the dashboard pages.

Pages read the snapshots the nightly run wrote (metrics.models) and a few indexed queries
on the facts: an account's timeline and heatmap ((account, occurred_at) index), a program's
reached accounts ((program, occurred_at) index), a rep's newly engaged contacts
((contact, occurred_at) index). Nothing here recomputes a metric family, and every function
issues a fixed number of queries whatever the data size.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncDate

from accounts.models import Account, Contact, Opportunity, Program, Segment, Touchpoint
from accounts.roles import contact_name
from metrics import selectors as metric_selectors
from metrics.families.common import day_start
from metrics.families.journey import STAGE_ORDER
from metrics.models import (
    AccountSnapshot,
    AttributionCredit,
    AttributionModel,
    ChannelSnapshot,
    InfluenceSummary,
    MetricSettings,
    MetricsRun,
    OutcomeComparison,
    OutcomeGroup,
    ProgramSnapshot,
    SegmentSnapshot,
)


def day_end(day: dt.date) -> dt.datetime:
    """The first instant after `day` (exclusive upper bound of a window ending with `day`)."""
    return day_start(day + dt.timedelta(days=1))


# ---------------------------------------------------------------------------- as-of date


@dataclass(frozen=True)
class AsOf:
    """The published day a page shows, the range the date picker offers, and the run of a
    newer day in progress, if any ("computing n of m" beside the day shown)."""

    day: dt.date | None
    first: dt.date | None
    latest: dt.date | None
    requested: dt.date | None = None
    computing: MetricsRun | None = None

    @property
    def moved(self) -> bool:
        """True when the requested day is not published and the page shows an earlier one."""
        return self.requested is not None and self.day is not None and self.requested != self.day


def resolve_as_of(requested: dt.date | None) -> AsOf:
    """Latest published day on or before `requested` (default: the latest published day).

    Published = its metrics run is complete (metrics.selectors): a day being computed, or whose
    run failed, has only part of its snapshots and is never shown. Two small queries on the runs.
    """
    days = metric_selectors.published_range(on_or_before=requested)
    computing = metric_selectors.computing_run()
    first, latest = days.first, days.latest
    if latest is None:
        return AsOf(None, None, None, requested, computing)
    if requested is None or requested >= latest:
        return AsOf(latest, first, latest, requested if requested and requested != latest else None, computing)
    return AsOf(days.on_or_before or first, first, latest, requested, computing)


def latest_metrics_run() -> MetricsRun | None:
    return metric_selectors.latest_run()


# ---------------------------------------------------------------------------- account list


@dataclass(frozen=True)
class AccountFilters:
    segment: int | None = None
    target_list: bool = False  # the pseudo-segment "all target accounts"
    tier: int | None = None
    owner: int | None = None
    target: bool | None = None
    stage: str = ""
    engaged: bool | None = None
    mqa: bool | None = None
    spike: bool | None = None
    q: str = ""

    @property
    def on_snapshots(self) -> bool:
        """True when a filter reads a day's figures (journey stage, engaged, MQA, spike), not the account."""
        return bool(self.stage) or any(v is not None for v in (self.engaged, self.mqa, self.spike))


def _account_q(f: AccountFilters, prefix: str = "") -> Q:
    """The filters on an account's own fields and segments; `prefix` reaches the account ("account__")."""
    q = Q()
    if f.target_list:
        q &= Q(**{f"{prefix}is_target": True})
    if f.segment is not None:
        q &= Q(**{f"{prefix}segments": f.segment})
    if f.tier is not None:
        q &= Q(**{f"{prefix}tier": f.tier})
    if f.owner is not None:
        q &= Q(**{f"{prefix}owner_id": f.owner})
    if f.target is not None:
        q &= Q(**{f"{prefix}is_target": f.target})
    if f.q:
        q &= Q(**{f"{prefix}name__icontains": f.q}) | Q(**{f"{prefix}domain__icontains": f.q.lower()})
    return q


# Sort keys offered on the account list (URL value -> ORM expression); "-key" sorts descending.
ACCOUNT_SORTS: dict[str, str] = {
    "name": "account__name",
    "tier": "account__tier",
    "owner": "account__owner__username",
    "stage": "stage_rank",
    "role_coverage": "role_coverage",
    "reachable_contacts": "reachable_contacts",
    "aware_contacts": "aware_contacts",
    "web_visits": "web_visits",
    "minutes_7d": "minutes_7d",
    "minutes_30d": "minutes_30d",
    "minutes_90d": "minutes_90d",
    "engaged_contacts_90d": "engaged_contacts_90d",
    "engagement_percentile": "engagement_percentile",
    "programs_reached": "programs_reached",
    "pipeline_created_90d": "pipeline_created_90d",
    "influenced_pipeline": "influenced_pipeline",
}
DEFAULT_ACCOUNT_SORT = "-minutes_90d"
# Only these can be empty. The others are NOT NULL, and sorting them without NULLS LAST lets
# PostgreSQL walk the (as_of, minutes_…) indexes in order instead of sorting the whole day.
NULLABLE_SORTS = {"tier", "owner"}


def _stage_rank() -> Case:
    return Case(
        *[When(journey_stage=s, then=Value(i)) for i, s in enumerate(STAGE_ORDER)],
        default=Value(0),
        output_field=IntegerField(),
    )


def account_snapshots(*, as_of: dt.date, filters: AccountFilters, sort: str = DEFAULT_ACCOUNT_SORT) -> QuerySet:
    """One day's account snapshots, filtered and sorted, with account and owner joined.

    The day filter uses the (as_of, …) snapshot indexes; the default sort (minutes_90d) is
    the second column of (as_of, minutes_90d), so the first page needs no full sort on PostgreSQL.
    """
    f = filters
    qs = AccountSnapshot.objects.filter(_account_q(f, "account__"), as_of=as_of).select_related(
        "account", "account__owner"
    )
    if f.stage:
        qs = qs.filter(journey_stage=f.stage)
    for flag in ("engaged", "mqa", "spike"):
        value = getattr(f, flag)
        if value is not None:
            qs = qs.filter(**{flag: value})
    key = sort.lstrip("-")
    if key not in ACCOUNT_SORTS:
        sort, key = DEFAULT_ACCOUNT_SORT, DEFAULT_ACCOUNT_SORT.lstrip("-")
    if key == "stage":
        qs = qs.annotate(stage_rank=_stage_rank())
    expr = F(ACCOUNT_SORTS[key])
    nulls = {"nulls_last": True} if key in NULLABLE_SORTS else {}
    ordering = expr.desc(**nulls) if sort.startswith("-") else expr.asc(**nulls)
    return qs.order_by(ordering, "account_id")


def filtered_accounts(*, as_of: dt.date | None, filters: AccountFilters) -> QuerySet[Account]:
    """The accounts (not snapshot rows) the account list shows for these filters on day `as_of`:
    the accounts of account_snapshots(), so both pages always agree.

    Before the first metrics run (`as_of` None) there are no snapshots: the filters on the
    accounts' own fields and segments apply to every account, and a journey-stage, engaged, MQA
    or spike filter matches none (no account has those figures yet).
    """
    if as_of is None:
        return Account.objects.none() if filters.on_snapshots else Account.objects.filter(_account_q(filters))
    return Account.objects.filter(pk__in=account_snapshots(as_of=as_of, filters=filters).values("account_id"))


def target_counts(*, accounts: QuerySet[Account]) -> tuple[int, int]:
    """(how many accounts, how many of them are targets), in one query."""
    counts = accounts.aggregate(total=Count("pk"), targets=Count("pk", filter=Q(is_target=True)))
    return counts["total"], counts["targets"]


def account_owners() -> QuerySet:
    """Users who own at least one account (semi-join on the (owner, is_target) index)."""
    return (
        User.objects.filter(Exists(Account.objects.filter(owner=OuterRef("pk"))))
        .order_by("first_name", "last_name", "username")
        .only("id", "username", "first_name", "last_name")
    )


# ---------------------------------------------------------------------------- account health


@dataclass
class Verdict:
    status: str  # "healthy", "watch", "at_risk"
    label: str
    reasons: list[str]

    @property
    def sentence(self) -> str:
        return f"{self.label}: {', '.join(self.reasons)}"


def account_verdict(snapshot: AccountSnapshot, required_roles: int) -> Verdict:
    """One line saying whether the account is healthy and why (the page shows the journey stage beside it).

    Healthy = engaged, covered and engagement not falling; at risk = not engaged, or the last
    30 days fell below half the 30 before; anything else is worth watching.
    """
    s = snapshot
    good: list[str] = []
    bad: list[str] = []
    if s.mqa:
        good.append("MQA")
    elif s.engaged:
        good.append("engaged")
    else:
        bad.append("not engaged")
    roles = f"{s.roles_covered} of {required_roles} roles covered"
    (good if s.covered else bad).append(roles)
    if not s.has_decision_maker:
        bad.append("no decision maker")
    if s.spike:
        good.append("engagement spike this week")
    falling = s.minutes_prev_30d > 0 and s.minutes_30d < s.minutes_prev_30d / 2
    if falling:
        drop = round(100 * (1 - s.minutes_30d / s.minutes_prev_30d))
        bad.append(f"minutes down {drop} % on the previous 30 days")
    if not s.engaged or falling:
        return Verdict("at_risk", "At risk", bad + good)
    if not bad:
        return Verdict("healthy", "Healthy", good)
    return Verdict("watch", "Watch", bad + good)


@dataclass
class CommitteeRow:
    role: str
    label: str
    contacts: list[Contact]

    @property
    def gap(self) -> bool:
        return not self.contacts


@dataclass
class AccountHealth:
    account: Account
    snapshot: AccountSnapshot | None
    history: list[AccountSnapshot]
    required_roles: list[str]
    committee: list[CommitteeRow]
    other_contacts: list[Contact]
    contacts: list[Contact]
    opportunities: list[Opportunity]
    verdict: Verdict | None


HISTORY_DAYS = 90


def account_health(*, account: Account, as_of: dt.date, settings: MetricSettings) -> AccountHealth:
    """The snapshot of the day, its 90-day history, the committee grid and the opportunities (3 queries)."""
    start = as_of - dt.timedelta(days=HISTORY_DAYS - 1)
    # Only published days: a failed day in the range holds part of its snapshots.
    history = list(
        account.snapshots.filter(as_of__range=(start, as_of), as_of__in=metric_selectors.published_days())
        .order_by("as_of")
    )
    snapshot = history[-1] if history and history[-1].as_of == as_of else None
    contacts = list(account.contacts.all())
    roles = [str(r) for r in settings.required_roles]
    by_role: dict[str, list[Contact]] = defaultdict(list)
    for c in contacts:
        by_role[c.role].append(c)
    role_labels = dict(Contact._meta.get_field("role").choices)
    committee = [
        CommitteeRow(r, str(role_labels.get(r, r.replace("_", " ").capitalize())), by_role.get(r, [])) for r in roles
    ]
    others = [c for c in contacts if c.role not in roles]
    # Opportunities as of the day: the ones that existed then.
    opportunities = list(account.opportunities.filter(created_at__lt=day_end(as_of)).order_by("-created_at"))
    verdict = account_verdict(snapshot, len(roles)) if snapshot else None
    return AccountHealth(account, snapshot, history, roles, committee, others, contacts, opportunities, verdict)


def scored_kind_weights(settings: MetricSettings) -> dict[str, float]:
    """Kinds worth more than 0 minutes, with their default weights."""
    return {k: float(w) for k, w in settings.minutes_by_kind.items() if float(w) > 0}


@dataclass
class Heatmap:
    weeks: list[dt.date]  # first day of each week, oldest first
    rows: list[str]  # contact labels
    z: list[list[float]]  # minutes per row per week
    total: float


HEATMAP_WEEKS = 13


def contact_labels(contacts: list[Contact], *, emails: bool = True) -> dict[int, str]:
    """Each contact's name, told apart from its namesakes at the account: by title when that tells
    them apart, else by email (else id; always id when `emails` is False: a role that may not see
    emails, accounts.roles.can_see_contact_details). A chart row per contact needs a label per
    contact, and two "Alex Kim"s would share one."""
    groups: dict[str, list[Contact]] = defaultdict(list)
    for c in contacts:
        groups[contact_name(c.first_name, c.last_name, c.email, c.pk, emails=emails)].append(c)
    labels: dict[int, str] = {}
    for name, namesakes in groups.items():
        titles = [c.title for c in namesakes]
        by_title = all(titles) and len(set(titles)) == len(titles)
        for c in namesakes:
            detail = c.title if by_title else ((c.email if emails else None) or f"#{c.id}")
            labels[c.id] = name if len(namesakes) == 1 else f"{name} ({detail})"
    return labels


def contact_week_heatmap(
    *, account: Account, as_of: dt.date, contacts: list[Contact], settings: MetricSettings, emails: bool = True
) -> Heatmap:
    """Engagement minutes per contact per week for the 13 weeks ending `as_of` (one query).

    Weeks end on the as-of day (week k = days D−7k−6 … D−7k), matching the metric windows.
    The database groups the account's touches by contact, day and kind over the
    (account, occurred_at) index; weights and the seniority multiplier are applied to those
    few groups here, exactly as METRICS.md defines a touch's minutes.
    """
    weights = scored_kind_weights(settings)
    multipliers = {k: float(v) for k, v in settings.seniority_multipliers.items()}
    first_day = as_of - dt.timedelta(days=7 * HEATMAP_WEEKS - 1)
    groups = (
        Touchpoint.objects.filter(
            account=account,
            occurred_at__gte=day_start(first_day),
            occurred_at__lt=day_end(as_of),
            kind__in=list(weights),
        )
        .annotate(day=TruncDate("occurred_at"))
        .values("contact_id", "day", "kind")
        .annotate(given=Sum("minutes"), defaulted=Count("id", filter=Q(minutes__isnull=True)))
        .order_by()
    )
    by_id = {c.id: c for c in contacts}
    cells: dict[int | None, list[float]] = defaultdict(lambda: [0.0] * HEATMAP_WEEKS)
    for g in groups:
        contact = by_id.get(g["contact_id"])
        mult = multipliers.get(contact.seniority_level, 1.0) if contact else 1.0
        minutes = (float(g["given"] or 0) + g["defaulted"] * weights[g["kind"]]) * mult
        week = (g["day"] - first_day).days // 7
        cells[g["contact_id"]][week] += minutes
    # Every contact gets a row (a silent contact is a finding too); anonymous traffic last.
    order = [c.id for c in contacts] + ([None] if None in cells else [])
    labels = contact_labels(contacts, emails=emails)
    rows = [labels[cid] if cid is not None else "Anonymous visitors" for cid in order]
    z = [[round(v, 1) for v in cells[cid]] if cid in cells else [0.0] * HEATMAP_WEEKS for cid in order]
    weeks = [first_day + dt.timedelta(days=7 * k) for k in range(HEATMAP_WEEKS)]
    return Heatmap(weeks, rows, z, round(sum(map(sum, z)), 1))


TIMELINE_PAGE = 25


def account_timeline(*, account: Account, as_of: dt.date, page: int) -> tuple[list[Touchpoint], bool]:
    """Touches of the account up to the as-of day, newest first, one page (and whether more follow)."""
    offset = max(page - 1, 0) * TIMELINE_PAGE
    rows = list(
        Touchpoint.objects.filter(account=account, occurred_at__lt=day_end(as_of))
        .select_related("contact", "program")
        .order_by("-occurred_at", "-id")[offset : offset + TIMELINE_PAGE + 1]
    )
    return rows[:TIMELINE_PAGE], len(rows) > TIMELINE_PAGE


# ---------------------------------------------------------------------------- segments

TARGET_KEY = "target"
SEGMENT_TREND_DAYS = 180


@dataclass
class SegmentView:
    key: str  # segment id as a string, or "target"
    name: str
    segment: Segment | None
    snapshot: SegmentSnapshot | None
    history: list[SegmentSnapshot]
    histogram: list[tuple[str, int]] = field(default_factory=list)


def segment_list(*, as_of: dt.date) -> list[tuple[str, str, SegmentSnapshot | None]]:
    """The target list first, then every segment, each with its snapshot of the day (2 queries)."""
    snaps = {s.segment_id: s for s in SegmentSnapshot.objects.filter(as_of=as_of)}
    rows: list[tuple[str, str, SegmentSnapshot | None]] = [(TARGET_KEY, "All target accounts", snaps.get(None))]
    rows += [(str(s.pk), s.name, snaps.get(s.pk)) for s in Segment.objects.only("id", "name")]
    return rows


def segment_choices() -> list[tuple[str, str]]:
    return [(TARGET_KEY, "All target accounts")] + [
        (str(pk), name) for pk, name in Segment.objects.values_list("pk", "name")
    ]


def get_segment_view(*, key: str, as_of: dt.date) -> SegmentView | None:
    """A segment (or the target list) with its snapshot, trend history and minutes histogram (3 queries)."""
    if key == TARGET_KEY:
        segment, name = None, "All target accounts"
    else:
        segment = Segment.objects.filter(pk=int(key)).first() if key.isdigit() else None
        if segment is None:
            return None
        name = segment.name
    start = as_of - dt.timedelta(days=SEGMENT_TREND_DAYS - 1)
    # segment None is the whole target list: filter(segment=None) is IS NULL.
    history = list(
        SegmentSnapshot.objects.filter(
            segment=segment, as_of__range=(start, as_of), as_of__in=metric_selectors.published_days()
        ).order_by("as_of")
    )
    snapshot = history[-1] if history and history[-1].as_of == as_of else None
    members = AccountSnapshot.objects.filter(as_of=as_of)
    members = members.filter(account__segments=segment) if segment else members.filter(account__is_target=True)
    return SegmentView(key, name, segment, snapshot, history, minutes_histogram(members))


def segment_flag_counts(snapshot: SegmentSnapshot) -> dict[str, int]:
    """How many of the segment's accounts are aware, engaged and MQA (the flags, METRICS.md §2–3):
    each share is a count over `accounts`, so share × accounts gives the count back exactly."""
    return {
        flag: round(getattr(snapshot, f"{flag}_share") * snapshot.accounts)
        for flag in ("covered", "aware", "engaged", "mqa")
    }


# Engagement-minute buckets of the distribution chart: (label, lower bound inclusive, upper exclusive).
MINUTE_BUCKETS: tuple[tuple[str, float, float | None], ...] = (
    ("0", 0, 1e-9),
    ("under 10", 1e-9, 10),
    ("10–29", 10, 30),
    ("30–59", 30, 60),
    ("60–99", 60, 100),
    ("100–199", 100, 200),
    ("200–499", 200, 500),
    ("500+", 500, None),
)


def minutes_histogram(snapshots: QuerySet) -> list[tuple[str, int]]:
    """Accounts per minutes_90d bucket, counted by the database in one conditional aggregate."""
    aggregates = {}
    for i, (_, low, high) in enumerate(MINUTE_BUCKETS):
        cond = Q(minutes_90d__gte=low) if i else Q(minutes_90d__lte=0)
        if high is not None and i:
            cond &= Q(minutes_90d__lt=high)
        aggregates[f"b{i}"] = Count("id", filter=cond)
    counts = snapshots.aggregate(**aggregates)
    return [(label, counts[f"b{i}"]) for i, (label, _, _) in enumerate(MINUTE_BUCKETS)]


# ---------------------------------------------------------------------------- programs


def program_snapshots(*, as_of: dt.date, channel: str = "") -> QuerySet:
    qs = ProgramSnapshot.objects.filter(as_of=as_of).select_related("program")
    if channel:
        qs = qs.filter(program__channel=channel)
    return qs.order_by("-program__cost", "program__name", "program_id")


def channel_snapshots(*, as_of: dt.date) -> list[ChannelSnapshot]:
    return list(ChannelSnapshot.objects.filter(as_of=as_of).order_by("-cost", "channel"))


def program_history(*, program: Program, as_of: dt.date, days: int = 90) -> list[ProgramSnapshot]:
    start = as_of - dt.timedelta(days=days - 1)
    published = metric_selectors.published_days()
    return list(program.snapshots.filter(as_of__range=(start, as_of), as_of__in=published).order_by("as_of"))


def program_reached_accounts(*, program: Program, as_of: dt.date) -> QuerySet:
    """Accounts with a success of the program up to the as-of day, latest success first.

    One grouped query over the (program, occurred_at) index.
    """
    return (
        Touchpoint.objects.filter(
            program=program, kind__in=program.effective_success_kinds, occurred_at__lt=day_end(as_of)
        )
        .values("account_id", "account__name", "account__domain", "account__is_target")
        .annotate(successes=Count("id"), first_success=Min("occurred_at"), last_success=Max("occurred_at"))
        .order_by("-last_success", "account_id")
    )


# ---------------------------------------------------------------------------- program returns

# Under these models each opportunity credits exactly one program, so a channel's opportunities
# are the sum of its programs'. Under the others one opportunity credits every program touched
# in its window, often several of one channel: the sum would count it more than once.
SINGLE_TOUCH_MODELS = frozenset({AttributionModel.FIRST_TOUCH, AttributionModel.LAST_TOUCH})


@dataclass
class Returns:
    """A program's (or a channel's) cost against what one attribution model credits it with: the
    pipeline created and revenue won in the long window (W90) ending on the day (AttributionCredit)."""

    cost: Decimal
    pipeline: Decimal = Decimal("0.00")
    revenue: Decimal = Decimal("0.00")
    opportunities: int | None = 0  # None: not countable (a channel under a multi-touch model)

    @property
    def cost_per_opportunity(self) -> Decimal | None:
        return self.cost / self.opportunities if self.opportunities else None

    @property
    def pipeline_per_cost(self) -> Decimal | None:
        return self.pipeline / self.cost if self.cost else None

    @property
    def roi(self) -> Decimal | None:
        """(attributed revenue − cost) / cost; undefined (blank) for a program that cost nothing."""
        return (self.revenue - self.cost) / self.cost if self.cost else None


@dataclass
class ProgramRow:
    snapshot: ProgramSnapshot
    returns: Returns

    @property
    def program(self) -> Program:
        return self.snapshot.program


def _credits(*, as_of: dt.date, model: str, channel: str = "") -> QuerySet:
    qs = AttributionCredit.objects.filter(as_of=as_of, model=model)
    return qs.filter(program__channel=channel) if channel else qs


def program_returns(*, as_of: dt.date, model: str, channel: str = "") -> list[ProgramRow]:
    """Every program of the day (of one channel, if given) with its reach snapshot and its returns
    under `model`, costliest first (2 queries). Opportunities are those of the pipeline credits,
    as the attribution export's `opportunities` column for basis pipeline."""
    found: dict[int, dict[str, tuple[Decimal, int]]] = defaultdict(dict)
    for program_id, basis, credit, opportunities in _credits(as_of=as_of, model=model, channel=channel).values_list(
        "program_id", "basis", "credit", "opportunities"
    ):
        found[program_id][basis] = (credit, opportunities)
    rows = []
    for snapshot in program_snapshots(as_of=as_of, channel=channel):
        credits = found.get(snapshot.program_id, {})
        pipeline, opportunities = credits.get(AttributionCredit.Basis.PIPELINE, (Decimal("0.00"), 0))
        revenue, _ = credits.get(AttributionCredit.Basis.REVENUE, (Decimal("0.00"), 0))
        rows.append(ProgramRow(snapshot, Returns(snapshot.program.cost, pipeline, revenue, opportunities)))
    return rows


def channel_returns(*, as_of: dt.date, model: str, channels: Iterable[ChannelSnapshot]) -> list[Returns]:
    """The returns of each channel snapshot under `model`, in their order (1 query)."""
    sums: dict[tuple[str, str], tuple[Decimal, int]] = {
        (row["program__channel"], row["basis"]): (row["credit"], row["opportunities"])
        for row in _credits(as_of=as_of, model=model)
        .values("program__channel", "basis")
        .annotate(credit=Sum("credit"), opportunities=Sum("opportunities"))
        .order_by()
    }
    countable = model in SINGLE_TOUCH_MODELS
    out = []
    for c in channels:
        pipeline, opportunities = sums.get((c.channel, AttributionCredit.Basis.PIPELINE), (Decimal("0.00"), 0))
        revenue, _ = sums.get((c.channel, AttributionCredit.Basis.REVENUE), (Decimal("0.00"), 0))
        out.append(Returns(c.cost, pipeline, revenue, opportunities if countable else None))
    return out


# Sort keys of the program table (URL value -> the row's figure); "-key" sorts descending.
PROGRAM_SORTS: dict[str, Any] = {
    "name": lambda r: r.program.name.lower(),
    "channel": lambda r: r.program.get_channel_display(),
    "cost": lambda r: r.returns.cost,
    "pipeline": lambda r: r.returns.pipeline,
    "revenue": lambda r: r.returns.revenue,
    "opportunities": lambda r: r.returns.opportunities,
    "cost_per_opportunity": lambda r: r.returns.cost_per_opportunity,
    "pipeline_per_cost": lambda r: r.returns.pipeline_per_cost,
    "roi": lambda r: r.returns.roi,
    "touches": lambda r: r.snapshot.touches,
    "touched_accounts": lambda r: r.snapshot.touched_accounts,
    "reached_accounts": lambda r: r.snapshot.reached_accounts,
    "target_reach": lambda r: r.snapshot.target_reach,
    "focus": lambda r: r.snapshot.focus,
    "waste": lambda r: r.snapshot.waste,
    "wasted_cost": lambda r: r.snapshot.wasted_cost,
}
DEFAULT_PROGRAM_SORT = "-cost"


def sort_program_rows(rows: list[ProgramRow], sort: str) -> tuple[list[ProgramRow], str]:
    """The rows in `sort` order, blanks (an undefined ROI, focus…) last either way, ties by name;
    and the sort applied (the default for an unknown key). Programs are few (tens to hundreds):
    sorting them here lets the ratios sort like the stored figures."""
    key = sort.lstrip("-")
    if key not in PROGRAM_SORTS:
        sort, key = DEFAULT_PROGRAM_SORT, DEFAULT_PROGRAM_SORT.lstrip("-")
    figure = PROGRAM_SORTS[key]
    by_name = sorted(rows, key=lambda r: (r.program.name.lower(), r.program.pk))
    present = [r for r in by_name if figure(r) is not None]
    blank = [r for r in by_name if figure(r) is None]
    return sorted(present, key=figure, reverse=sort.startswith("-")) + blank, sort


# ---------------------------------------------------------------------------- my accounts


def week_change_expr() -> Any:
    """minutes_7d against the weekly average of the 21 days before (METRICS.md's spike baseline)."""
    return F("minutes_7d") - F("minutes_prev_21d") / 3.0


def month_change_expr() -> Any:
    return F("minutes_30d") - F("minutes_prev_30d")


def rep_snapshots(*, rep: User, as_of: dt.date, sort: str = "week") -> QuerySet:
    """The rep's target accounts of the day, ranked by engagement change (biggest rise first)."""
    qs = (
        AccountSnapshot.objects.filter(as_of=as_of, account__owner=rep, account__is_target=True)
        .select_related("account")
        .annotate(week_change=week_change_expr(), month_change=month_change_expr())
    )
    first = "month_change" if sort == "month" else "week_change"
    return qs.order_by(F(first).desc(), "account__name", "account_id")


@dataclass
class Change:
    account_id: int
    account_name: str
    kind: str  # "stage", "spike", "mqa", "engaged", "lost_engaged"
    text: str


_CHANGE_FIELDS = ("account_id", "account__name", "journey_stage", "spike", "mqa", "engaged")


def rep_changes_since_yesterday(*, rep: User, as_of: dt.date) -> list[Change]:
    """What changed between yesterday's and today's snapshots of the rep's target accounts (2 queries)."""
    base = AccountSnapshot.objects.filter(account__owner=rep, account__is_target=True)
    today = {r["account_id"]: r for r in base.filter(as_of=as_of).values(*_CHANGE_FIELDS)}
    # Yesterday only if published: a failed day's missing accounts would read as no change.
    before_day = base.filter(as_of=as_of - dt.timedelta(days=1), as_of__in=metric_selectors.published_days())
    yesterday = {r["account_id"]: r for r in before_day.values(*_CHANGE_FIELDS)}
    changes: list[Change] = []
    for aid, now in sorted(today.items(), key=lambda kv: kv[1]["account__name"]):
        before = yesterday.get(aid)
        if before is None:
            continue
        name = now["account__name"]
        if now["journey_stage"] != before["journey_stage"]:
            moved_up = STAGE_ORDER.index(now["journey_stage"]) > STAGE_ORDER.index(before["journey_stage"])
            changes.append(
                Change(aid, name, "stage" if moved_up else "stage_down",
                       f"stage {before['journey_stage']} → {now['journey_stage']}")
            )
        if now["spike"] and not before["spike"]:
            changes.append(Change(aid, name, "spike", "new engagement spike"))
        if now["mqa"] and not before["mqa"]:
            changes.append(Change(aid, name, "mqa", "became an MQA"))
        elif now["engaged"] and not before["engaged"]:
            changes.append(Change(aid, name, "engaged", "became engaged"))
        elif before["engaged"] and not now["engaged"]:
            changes.append(Change(aid, name, "lost_engaged", "no longer engaged"))
    return changes


NEW_CONTACTS_LIMIT = 50


def rep_newly_engaged_contacts(*, rep: User, as_of: dt.date, settings: MetricSettings) -> list[dict]:
    """Contacts at the rep's target accounts whose first scored touch fell in the last 7 days.

    Two queries. The first groups the W7 scored touches of the rep's accounts by contact and only
    then keeps the contacts with no scored touch before W7 (NOT EXISTS on the (contact,
    occurred_at) index): one probe per contact, not one per touch, which at 8,000 accounts is
    ~30,000 probes instead of ~70,000. The ORM cannot filter a grouped queryset with a correlated
    NOT EXISTS, so that outer level is SQL around the ORM's own grouped query. The second reads
    the names and figures of the newest few.
    """
    kinds = list(scored_kind_weights(settings))
    if not kinds:
        return []
    start = day_start(as_of - dt.timedelta(days=6))
    in_w7 = Touchpoint.objects.filter(
        account__owner=rep,
        account__is_target=True,
        contact__isnull=False,
        kind__in=kinds,
        occurred_at__gte=start,
        occurred_at__lt=day_end(as_of),
    ).order_by()
    grouped = in_w7.values("contact_id").annotate(first_touch=Min("occurred_at"))
    inner, params = grouped.query.sql_with_params()
    table = connection.ops.quote_name(Touchpoint._meta.db_table)
    sql = f"""
        SELECT w7.contact_id FROM ({inner}) w7
        WHERE NOT EXISTS (
            SELECT 1 FROM {table} earlier
            WHERE earlier.contact_id = w7.contact_id AND earlier.occurred_at < %s
              AND earlier.kind IN ({", ".join(["%s"] * len(kinds))})
        )
        ORDER BY w7.first_touch DESC, w7.contact_id
        LIMIT %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, start, *kinds, NEW_CONTACTS_LIMIT])
        newest = [row[0] for row in cursor.fetchall()]
    if not newest:
        return []
    rows = (
        in_w7.filter(contact_id__in=newest)
        .values(
            "contact_id",
            "contact__first_name",
            "contact__last_name",
            "contact__email",
            "contact__title",
            "contact__role",
            "account_id",
            "account__name",
        )
        .annotate(first_touch=Min("occurred_at"), touches=Count("id"))
    )
    return sorted(rows, key=lambda row: (-row["first_touch"].timestamp(), row["contact_id"]))


def rep_recent_touches(*, rep: User, as_of: dt.date, settings: MetricSettings) -> QuerySet[Touchpoint]:
    """What the rep's target accounts did in the last 7 days (W7): scored touches, newest first.

    All of them, for the page to page through (a page is one range read per account on the
    (account, occurred_at) index).
    """
    return (
        Touchpoint.objects.filter(
            account__owner=rep,
            account__is_target=True,
            kind__in=list(scored_kind_weights(settings)),
            occurred_at__gte=day_start(as_of - dt.timedelta(days=6)),
            occurred_at__lt=day_end(as_of),
        )
        .select_related("account", "contact", "program")
        .order_by("-occurred_at", "-id")
    )


def reps() -> QuerySet:
    """People a marketer can look at My accounts for: owners of target accounts."""
    return (
        User.objects.filter(Exists(Account.objects.filter(owner=OuterRef("pk"), is_target=True)))
        .order_by("first_name", "last_name", "username")
        .only("id", "username", "first_name", "last_name")
    )


# ---------------------------------------------------------------------------- influence

OUTCOME_DIMENSIONS: dict[str, list[tuple[str, str]]] = {
    "quartile": [("1", "Quartile 1 (least engaged)"), ("2", "Quartile 2"), ("3", "Quartile 3"),
                 ("4", "Quartile 4 (most engaged)")],
    "target": [("target", "Target accounts"), ("non_target", "Non-target accounts")],
    "engaged": [("engaged", "Engaged accounts"), ("not_engaged", "Not engaged")],
    "control": [("target", "Target accounts"), ("control", "Look-alike control group")],
}


@dataclass
class OutcomeRow:
    group: str
    label: str
    row: OutcomeGroup | None


def outcome_tables(*, as_of: dt.date) -> dict[str, list[OutcomeRow]]:
    """The day's outcome groups, arranged per dimension in a fixed order (one query). The quartiles
    are empty on a day without quartile rows (its engagement ties across a quartile boundary)."""
    found = {(g.dimension, g.group): g for g in OutcomeGroup.objects.filter(as_of=as_of)}
    has_quartiles = any(dim == "quartile" for dim, _ in found)
    return {
        dim: [OutcomeRow(group, label, found.get((dim, group))) for group, label in groups]
        if dim != "quartile" or has_quartiles else []
        for dim, groups in OUTCOME_DIMENSIONS.items()
    }


@dataclass
class Evidence:
    """A dimension's two compared groups (their table rows) and the evidence for their difference."""

    comparison: OutcomeComparison
    a: OutcomeRow
    b: OutcomeRow


def outcome_evidence(*, as_of: dt.date, tables: dict[str, list[OutcomeRow]]) -> dict[str, Evidence]:
    """The day's evidence per dimension with the table rows it compares (one query); no entry
    where the groups were not compared (no quartiles, or a day computed before the evidence)."""
    found: dict[str, Evidence] = {}
    for c in OutcomeComparison.objects.filter(as_of=as_of):
        rows = {r.group: r for r in tables.get(c.dimension, [])}
        if c.group_a in rows and c.group_b in rows:
            found[c.dimension] = Evidence(c, rows[c.group_a], rows[c.group_b])
    return found


def influence_summary(*, as_of: dt.date) -> InfluenceSummary | None:
    return InfluenceSummary.objects.filter(as_of=as_of).first()


@dataclass
class CreditRow:
    name: str
    key: str
    pipeline: float = 0.0
    revenue: float = 0.0
    opportunities: int = 0


ATTRIBUTION_MODELS = [(m.value, m.label) for m in AttributionModel]


def attribution(*, as_of: dt.date, model: str) -> tuple[list[CreditRow], list[CreditRow]]:
    """Pipeline and revenue credited under one model, by channel and by program (one query)."""
    by_program: dict[int, CreditRow] = {}
    channel_labels = dict(Program._meta.get_field("channel").choices)
    credits = (
        AttributionCredit.objects.filter(as_of=as_of, model=model)
        .select_related("program")
        .only("credit", "basis", "opportunities", "program__name", "program__channel")
    )
    program_channel: dict[int, str] = {}
    for c in credits:
        row = by_program.setdefault(c.program_id, CreditRow(c.program.name, str(c.program_id)))
        program_channel[c.program_id] = c.program.channel
        if c.basis == AttributionCredit.Basis.PIPELINE:
            row.pipeline += float(c.credit)
            row.opportunities = max(row.opportunities, c.opportunities)
        else:
            row.revenue += float(c.credit)
    by_channel: dict[str, CreditRow] = {}
    for pid, row in by_program.items():
        ch = program_channel[pid]
        agg = by_channel.setdefault(ch, CreditRow(str(channel_labels.get(ch, ch)), ch))
        agg.pipeline += row.pipeline
        agg.revenue += row.revenue
        # Opportunities are not summed per channel: one opportunity credits several programs.

    def largest_first(rows: Iterable[CreditRow]) -> list[CreditRow]:
        return sorted(rows, key=lambda r: (-r.pipeline, -r.revenue, r.name))

    return largest_first(by_channel.values()), largest_first(by_program.values())
