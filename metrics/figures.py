"""Every figure the dashboard shows, described once: the registry of figures.

Like Zulip's list of CountStats (analytics/lib/counts.py), a figure is named here once, with its
label, unit, page format, family, definition and export column, and every reader takes it from
here: the ⓘ tooltips ({% info %}), the /definitions/ page, the exports (the account list's CSV and
`export_metrics`, every level) and the API schema's field descriptions. Nothing else restates a
figure.

Labels and definitions are templates filled from the *current* MetricSettings, so when an admin
raises a threshold the tooltips and /definitions/ say the new value: `{engaged_min_minutes}` is
that setting, `{W90}`, `{W30}`, `{P30}`, `{W7}`, `{B21}` are the window lengths in days,
`{kind_<kind>}` and `{seniority_<seniority>}` the weights, `{required_roles}` and
`{required_roles_count}` the required roles (see `placeholders`). The definitions state the
formulas as metrics/families computes them (docs/metrics.md says the same at length).

A figure's name is its METRICS.md name, which is also the snapshot model's field and the export
column. `levels` says which snapshot models store it (account, segment, program, channel, outcome
group, attribution credit); a figure with no level is one a page derives (week_change) or a
concept behind several figures (engagement_minutes), described here so its tooltip has a home.

To add a figure: add its model field and one `Figure` to its family's tuple below. The tests
(tests/metrics/test_figures.py) fail for a snapshot field without an entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from metrics.models import MetricSettings


class Unit(StrEnum):
    """What a figure counts, which fixes its export encoding and its default page format."""

    MINUTES = "minutes"
    SHARE = "share"  # 0–1, in exports too (a page shows it as a percentage)
    PERCENTILE = "percentile"  # 0–100
    COUNT = "count"
    MONEY = "money"  # amounts as they are, whatever their currency
    MONEY_PER_DAY = "money per day"
    BOOLEAN = "boolean"  # true / false in exports
    STAGE = "stage"  # a journey stage, lower case in exports
    DAYS = "days"
    POINTS = "points"  # NPS, −100 … 100
    QUARTILE = "quartile"  # 1 (least engaged) … 4 (most)


class Level(StrEnum):
    """A snapshot model a figure is stored on, and so an export level's table."""

    ACCOUNT = "account"  # AccountSnapshot
    SEGMENT = "segment"  # SegmentSnapshot
    PROGRAM = "program"  # ProgramSnapshot
    CHANNEL = "channel"  # ChannelSnapshot
    OUTCOME = "outcome"  # OutcomeGroup
    ATTRIBUTION = "attribution"  # AttributionCredit


# How a page shows a figure of each unit, by the `figure` filter (dashboard/templatetags/dash.py):
# num[:digits], pct (a share as a percentage), money, yesno or stage (the stage's label).
DEFAULT_FORMAT: dict[Unit, str] = {
    Unit.MINUTES: "num",
    Unit.SHARE: "pct",
    Unit.PERCENTILE: "num",
    Unit.COUNT: "num",
    Unit.MONEY: "money",
    Unit.MONEY_PER_DAY: "money",
    Unit.BOOLEAN: "yesno",
    Unit.STAGE: "stage",
    Unit.DAYS: "num",
    Unit.POINTS: "num",
    Unit.QUARTILE: "num",
}

ACCOUNT, SEGMENT, PROGRAM, CHANNEL = Level.ACCOUNT, Level.SEGMENT, Level.PROGRAM, Level.CHANNEL
OUTCOME, ATTRIBUTION = Level.OUTCOME, Level.ATTRIBUTION
REACH_LEVELS = (PROGRAM, CHANNEL)


