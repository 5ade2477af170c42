"""Computed metrics (snapshots, one row per thing per day) and the settings users tune.

Snapshots are written only by metrics.services (the nightly run / compute_metrics) and are
unique per (thing, as_of), so recomputing a day replaces its rows instead of adding to them.
Figure names follow METRICS.md exactly.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from accounts.models import (
    REP_ACTION_KINDS,
    Account,
    Channel,
    Contact,
    Opportunity,
    Program,
    Role,
    Segment,
    Seniority,
    TouchpointKind,
)


def default_minutes_by_kind() -> dict[str, float]:
    """Engagement minutes per touchpoint kind when the source gave no duration (METRICS.md)."""
    return {
        "email_open": 1,
        "email_click": 2,
        "web_visit": 1,
        "form_fill": 10,
        "content_download": 10,
        "event_registered": 5,
        "event_attended": 120,
        "webinar_attended": 30,
        "ad_impression": 0,
        "ad_click": 2,
        "meeting": 30,
        "call_connected": 10,
        "sales_email_reply": 2,
        "social_engagement": 2,
        "product_usage": 5,
        "direct_mail_response": 10,
        "nps_response": 5,
    }


def default_seniority_multipliers() -> dict[str, float]:
    return {"cxo": 2.0, "vp": 1.0, "director": 1.0, "manager": 1.0, "other": 1.0}


def default_required_roles() -> list[str]:
    return ["decision_maker", "champion", "influencer", "technical_evaluator", "end_user"]


# --- Validators of the settings: a bad value is refused where it is typed (the admin), not found
# by the nightly run as a ZeroDivisionError or a TypeError.


def validate_positive(value: float) -> None:
    if not value > 0:
        raise ValidationError("Must be greater than 0.", code="positive")


def _weights(value: Any, *, names: list[str], what: str) -> None:
    """A JSON object of known names → numbers ≥ 0."""
    if not isinstance(value, dict):
        raise ValidationError(f"Enter an object of {what} → number.", code="not_an_object")
    errors = []
    for name, weight in value.items():
        if name not in names:
            errors.append(ValidationError(f"{name!r} is not a {what}; choose from {', '.join(names)}.", code="unknown"))
        elif isinstance(weight, bool) or not isinstance(weight, int | float) or not weight >= 0:
            errors.append(ValidationError(f"The weight of {name!r} must be a number ≥ 0, not {weight!r}.", code="weight"))
    if errors:
        raise ValidationError(errors)


def validate_minutes_by_kind(value: Any) -> None:
    """Weights of the buyer's touches; the rep's own actions (call attempts, sales emails sent)
    are not time the account spent with us and take no weight."""
    if isinstance(value, dict):
        rep_actions = [kind for kind in sorted(map(str, value)) if kind in REP_ACTION_KINDS]
        if rep_actions:
            raise ValidationError(
                [ValidationError(f"{kind!r} is a rep's own action, not the account's time: it takes no minutes.",
                                 code="rep_action") for kind in rep_actions]
            )
    _weights(value, names=[k for k in TouchpointKind.values if k not in REP_ACTION_KINDS], what="touchpoint kind")


def validate_seniority_multipliers(value: Any) -> None:
    _weights(value, names=Seniority.values, what="seniority")


def validate_required_roles(value: Any) -> None:
    """A non-empty list of distinct buying-committee roles; `other` is no committee role."""
    if not isinstance(value, list) or not value:
        raise ValidationError("List at least one required role.", code="empty")
    errors = []
    for role in value:
        if role == Role.OTHER:
            errors.append(ValidationError("'other' fills no required role.", code="other"))
        elif role not in Role.values:
            choices = ", ".join(r for r in Role.values if r != Role.OTHER)
            errors.append(ValidationError(f"{role!r} is not a buying-committee role; choose from {choices}.",
                                          code="unknown"))
    if len(set(map(str, value))) != len(value):
        errors.append(ValidationError("A role is listed twice.", code="duplicate"))
    if errors:
        raise ValidationError(errors)


AT_LEAST_ONE = [MinValueValidator(1)]
NOT_NEGATIVE = [MinValueValidator(0)]
A_SHARE = [MinValueValidator(0), MaxValueValidator(1)]


class MetricSettings(models.Model):
    """The tunable weights, windows and thresholds. One row; edit it in the admin.

    A change applies from the next computation on; snapshots already written keep the
    figures they were computed with.
    """

    minutes_by_kind = models.JSONField(default=default_minutes_by_kind, validators=[validate_minutes_by_kind])
    seniority_multipliers = models.JSONField(
        default=default_seniority_multipliers, validators=[validate_seniority_multipliers]
    )
    required_roles = models.JSONField(
        default=default_required_roles,
        validators=[validate_required_roles],
        error_messages={"blank": "List at least one required role."},
    )

    long_window_days = models.PositiveSmallIntegerField(default=90, validators=AT_LEAST_ONE, help_text="W90")
    short_window_days = models.PositiveSmallIntegerField(
        default=30, validators=AT_LEAST_ONE, help_text="W30 (and P30 before it)"
    )
    spike_window_days = models.PositiveSmallIntegerField(default=7, validators=AT_LEAST_ONE, help_text="W7")
    spike_baseline_days = models.PositiveSmallIntegerField(
        default=21, validators=AT_LEAST_ONE, help_text="B21, the days before W7"
    )

    covered_min_role_coverage = models.FloatField(default=0.6, validators=A_SHARE, help_text="A share, 0–1")
    covered_min_reachable_contacts = models.PositiveSmallIntegerField(default=3)
    engaged_min_minutes = models.FloatField(default=10, validators=NOT_NEGATIVE)
    mqa_min_minutes = models.FloatField(default=100, validators=NOT_NEGATIVE)
    mqa_min_contacts = models.PositiveSmallIntegerField(default=2)
    mqa_min_contact_minutes = models.FloatField(default=20, validators=NOT_NEGATIVE)
    spike_ratio = models.FloatField(
        default=2.0, validators=NOT_NEGATIVE, help_text="minutes_7d ≥ ratio × weekly average of B21"
    )
    spike_min_minutes = models.FloatField(default=30, validators=NOT_NEGATIVE)

    attribution_lookback_days = models.PositiveSmallIntegerField(default=90, validators=AT_LEAST_ONE)
    influence_lookback_days = models.PositiveSmallIntegerField(default=90, validators=AT_LEAST_ONE)
    time_decay_half_life_days = models.FloatField(default=7, validators=[validate_positive])
    outcomes_window_days = models.PositiveSmallIntegerField(default=365, validators=AT_LEAST_ONE)
    headline_min_closed = models.PositiveSmallIntegerField(
        default=10,
        validators=AT_LEAST_ONE,
        help_text="No headline when a compared group has fewer closed opportunities.",
    )

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "metric settings"
        verbose_name_plural = "metric settings"

    def __str__(self) -> str:
        return "Metric settings"

    def clean(self) -> None:
        """Rules between fields (each field's own range is on its validators)."""
        errors: dict[str, str] = {}
        if self.short_window_days and self.long_window_days and self.short_window_days > self.long_window_days:
            errors["short_window_days"] = "W30 lies inside W90: the short window cannot be longer than the long one."
        if self.mqa_min_minutes is not None and self.engaged_min_minutes is not None:
            if self.mqa_min_minutes < self.engaged_min_minutes:
                errors["mqa_min_minutes"] = "An MQA is engaged: its minimum cannot be below the engaged minimum."
        if errors:
            raise ValidationError(errors)

    @classmethod
    def load(cls) -> MetricSettings:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class JourneyStage(models.TextChoices):
    NONE = "none", "None"
    AWARE = "aware", "Aware"
    ENGAGED = "engaged", "Engaged"
    MQA = "mqa", "MQA"
    OPPORTUNITY = "opportunity", "Opportunity"
    CUSTOMER = "customer", "Customer"


class AccountSnapshot(models.Model):
    """Every per-account figure of METRICS.md for one account as of one day."""

    # No index of its own: the unique (account, as_of) index serves every lookup by account.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="snapshots", db_index=False)
    as_of = models.DateField()

    # Coverage
    contacts = models.PositiveIntegerField(default=0)
    reachable_contacts = models.PositiveIntegerField(default=0)
    roles_covered = models.PositiveSmallIntegerField(default=0)
    role_coverage = models.FloatField(default=0)
    profile_completeness = models.FloatField(default=0)
    covered = models.BooleanField(default=False)
    has_decision_maker = models.BooleanField(default=False)

    # Awareness (W90)
    web_visits = models.PositiveIntegerField(default=0)
    known_visitors = models.PositiveIntegerField(default=0)
    email_opens = models.PositiveIntegerField(default=0)
    event_attendances = models.PositiveIntegerField(default=0)
    calls_connected = models.PositiveIntegerField(default=0)
    aware_contacts = models.PositiveIntegerField(default=0)
    aware = models.BooleanField(default=False)

    # Engagement
    minutes_7d = models.FloatField(default=0)
    minutes_prev_21d = models.FloatField(default=0, help_text="B21: the 21 days before the last 7")
    minutes_30d = models.FloatField(default=0)
    minutes_prev_30d = models.FloatField(default=0)
    minutes_90d = models.FloatField(default=0)
    engaged_contacts_90d = models.PositiveIntegerField(default=0)
    engaged = models.BooleanField(default=False)
    mqa = models.BooleanField(default=False)
    spike = models.BooleanField(default=False)
    engagement_percentile = models.FloatField(default=0)
    minutes_by_kind = models.JSONField(default=dict, blank=True, help_text="W90 minutes per touchpoint kind")
    minutes_by_role = models.JSONField(default=dict, blank=True, help_text="W90 minutes per buying-committee role")

    # Reach (W90)
    programs_reached = models.PositiveIntegerField(default=0)
    channels_reached = models.PositiveIntegerField(default=0)

    # Influence
    pipeline_created_90d = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    won_revenue_90d = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    influenced_pipeline = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    influenced_opportunities = models.PositiveIntegerField(default=0, help_text="Opportunities behind influenced_pipeline")

    journey_stage = models.CharField(max_length=12, choices=JourneyStage.choices, default=JourneyStage.NONE)

    # Customer satisfaction (beyond the five): NPS over the account's scored responses, W90.
    nps_responses = models.PositiveIntegerField(default=0)
    nps_promoters = models.PositiveIntegerField(default=0)
    nps_detractors = models.PositiveIntegerField(default=0)
    nps = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "as_of"], name="account_snapshot_unique_day")]
        indexes = [
            # Account list sorted by engagement for one day; percentile ranks.
            models.Index(fields=["as_of", "minutes_90d"], name="acct_snap_day_minutes"),
            models.Index(fields=["as_of", "journey_stage"], name="acct_snap_day_stage"),
            # The account list's "spike" and "MQA" filters: few accounts of a day's 100,000 have
            # either flag, so a partial index makes their page and its count read only those.
            models.Index(
                fields=["as_of", "minutes_7d"], condition=models.Q(spike=True), name="acct_snap_day_spike"
            ),
            models.Index(fields=["as_of", "minutes_90d"], condition=models.Q(mqa=True), name="acct_snap_day_mqa"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} @ {self.as_of}"


class ContactSnapshot(models.Model):
    """A person's engagement as of one day (METRICS.md "People"), written in the same per-chunk
    pass as the accounts (metrics.families.people). Only contacts with a touch on or before the
    day have a row: no row means no activity yet."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="snapshots", db_index=False)
    # The contact's account when computed (the chunk it belongs to); no index of its own: the
    # (as_of, account) index below holds it.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contact_snapshots", db_index=False)
    as_of = models.DateField()
    minutes_7d = models.FloatField(default=0)
    minutes_30d = models.FloatField(default=0)
    minutes_90d = models.FloatField(default=0)
    minutes_prev_30d = models.FloatField(default=0)
    touches_90d = models.PositiveIntegerField(default=0, help_text="Touches of any kind in W90, zero-weight included")
    last_touch_at = models.DateTimeField(null=True, blank=True, help_text="The latest touch on or before the day")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "as_of"], name="contact_snapshot_unique_day")]
        indexes = [
            # The account page's committee grid and My accounts: one account (or a rep's few) on one
            # day; a chunk's DELETE: a range of accounts on one day. Day first, so that range is
            # one tight index range whatever the days of history (account first, a chunk's DELETE
            # at 10,000 accounts read 90 days' entries to keep one day's 15,000: 61 ms).
            models.Index(fields=["as_of", "account"], name="contact_snap_day_account"),
        ]

    def __str__(self) -> str:
        return f"contact {self.contact_id} @ {self.as_of}"


class SegmentSnapshot(models.Model):
    """Rollup of a segment's account snapshots. `segment` null = the whole target list."""

    segment = models.ForeignKey(Segment, null=True, blank=True, on_delete=models.CASCADE, related_name="snapshots")
    as_of = models.DateField()

    accounts = models.PositiveIntegerField(default=0)
    # Coverage
    covered_accounts = models.PositiveIntegerField(default=0)
    covered_share = models.FloatField(default=0)
    mean_role_coverage = models.FloatField(default=0)
    accounts_without_decision_maker = models.PositiveIntegerField(default=0)
    # Awareness / engagement
    aware_share = models.FloatField(default=0)
    engaged_share = models.FloatField(default=0)
    mqa_share = models.FloatField(default=0)
    median_minutes_90d = models.FloatField(default=0)
    # Funnel: accounts at or past each stage (funnel_accounts = all accounts of the segment).
    funnel_aware = models.PositiveIntegerField(default=0)
    funnel_engaged = models.PositiveIntegerField(default=0)
    funnel_mqa = models.PositiveIntegerField(default=0)
    funnel_opportunity = models.PositiveIntegerField(default=0)
    funnel_customer = models.PositiveIntegerField(default=0)
    # Reach
    mean_programs_reached = models.FloatField(default=0)
    # Influence
    pipeline_created_90d = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    won_revenue_90d = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    open_opportunities = models.PositiveIntegerField(default=0)
    win_rate = models.FloatField(null=True, blank=True)
    avg_contract_value = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    median_cycle_days = models.FloatField(null=True, blank=True)
    sales_velocity = models.FloatField(null=True, blank=True, help_text="Currency per day")
    # Customer satisfaction
    nps = models.FloatField(null=True, blank=True)
    nps_responses = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "as_of"], name="segment_snapshot_unique_day"),
            models.UniqueConstraint(
                fields=["as_of"], condition=models.Q(segment__isnull=True), name="target_list_snapshot_unique_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.segment or 'Target accounts'} @ {self.as_of}"


class ProgramAccountReach(models.Model):
    """Per (program, account): the program's touches at the account and how many were successes,
    over every touch on or before one day (ProgramReachState.as_of): the pairs program and
    channel reach are summed from (metrics.families.reach.kept_pairs). The run of the latest day
    rebuilds them; a refresh of that day replaces the rows of the accounts it refreshes, so it
    sums the kept pairs instead of reading every touch again. Plain ids: the sums join the
    programs and accounts, so rows of deleted ones count for nothing. UNLOGGED on PostgreSQL, as
    is ProgramReachState (migration 0018): rebuilt every night, they need no WAL, and after a crash
    both are empty together, so a refresh counts from the touches until the next run."""

    pk = models.CompositePrimaryKey("account_id", "program_id")
    account_id = models.BigIntegerField()
    program_id = models.BigIntegerField()
    touches = models.BigIntegerField()
    successes = models.BigIntegerField()

    def __str__(self) -> str:
        return f"program {self.program_id} at account {self.account_id}"


class ProgramReachState(models.Model):
    """The one row saying which day ProgramAccountReach counts up to, and under which programs'
    success kinds (a digest): a refresh of another day, or after the kinds changed, counts from
    the touches instead."""

    as_of = models.DateField(null=True, blank=True)
    digest = models.CharField(max_length=40, blank=True)

    def __str__(self) -> str:
        return f"program reach pairs as of {self.as_of}"


class ReachFigures(models.Model):
    """Reach, focus and waste: the same figures for a program and for a channel's programs."""

    touches = models.PositiveIntegerField(default=0)
    touches_at_targets = models.PositiveIntegerField(default=0)
    touched_accounts = models.PositiveIntegerField(default=0)
    reached_accounts = models.PositiveIntegerField(default=0)
    reached_target_accounts = models.PositiveIntegerField(default=0)
    target_accounts = models.PositiveIntegerField(default=0, help_text="Denominator of target_reach")
    successes = models.PositiveIntegerField(default=0)
    target_successes = models.PositiveIntegerField(default=0)
    target_reach = models.FloatField(default=0)
    focus = models.FloatField(null=True, blank=True, help_text="Undefined (null) with no successes")
    waste = models.FloatField(null=True, blank=True, help_text="Undefined (null) with no touches")
    wasted_cost = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        abstract = True


class ProgramSnapshot(ReachFigures):
    """Reach, focus and waste of one program over all its touches on or before as_of."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="snapshots")
    as_of = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["program", "as_of"], name="program_snapshot_unique_day")]

    def __str__(self) -> str:
        return f"{self.program_id} @ {self.as_of}"


class ChannelSnapshot(ReachFigures):
    """ProgramSnapshot's figures over all programs of a channel."""

    channel = models.CharField(max_length=20, choices=Channel.choices)
    as_of = models.DateField()

    programs = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "as_of"], name="channel_snapshot_unique_day")]