@dataclass(frozen=True)
class Figure:
    name: str
    family: str
    label: str  # a template, like `definition`
    unit: Unit
    definition: str  # a template filled from the settings (see `placeholders`)
    levels: tuple[Level, ...] = ()
    format: str = ""  # a page format, e.g. "num:1" (see DEFAULT_FORMAT); empty: the unit's default
    exported: bool = True  # False: stored, but a breakdown (JSON) that has no place in a flat export

    @property
    def column(self) -> str | None:
        """The export column: the METRICS.md name, or None when no export carries the figure."""
        return self.name if self.levels and self.exported else None

    @property
    def page_format(self) -> str:
        return self.format or DEFAULT_FORMAT[self.unit]

    def encode(self, value: Any) -> Any:
        """The value as exports carry it (METRICS.md): booleans true/false, shares 0–1, percentiles
        0–100, journey stages lower case; None (undefined, e.g. focus with no successes) stays None.
        The CSV writer turns True into `true`; JSON has its own true/false and null."""
        if value is None:
            return None
        if self.unit is Unit.BOOLEAN:
            return bool(value)
        if self.unit is Unit.STAGE:
            return str(value).lower()
        if self.unit in (Unit.COUNT, Unit.QUARTILE):
            return int(value)
        if self.unit in (Unit.MONEY, Unit.MONEY_PER_DAY) and isinstance(value, Decimal):
            return value  # exact cents, not a float's approximation
        return float(value)


@dataclass(frozen=True)
class Described:
    """A figure with its label and definition filled from one MetricSettings."""

    figure: Figure
    label: str
    text: str

    @property
    def name(self) -> str:
        return self.figure.name

    @property
    def family(self) -> str:
        return self.figure.family

    @property
    def unit(self) -> Unit:
        return self.figure.unit


FAMILIES: tuple[tuple[str, str], ...] = (
    ("coverage", "Coverage — do we know enough of the right people?"),
    ("awareness", "Awareness — do they know us?"),
    ("engagement", "Engagement — how much time do they spend with us?"),
    ("reach", "Reach — do our programs reach the target accounts, and where is effort wasted?"),
    ("influence", "Influence — which activities lead to the right results?"),
    ("journey", "Journey stages"),
    ("satisfaction", "Customer satisfaction"),
    ("sales_activity", "Sales activity — what are the reps doing at the accounts, and does it work?"),
)

# The windows, named as METRICS.md names them; their lengths are settings.
WINDOWS: tuple[tuple[str, str, str], ...] = (
    ("W90", "long_window_days", "the {W90} days ending with D"),
    ("W30", "short_window_days", "the {W30} days ending with D"),
    ("P30", "short_window_days", "the {P30} days before W30"),
    ("W7", "spike_window_days", "the last {W7} days"),
    ("B21", "spike_baseline_days", "the {B21} days before W7"),
)


def _in(family: str) -> Callable[..., Figure]:
    """A builder of the figures of one family: _coverage(name, label, unit, definition, *levels)."""

    def figure(name: str, label: str, unit: Unit, definition: str, *levels: Level, **options: Any) -> Figure:
        return Figure(name, family, label, unit, definition, levels, **options)

    return figure


_coverage, _awareness, _engagement, _reach = _in("coverage"), _in("awareness"), _in("engagement"), _in("reach")
_influence, _journey, _satisfaction = _in("influence"), _in("journey"), _in("satisfaction")
_sales = _in("sales_activity")


# Within a family, the order is the export's column order (and the /definitions/ page's).

COVERAGE: tuple[Figure, ...] = (
    _coverage("contacts", "Contacts", Unit.COUNT, "Contacts at the account.", ACCOUNT),
    _coverage("reachable_contacts", "Reachable contacts", Unit.COUNT,
              "Contacts with an email or a phone number who have not opted out.", ACCOUNT),
    _coverage("roles_covered", "Roles covered", Unit.COUNT,
              "How many of the {required_roles_count} required buying-committee roles ({required_roles}) at least "
              "one contact of the account holds; opted-out contacts count (we know them).", ACCOUNT),
    _coverage("role_coverage", "Role coverage", Unit.SHARE,
              "roles_covered / {required_roles_count} required roles (0–1).", ACCOUNT),
    _coverage("profile_completeness", "Profile completeness", Unit.SHARE,
              "Share of domain, industry, employees, annual revenue, country and owner that are filled in (0–1).",
              ACCOUNT),
    _coverage("covered", "Covered", Unit.BOOLEAN,
              "role_coverage ≥ {covered_min_role_coverage} and at least {covered_min_reachable_contacts} reachable "
              "contacts.", ACCOUNT),
    _coverage("has_decision_maker", "Has a decision maker", Unit.BOOLEAN,
              "At least one contact of the account holds the decision_maker role.", ACCOUNT),
    _coverage("accounts", "Accounts", Unit.COUNT,
              "The accounts of the group: all accounts of a segment (of the target list: all target accounts), or "
              "the distinct accounts of an outcome group's opportunities (of a control comparison: its accounts).",
              SEGMENT, OUTCOME),
    _coverage("covered_accounts", "Covered accounts", Unit.COUNT, "Accounts of the segment that are covered.",
              SEGMENT),
    _coverage("covered_share", "Covered share", Unit.SHARE,
              "Share of the segment's accounts that are covered (0–1).", SEGMENT),
    _coverage("mean_role_coverage", "Mean role coverage", Unit.SHARE,
              "Mean role_coverage of the segment's accounts (0–1).", SEGMENT),
    _coverage("accounts_without_decision_maker", "Without a decision maker", Unit.COUNT,
              "Accounts of the segment with no contact in the decision_maker role.", SEGMENT),
)