class OpportunityFact(models.Model):
    """One figure of an opportunity that does not depend on the as-of day, kept so that a refresh
    after new touches recomputes it only for the opportunities of the accounts it touched
    (metrics.families.influence.StoredFacts).

    - minutes: the account's engagement minutes on the days before the opportunity was created
      (the outcome tables' unit), in millionths (`units`);
    - pipeline, revenue: its attribution credit (`credit`: model → program id → cents; null when
      it has no program touch in its window).

    Every full run of a day rewrites the facts of its opportunities. A fact holds only while what
    it was computed from is unchanged: the opportunity's account, creation, attribution point
    (closed_at for revenue, else created_at) and amount, and the settings it used (`settings`, a
    digest); otherwise it is computed again. A refresh first deletes the facts of the accounts it
    refreshes (their touches changed).
    """

    class Kind(models.TextChoices):
        MINUTES = "minutes"
        PIPELINE = "pipeline"
        REVENUE = "revenue"

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # What it was computed from; the account as a plain id, indexed for the refresh's delete.
    account_id = models.BigIntegerField(db_index=True)
    created_at = models.DateTimeField()
    point_at = models.DateTimeField()
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    settings = models.CharField(max_length=40)
    units = models.BigIntegerField(null=True, blank=True)
    credit = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["opportunity", "kind"], name="opportunity_fact_unique_kind")]

    def __str__(self) -> str:
        return f"{self.kind} of opportunity {self.opportunity_id}"