AWARENESS: tuple[Figure, ...] = (
    _awareness("web_visits", "Web visits", Unit.COUNT,
               "Web visits in the last {W90} days (W90), known and anonymous.", ACCOUNT),
    _awareness("known_visitors", "Known visitors", Unit.COUNT,
               "Distinct known contacts with a web visit in W90 (anonymous visits add visits, not visitors).",
               ACCOUNT),
    _awareness("email_opens", "Email opens", Unit.COUNT, "Email opens in W90.", ACCOUNT),
    _awareness("event_attendances", "Event attendances", Unit.COUNT, "Events and webinars attended in W90.",
               ACCOUNT),
    _awareness("calls_connected", "Calls connected", Unit.COUNT, "Connected calls in W90.", ACCOUNT),
    _awareness("aware_contacts", "Aware contacts", Unit.COUNT,
               "Distinct contacts with any awareness touch (web visit, email open, event or webinar attended, "
               "connected call, ad click) in W90.", ACCOUNT),
    _awareness("aware", "Aware", Unit.BOOLEAN,
               "At least one awareness touch in W90 (an anonymous web visit is enough).", ACCOUNT),
    _awareness("aware_share", "Aware share", Unit.SHARE, "Share of the segment's accounts that are aware (0–1).",
               SEGMENT),
)

ENGAGEMENT: tuple[Figure, ...] = (
    _engagement("engagement_minutes", "Engagement minutes", Unit.MINUTES,
                "Each touch is worth its duration when the source gave one, otherwise its kind's weight (e.g. "
                "email open {kind_email_open}, webinar {kind_webinar_attended}, event {kind_event_attended} "
                "minutes), times its contact's seniority multiplier (C-level × {seniority_cxo}); a kind weighted 0 "
                "never counts."),
    _engagement("minutes_7d", "Minutes, {W7} days", Unit.MINUTES,
                "Engagement minutes in the last {W7} days (W7).", ACCOUNT),
    _engagement("minutes_prev_21d", "Minutes, {B21} days before", Unit.MINUTES,
                "Engagement minutes in B21, the {B21} days before W7.", ACCOUNT),
    _engagement("minutes_30d", "Minutes, {W30} days", Unit.MINUTES,
                "Engagement minutes in the last {W30} days (W30).", ACCOUNT),
    _engagement("minutes_prev_30d", "Minutes, previous {P30} days", Unit.MINUTES,
                "Engagement minutes in P30, the {P30} days before W30.", ACCOUNT),
    _engagement("minutes_90d", "Minutes, {W90} days", Unit.MINUTES,
                "Engagement minutes in the last {W90} days (W90).", ACCOUNT),
    _engagement("engaged_contacts_90d", "Engaged contacts", Unit.COUNT,
                "Distinct known contacts with a touch worth more than 0 minutes in W90.", ACCOUNT),
    _engagement("engaged", "Engaged", Unit.BOOLEAN, "minutes_90d ≥ {engaged_min_minutes}.", ACCOUNT),
    _engagement("mqa", "MQA", Unit.BOOLEAN,
                "Marketing-qualified account: minutes_90d ≥ {mqa_min_minutes} and at least {mqa_min_contacts} "
                "known contacts with ≥ {mqa_min_contact_minutes} minutes each in W90.", ACCOUNT),
    _engagement("spike", "Spike", Unit.BOOLEAN,
                "minutes_7d ≥ {spike_ratio} × B21's average per {W7} days (minutes_prev_21d × {W7} / {B21}) and "
                "minutes_7d ≥ {spike_min_minutes}.", ACCOUNT),
    _engagement("engagement_percentile", "Engagement percentile", Unit.PERCENTILE,
                "100 × target accounts whose minutes_90d ≤ this account's / all target accounts (0–100), for every "
                "account, target or not; 0 when there are no target accounts.", ACCOUNT),
    _engagement("minutes_by_kind", "Minutes by kind", Unit.MINUTES,
                "Engagement minutes in W90 per touchpoint kind.", ACCOUNT, exported=False),
    _engagement("minutes_by_role", "Minutes by role", Unit.MINUTES,
                "Engagement minutes in W90 per buying-committee role of the contact (no_role for contacts without "
                "one, anonymous for anonymous touches).", ACCOUNT, exported=False),
    _engagement("engaged_share", "Engaged share", Unit.SHARE,
                "Share of the segment's accounts that are engaged (0–1).", SEGMENT),
    _engagement("mqa_share", "MQA share", Unit.SHARE, "Share of the segment's accounts that are MQAs (0–1).",
                SEGMENT),
    _engagement("median_minutes_90d", "Median minutes, {W90} days", Unit.MINUTES,
                "Median minutes_90d of the segment's accounts.", SEGMENT),
    # As dashboard.selectors.week_change_expr computes it: a fixed three weeks.
    _engagement("week_change", "Change this week", Unit.MINUTES,
                "minutes_7d − the weekly average of the three weeks before (minutes_prev_21d / 3)."),
    _engagement("month_change", "Change this month", Unit.MINUTES, "minutes_30d − minutes_prev_30d."),
    _engagement("newly_engaged_contact", "Newly engaged contact", Unit.COUNT,
                "A contact whose first touch worth more than 0 minutes happened in the last 7 days."),
)