class OutcomeGroup(models.Model):
    """One row of the influence comparison tables for a day.

    dimension: "quartile" (group "1".."4"), "target" ("target"/"non_target"),
    "engaged" ("engaged"/"not_engaged"), "control" ("target"/"control"). A day whose
    engagement ties across a quartile boundary has no quartile rows (InfluenceSummary.quartile_ties).
    """

    as_of = models.DateField()
    dimension = models.CharField(max_length=20)
    group = models.CharField(max_length=20)
    opportunities_closed = models.PositiveIntegerField(default=0)
    opportunities_won = models.PositiveIntegerField(default=0)
    win_rate = models.FloatField(null=True, blank=True)
    median_cycle_days = models.FloatField(null=True, blank=True)
    avg_contract_value = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    pipeline_created = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    accounts = models.PositiveIntegerField(default=0)
    mean_minutes_90d = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["as_of", "dimension", "group"], name="outcome_group_unique_day")
        ]


class OutcomeComparison(models.Model):
    """The evidence for the difference between the two groups of one dimension on a day (METRICS.md
    §5 "Evidence, not just a difference"; methods in metrics.evidence). Differences are group_a −
    group_b: quartile "4" − "1", "target" − "non_target", "engaged" − "not_engaged", "target" −
    "control". Empty figures: a group has no closed (win rate) or no won (cycle) opportunity, or
    the samples are too small for a 95 % interval. No quartile row when there are no quartiles.
    """

    as_of = models.DateField()
    dimension = models.CharField(max_length=20)
    group_a = models.CharField(max_length=20)
    group_b = models.CharField(max_length=20)
    closed_a = models.PositiveIntegerField(default=0)
    closed_b = models.PositiveIntegerField(default=0)
    won_a = models.PositiveIntegerField(default=0, help_text="The won deals behind the cycle comparison")
    won_b = models.PositiveIntegerField(default=0)
    win_rate_difference = models.FloatField(null=True, blank=True, help_text="Share (0–1): win rate a − b")
    win_rate_difference_low = models.FloatField(null=True, blank=True, help_text="95 %, Newcombe (Wilson)")
    win_rate_difference_high = models.FloatField(null=True, blank=True)
    win_rate_p_value = models.FloatField(null=True, blank=True, help_text="Fisher's exact test, two-sided")
    cycle_shift_days = models.FloatField(null=True, blank=True, help_text="Hodges–Lehmann shift a − b, won deals")
    cycle_shift_low = models.FloatField(null=True, blank=True, help_text="95 %, from the ordered differences")
    cycle_shift_high = models.FloatField(null=True, blank=True)
    cycle_p_value = models.FloatField(null=True, blank=True, help_text="Mann–Whitney U test, two-sided")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["as_of", "dimension"], name="outcome_comparison_unique_day")]

    def __str__(self) -> str:
        return f"{self.dimension} {self.group_a} vs {self.group_b} @ {self.as_of}"


class HeadlineReason(models.TextChoices):
    """Why the headline says what it says (METRICS.md §5: an effect only where p < 0.05)."""

    EFFECT = "effect", "A difference with p < 0.05"
    NOT_SIGNIFICANT = "not_significant", "No difference with p < 0.05"
    TOO_FEW = "too_few", "Too few closed deals in a quartile"
    NO_ENGAGEMENT = "no_engagement", "No engagement recorded before any deal: no quartiles"
    ENGAGEMENT_TIES = "engagement_ties", "Engagement ties across a quartile boundary: no quartiles"


class InfluenceSummary(models.Model):
    """The day's computed headline and totals for the influence page.

    Two populations: the opportunities closed in the outcomes window (closed_opportunities; every
    OutcomeGroup row and the headline are drawn from them) and those created in W90
    (pipeline_opportunities, pipeline_created; influenced_pipeline is a part of them).
    """

    as_of = models.DateField(unique=True)
    headline = models.TextField(blank=True, help_text="The sentence comparing quartile 4 with quartile 1.")
    headline_reason = models.CharField(max_length=20, choices=HeadlineReason.choices, blank=True)
    headline_opportunities = models.PositiveIntegerField(
        default=0, help_text="Closed opportunities of quartiles 4 and 1 (0 without quartiles)"
    )
    closed_opportunities = models.PositiveIntegerField(
        default=0, help_text="Opportunities closed in the outcomes window: the population of the outcome tables"
    )
    quartile_ties = models.JSONField(
        default=list, blank=True,
        help_text='Minutes tied across a quartile boundary: [{"minutes": m, "opportunities": k}]; empty = quartiles',
    )
    influenced_pipeline = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    influenced_opportunities = models.PositiveIntegerField(default=0)
    pipeline_created = models.DecimalField(
        max_digits=18, decimal_places=2, default=0, help_text="Amounts of all opportunities created in W90"
    )
    pipeline_opportunities = models.PositiveIntegerField(default=0, help_text="Opportunities created in W90")
    won_revenue = models.DecimalField(
        max_digits=18, decimal_places=2, default=0, help_text="Amounts of the opportunities won and closed in W90"
    )
    won_opportunities = models.PositiveIntegerField(default=0, help_text="Opportunities won and closed in W90")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name_plural = "influence summaries"

    @property
    def has_quartiles(self) -> bool:
        return not self.quartile_ties

    @property
    def influenced_share(self) -> float | None:
        """Influenced pipeline / all pipeline created in W90 (0–1); None with no pipeline."""
        return float(self.influenced_pipeline / self.pipeline_created) if self.pipeline_created else None