REACH: tuple[Figure, ...] = (
    _reach("programs_reached", "Programs reached", Unit.COUNT,
           "Distinct programs with a success at the account in W90 (a touch of a kind the program counts as "
           "success).", ACCOUNT),
    _reach("channels_reached", "Channels reached", Unit.COUNT, "Distinct channels of the programs reached.",
           ACCOUNT),
    _reach("mean_programs_reached", "Mean programs reached", Unit.COUNT,
           "Mean programs_reached of the segment's accounts.", SEGMENT, format="num:1"),
    _reach("programs", "Programs", Unit.COUNT, "Programs of the channel.", CHANNEL),
    _reach("cost", "Cost", Unit.MONEY, "Cost of the channel's programs.", CHANNEL),
    _reach("touched_accounts", "Touched accounts", Unit.COUNT,
           "Accounts with any touch of the program (of a channel: of its programs) on or before the day.",
           *REACH_LEVELS),
    _reach("reached_accounts", "Reached accounts", Unit.COUNT,
           "Accounts with a success of the program (a touch of one of its success kinds).", *REACH_LEVELS),
    _reach("target_reach", "Target reach", Unit.SHARE,
           "Reached target accounts / all target accounts (of the program's segment when it has one); 0 with no "
           "target accounts.", *REACH_LEVELS),
    _reach("focus", "Focus", Unit.SHARE,
           "Successes at target accounts / all successes; empty (undefined) with no successes.", *REACH_LEVELS),
    _reach("waste", "Waste", Unit.SHARE,
           "Share of the program's touches at non-target accounts; empty (undefined) with no touches.",
           *REACH_LEVELS),
    _reach("touches", "Touches", Unit.COUNT, "Touches of the program (of a channel: of its programs) on or before "
           "the day, whatever their date.", *REACH_LEVELS),
    _reach("touches_at_targets", "Touches at target accounts", Unit.COUNT, "Touches at target accounts.",
           *REACH_LEVELS),
    _reach("successes", "Successes", Unit.COUNT, "Touches of one of the program's success kinds.", *REACH_LEVELS),
    _reach("target_successes", "Successes at target accounts", Unit.COUNT, "Successes at target accounts.",
           *REACH_LEVELS),
    _reach("reached_target_accounts", "Reached target accounts", Unit.COUNT,
           "Target accounts with a success (the numerator of target_reach).", *REACH_LEVELS),
    _reach("target_accounts", "Target accounts", Unit.COUNT,
           "The target accounts reach is measured against (the denominator of target_reach).", *REACH_LEVELS),
    _reach("wasted_cost", "Wasted cost", Unit.MONEY,
           "waste × the program's cost (a channel: the sum over its programs).", *REACH_LEVELS),
    # Derived on /programs/ from the program's cost and its attribution credits under the chosen model.
    _reach("cost_per_opportunity", "Cost per opportunity", Unit.MONEY,
           "The program's cost ÷ the opportunities credited to it under the chosen attribution model; blank "
           "with none. Not given for a channel under the multi-touch models, where one opportunity credits "
           "several of its programs."),
    _reach("pipeline_per_cost", "Pipeline per unit of cost", Unit.MONEY,
           "Attributed pipeline ÷ the program's cost: the pipeline credited to it for each unit of currency "
           "spent; blank when it cost nothing."),
    _reach("roi", "ROI", Unit.SHARE,
           "(attributed revenue − cost) ÷ cost, under the chosen attribution model; blank when the program "
           "cost nothing. Revenue is credited only from won deals, so a program whose deals are still open "
           "shows a negative ROI."),
)

# The influence family. Another figure of the /influence/ page or of OutcomeGroup /
# AttributionCredit goes here, with its level (OUTCOME, ATTRIBUTION) when a model stores it.
INFLUENCE: tuple[Figure, ...] = (
    _influence("pipeline_created_90d", "Pipeline created, {W90} days", Unit.MONEY,
               "Amounts of the opportunities created in W90 (of a segment: at its accounts).", ACCOUNT, SEGMENT),
    _influence("won_revenue_90d", "Won revenue, {W90} days", Unit.MONEY,
               "Amounts of the opportunities won and closed in W90 (of a segment: at its accounts).",
               ACCOUNT, SEGMENT),
    _influence("influenced_pipeline", "Influenced pipeline", Unit.MONEY,
               "Amounts of the opportunities created in W90 whose account had a touch worth more than 0 minutes "
               "from {influence_lookback_days} days before the opportunity was created up to the earlier of its "
               "close and the as-of day.", ACCOUNT),
    _influence("influenced_opportunities", "Influenced opportunities", Unit.COUNT,
               "How many opportunities make up influenced_pipeline.", ACCOUNT),
    _influence("open_opportunities", "Open opportunities", Unit.COUNT,
               "Opportunities of the segment's accounts open as of the day.", SEGMENT),
    _influence("opportunities_closed", "Closed opportunities", Unit.COUNT,
               "Opportunities of the group closed (won or lost) in the {outcomes_window_days} days ending the as-of "
               "day.", OUTCOME),
    _influence("opportunities_won", "Won opportunities", Unit.COUNT, "Of the closed opportunities, those won.",
               OUTCOME),
    _influence("win_rate", "Win rate", Unit.SHARE,
               "Won / closed opportunities, of those closed in the {outcomes_window_days} days ending the as-of "
               "day (0–1).", SEGMENT, OUTCOME),
    _influence("median_cycle_days", "Median sales cycle", Unit.DAYS,
               "Median days from created to closed, won opportunities only.", SEGMENT, OUTCOME),
    _influence("avg_contract_value", "Average contract value", Unit.MONEY, "Mean amount of won opportunities.",
               SEGMENT, OUTCOME),
    _influence("pipeline_created", "Pipeline closed (won + lost)", Unit.MONEY,
               "Amounts of the group's opportunities, all closed (won or lost) in the outcomes window.", OUTCOME),
    _influence("mean_minutes_90d", "Mean minutes before creation", Unit.MINUTES,
               "Mean engagement minutes of the group's opportunities over the {influence_lookback_days} days before "
               "each was created (of a control comparison: its accounts' minutes_90d).", OUTCOME, format="num:1"),
    _influence("sales_velocity", "Sales velocity", Unit.MONEY_PER_DAY,
               "Open opportunities × win rate × average contract value / median cycle days (per day).", SEGMENT),
    _influence("engagement_quartile", "Engagement quartile", Unit.QUARTILE,
               "Opportunities closed in the {outcomes_window_days} days ending the as-of day, sorted by their "
               "account's engagement minutes in the {influence_lookback_days} days before the opportunity was "
               "created; the i-th of n (0-based) falls in quartile ⌊4i/n⌋ + 1, so quartile 4 is the most engaged. "
               "No quartiles when the minutes tie across a quartile boundary (for example all zero). The "
               "headline compares quartile 4 with quartile 1 and states an effect only where p < 0.05 "
               "(Fisher's exact test for win rates, Mann-Whitney U for cycle days) and each has at least "
               "{headline_min_closed} closed."),
    _influence("attribution", "Attribution", Unit.MONEY,
               "Each opportunity's amount shared among the program touches at its account from "
               "{attribution_lookback_days} days before it was created up to its creation (pipeline) or its close "
               "(revenue, won only), under the chosen model (time decay: half-life {time_decay_half_life_days} "
               "days)."),
    _influence("credit", "Credit", Unit.MONEY,
               "Amount credited to the program under the model and basis, summed over opportunities.", ATTRIBUTION),
    _influence("opportunities", "Opportunities credited", Unit.COUNT,
               "Opportunities that gave the program credit under the model and basis.", ATTRIBUTION),
)