class AttributionModel(models.TextChoices):
    FIRST_TOUCH = "first_touch", "First touch"
    LAST_TOUCH = "last_touch", "Last touch"
    LINEAR = "linear", "Linear"
    U_SHAPED = "u_shaped", "U-shaped"
    TIME_DECAY = "time_decay", "Time decay"


class AttributionCredit(models.Model):
    """Amount credited to a program under one model, summed over opportunities, for one day."""

    class Basis(models.TextChoices):
        PIPELINE = "pipeline", "Pipeline"
        REVENUE = "revenue", "Revenue"

    as_of = models.DateField()
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="attribution_credits")
    model = models.CharField(max_length=12, choices=AttributionModel.choices)
    basis = models.CharField(max_length=8, choices=Basis.choices)
    credit = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    opportunities = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["as_of", "program", "model", "basis"], name="attribution_credit_unique_day"
            )
        ]


class MetricsRun(models.Model):
    """The fill state of one as-of day: the gate readers check and what a stalled run resumes from.

    A day is published (pages, API and exports show it) only while its run is DONE: the chunks
    write their snapshots as they go, so a running or failed day has some of them, with
    percentiles of 0 and no rollups. One row per day (as_of is unique); a run starts by claiming
    the row under a lock (services.run_start), so two runs of a day never overlap. The chunks of
    the run are MetricsRunChunk rows, each marked done in the transaction that stores its
    snapshots.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    ACTIVE = (Status.PENDING, Status.RUNNING)

    as_of = models.DateField(unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0, help_text="Chunks marked done, each once")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progressed_at = models.DateTimeField(
        null=True, blank=True, help_text="Last start, finished chunk or re-queue: the stall detector's clock"
    )
    rollups_queued_at = models.DateTimeField(
        null=True, blank=True, help_text="Set once, by whichever chunk finished the run's last"
    )
    requeues = models.PositiveSmallIntegerField(default=0, help_text="Times the stall detector re-queued the run")
    queue = models.CharField(max_length=200, blank=True, help_text="Celery queue of the run's tasks (blank: default)")
    error = models.TextField(blank=True)
    # A partial refresh of the published day (metrics.services.refresh_accounts): the accounts new
    # touches changed, and the day's rollups, recomputed in place; the day stays published.
    refreshed_at = models.DateTimeField(
        null=True, blank=True, help_text="Last partial refresh after new touches (blank: none since the full run)"
    )
    refreshed_accounts = models.PositiveIntegerField(default=0, help_text="Accounts recomputed by that refresh")

    class Meta:
        constraints = [
            # Progress can never pass 100 %: a chunk counts once (see services.compute_run_chunk).
            models.CheckConstraint(
                condition=models.Q(chunks_done__lte=models.F("chunks_total")), name="metrics_run_done_within_total"
            ),
        ]

    def __str__(self) -> str:
        return f"Metrics run {self.as_of} ({self.status})"

    @property
    def active(self) -> bool:
        return self.status in self.ACTIVE


class MetricsRunChunk(models.Model):
    """One chunk of a run: the accounts it covers — every account whose id lies from `lo` to
    `hi`, a range of the account-leading indexes the families read — and when its snapshots were
    stored. The ranges are cut when the run starts (metrics.services.account_ranges)."""

    run = models.ForeignKey(MetricsRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    lo = models.PositiveBigIntegerField(help_text="The first account id of the chunk")
    hi = models.PositiveBigIntegerField(help_text="The last account id of the chunk (included)")
    accounts = models.PositiveIntegerField(help_text="Accounts in the range when the run started")
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="metrics_run_chunk_unique_index")]

    def __str__(self) -> str:
        return f"Chunk {self.index} of {self.run}"

    @property
    def account_ids(self) -> range:
        """The ids the chunk covers, as the families take them (metrics.families.common.id_bounds)."""
        return range(self.lo, self.hi + 1)


class RefreshRequest(models.Model):
    """New touches waiting for their refresh (metrics.tasks.queue_refresh): the accounts they
    changed and the earliest day. Requests wait here, not in the broker, so a burst of imports or
    API calls is folded into one refresh of all their accounts instead of one refresh each; the
    refresh deletes the requests it covered."""

    account_ids = models.JSONField(help_text="The accounts whose touches were created, changed or moved")
    earliest_day = models.DateField(help_text="The earliest UTC day of those touches")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Refresh of {len(self.account_ids)} account(s) from {self.earliest_day}"