JOURNEY: tuple[Figure, ...] = (
    _journey("journey_stage", "Journey stage", Unit.STAGE,
             "The highest stage the account meets: none → aware → engaged → mqa → opportunity (open as of the day) "
             "→ customer (won).", ACCOUNT),
    _journey("funnel_aware", "Funnel: aware", Unit.COUNT, "Accounts of the segment at or past aware.", SEGMENT),
    _journey("funnel_engaged", "Funnel: engaged", Unit.COUNT, "Accounts of the segment at or past engaged.",
             SEGMENT),
    _journey("funnel_mqa", "Funnel: MQA", Unit.COUNT, "Accounts of the segment at or past mqa.", SEGMENT),
    _journey("funnel_opportunity", "Funnel: opportunity", Unit.COUNT,
             "Accounts of the segment at or past opportunity.", SEGMENT),
    _journey("funnel_customer", "Funnel: customer", Unit.COUNT, "Customer accounts of the segment.", SEGMENT),
)

SATISFACTION: tuple[Figure, ...] = (
    _satisfaction("nps", "NPS", Unit.POINTS,
                  "Net promoter score of the nps_response touches with a score in W90: 100 × (promoters, 9–10 − "
                  "detractors, 0–6) / responses, in points; empty without responses.", ACCOUNT, SEGMENT),
    _satisfaction("nps_responses", "NPS responses", Unit.COUNT, "Scored nps_response touches in W90.",
                  ACCOUNT, SEGMENT),
    _satisfaction("nps_promoters", "Promoters", Unit.COUNT, "Responses scoring 9 or 10.", ACCOUNT),
    _satisfaction("nps_detractors", "Detractors", Unit.COUNT, "Responses scoring 0 to 6.", ACCOUNT),
)


# Computed on request per rep (sales.activity), not stored: no level, no export column. Counts
# are of the touches the rep performed (Touchpoint.performed_by) in a UTC day, ISO week or month.
SALES_ACTIVITY: tuple[Figure, ...] = (
    _sales("calls", "Calls", Unit.COUNT,
           "Calls the rep made: call_attempt (not connected) and call_connected touches they performed."),
    _sales("connects", "Connects", Unit.COUNT, "Connected calls (call_connected) the rep performed."),
    _sales("connect_rate", "Connect rate", Unit.SHARE, "connects / calls; blank with no calls."),
    _sales("sales_emails", "Sales emails", Unit.COUNT, "Emails the rep sent (sales_email touches they performed)."),
    _sales("replies", "Replies", Unit.COUNT, "Replies to the rep's emails (sales_email_reply touches credited to "
           "the rep)."),
    _sales("meetings", "Meetings", Unit.COUNT, "Meetings the rep held (meeting touches they performed)."),
    _sales("meaningful_conversations", "Meaningful conversations", Unit.COUNT,
           "Connected calls of the rep lasting 5 minutes or more (the touch's duration; a call without one is "
           "not counted)."),
    _sales("conversation_to_meeting_rate", "Conversation-to-meeting rate", Unit.SHARE,
           "meetings / meaningful_conversations in the same period (may exceed 100 %); blank with no meaningful "
           "conversation."),
    _sales("rep_target_accounts", "Target accounts of the rep", Unit.COUNT,
           "Target accounts the rep owns (as of now: ownership has no history)."),
    _sales("accepted_accounts", "Accepted accounts", Unit.COUNT,
           "The rep's target accounts where, after the rep's first touch there (the earliest touch they performed "
           "at the account, on or before the day), an opportunity was created (a later moment, on or before the "
           "day), or the account was MQA on a computed day from the first touch's day through the day, having "
           "not been MQA on the last computed day before it."),
    _sales("accepted_per_1000", "Accepted per 1,000 target accounts", Unit.COUNT,
           "1,000 × accepted_accounts / the rep's target accounts; blank with no target accounts.", format="num:1"),
    _sales("accepted_pipeline", "Pipeline created at accepted accounts", Unit.MONEY,
           "Amounts of the opportunities created at the rep's target accounts after the rep's first touch there, "
           "on or before the day."),
    _sales("accepted_revenue", "Revenue created at accepted accounts", Unit.MONEY,
           "Of those opportunities, the amounts won and closed on or before the day."),
)


def _index(families: Iterable[tuple[Figure, ...]]) -> dict[str, Figure]:
    figures: dict[str, Figure] = {}
    for family in families:
        for figure in family:
            if figure.name in figures:
                raise ValueError(f"Figure {figure.name!r} is described twice")
            figures[figure.name] = figure
    return figures


FIGURES: dict[str, Figure] = _index((COVERAGE, AWARENESS, ENGAGEMENT, REACH, INFLUENCE, JOURNEY, SATISFACTION,
                                     SALES_ACTIVITY))


def at_level(level: Level) -> list[Figure]:
    """The figures a snapshot model of `level` stores, in registry order."""
    return [f for f in FIGURES.values() if level in f.levels]


def export_figures(level: Level) -> list[Figure]:
    """The figures of `level`'s export, in column order."""
    return [f for f in at_level(level) if f.column]


# ---------------------------------------------------------------------------- filling in the settings


def _number(value: float | int) -> str:
    """10.0 → "10", 0.6 → "0.6": a threshold as an admin would type it."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def placeholders(settings: MetricSettings) -> dict[str, str]:
    """What a label or definition may name: every scalar setting, the windows, weights and roles."""
    values: dict[str, str] = {}
    for field in settings._meta.concrete_fields:
        value = getattr(settings, field.attname)
        if isinstance(value, int | float) and not isinstance(value, bool):
            values[field.attname] = _number(value)
    for window, setting, _ in WINDOWS:
        values[window] = _number(getattr(settings, setting))
    for kind, minutes in (settings.minutes_by_kind or {}).items():
        values[f"kind_{kind}"] = _number(minutes)
    for seniority, multiplier in (settings.seniority_multipliers or {}).items():
        values[f"seniority_{seniority}"] = _number(multiplier)
    roles = list(settings.required_roles or [])
    values["required_roles"] = ", ".join(roles)
    values["required_roles_count"] = str(len(roles))
    return values


class _Defaults(dict):
    """A kind or seniority the settings leave out weighs 0 (and its multiplier is 1)."""

    def __missing__(self, key: str) -> str:
        if key.startswith("kind_"):
            return "0"
        if key.startswith("seniority_"):
            return "1"
        raise KeyError(key)


def fill(template: str, values: Mapping[str, str]) -> str:
    return template.format_map(_Defaults(values))


def describe_all(settings: MetricSettings) -> dict[str, Described]:
    """Every figure with its label and definition filled from `settings`."""
    values = placeholders(settings)
    return {name: Described(f, fill(f.label, values), fill(f.definition, values)) for name, f in FIGURES.items()}


def windows(settings: MetricSettings) -> list[tuple[str, int, str]]:
    """(name, days, "the 90 days ending with D") of each window, from the settings."""
    values = placeholders(settings)
    return [(name, getattr(settings, setting), fill(text, values)) for name, setting, text in WINDOWS]


def families(settings: MetricSettings) -> list[tuple[str, str, list[Described]]]:
    """(family, title, its described figures) in page order: what /definitions/ lists."""
    described = describe_all(settings)
    return [(family, title, [d for d in described.values() if d.family == family]) for family, title in FAMILIES]
