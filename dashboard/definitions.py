"""One short definition per figure the pages show, worded as METRICS.md defines them.

The same dict feeds the ⓘ tooltips on every page and the /definitions/ page, so a figure's
meaning is written once. Keys are the figure names of METRICS.md (and of the CSV export).
Windows: W90 = the 90 days ending with the as-of day, W30 = the 30 days ending with it,
P30 = the 30 days before W30, W7 = the last 7 days, B21 = the 21 days before W7.
"""

from __future__ import annotations

from typing import NamedTuple


class Definition(NamedTuple):
    family: str  # coverage, awareness, engagement, reach, influence or journey
    label: str
    text: str


DEFINITIONS: dict[str, Definition] = {
    # Coverage
    "contacts": Definition("coverage", "Contacts", "Contacts at the account."),
    "reachable_contacts": Definition(
        "coverage", "Reachable contacts", "Contacts with an email or phone who have not opted out."
    ),
    "roles_covered": Definition(
        "coverage",
        "Roles covered",
        "Required buying-committee roles held by at least one contact of the account (opted-out contacts count).",
    ),
    "role_coverage": Definition("coverage", "Role coverage", "roles_covered / number of required roles (0–1)."),
    "profile_completeness": Definition(
        "coverage",
        "Profile completeness",
        "Share present of domain, industry, employees, annual revenue, country and owner (0–1).",
    ),
    "covered": Definition("coverage", "Covered", "role_coverage ≥ 0.6 and at least 3 reachable contacts."),
    "covered_share": Definition("coverage", "Covered share", "Share of the segment's accounts that are covered."),
    "mean_role_coverage": Definition("coverage", "Mean role coverage", "Mean role_coverage of the segment's accounts."),
    "accounts_without_decision_maker": Definition(
        "coverage", "Without a decision maker", "Accounts of the segment with no contact in the decision_maker role."
    ),
    # Awareness
    "web_visits": Definition("awareness", "Web visits", "Web visits in W90, known and anonymous."),
    "known_visitors": Definition("awareness", "Known visitors", "Distinct contacts with a web visit in W90."),
    "email_opens": Definition("awareness", "Email opens", "Email opens in W90."),
    "event_attendances": Definition("awareness", "Event attendances", "Events and webinars attended in W90."),
    "calls_connected": Definition("awareness", "Calls connected", "Connected calls in W90."),
    "aware_contacts": Definition(
        "awareness",
        "Aware contacts",
        "Distinct contacts with any awareness touch (web visit, email open, event or webinar attended, "
        "connected call, ad click) in W90.",
    ),
    "aware": Definition(
        "awareness", "Aware", "At least one awareness touch in W90 (anonymous web visits count)."
    ),
    "aware_share": Definition("awareness", "Aware share", "Share of the segment's accounts that are aware."),
    # Engagement
    "engagement_minutes": Definition(
        "engagement",
        "Engagement minutes",
        "Each touch is worth its duration when the source gave one, otherwise its kind's default weight "
        "(e.g. email open 1, webinar 30, event 120); a C-level contact's minutes count double.",
    ),
    "minutes_7d": Definition("engagement", "Minutes, 7 days", "Engagement minutes in W7 (the last 7 days)."),
    "minutes_prev_21d": Definition(
        "engagement", "Minutes, 21 days before", "Engagement minutes in B21, the 21 days before the last 7."
    ),
    "minutes_30d": Definition("engagement", "Minutes, 30 days", "Engagement minutes in W30."),
    "minutes_prev_30d": Definition(
        "engagement", "Minutes, previous 30 days", "Engagement minutes in P30, the 30 days before W30."
    ),
    "minutes_90d": Definition("engagement", "Minutes, 90 days", "Engagement minutes in W90."),
    "engaged_contacts_90d": Definition(
        "engagement", "Engaged contacts", "Distinct contacts with a touch worth more than 0 minutes in W90."
    ),
    "engaged": Definition("engagement", "Engaged", "minutes_90d ≥ 10."),
    "mqa": Definition(
        "engagement",
        "MQA",
        "Marketing-qualified account: minutes_90d ≥ 100 and at least 2 contacts with ≥ 20 minutes each in W90.",
    ),
    "spike": Definition(
        "engagement",
        "Spike",
        "minutes_7d ≥ 2 × the weekly average of the 21 days before (minutes_prev_21d / 3) and minutes_7d ≥ 30.",
    ),
    "engagement_percentile": Definition(
        "engagement",
        "Engagement percentile",
        "100 × target accounts whose minutes_90d ≤ this account's / all target accounts (0–100).",
    ),
    "engaged_share": Definition("engagement", "Engaged share", "Share of the segment's accounts that are engaged."),
    "mqa_share": Definition("engagement", "MQA share", "Share of the segment's accounts that are MQAs."),
    "median_minutes_90d": Definition(
        "engagement", "Median minutes, 90 days", "Median minutes_90d of the segment's accounts."
    ),
    "week_change": Definition(
        "engagement",
        "Change this week",
        "minutes_7d − the weekly average of the 21 days before (minutes_prev_21d / 3).",
    ),
    "month_change": Definition("engagement", "Change this month", "minutes_30d − minutes_prev_30d."),
    "newly_engaged_contact": Definition(
        "engagement",
        "Newly engaged contact",
        "A contact whose first touch worth more than 0 minutes happened in the last 7 days.",
    ),
    # Reach
    "programs_reached": Definition(
        "reach",
        "Programs reached",
        "Distinct programs with a success at the account in W90 (a touch of a kind the program counts as success).",
    ),
    "channels_reached": Definition("reach", "Channels reached", "Distinct channels of the programs reached."),
    "mean_programs_reached": Definition(
        "reach", "Mean programs reached", "Mean programs_reached of the segment's accounts."
    ),
    "touched_accounts": Definition("reach", "Touched accounts", "Accounts with any touch of the program."),
    "reached_accounts": Definition(
        "reach", "Reached accounts", "Accounts with a success of the program (a touch of one of its success kinds)."
    ),
    "target_reach": Definition(
        "reach",
        "Target reach",
        "Reached target accounts / all target accounts (of the program's segment when it has one).",
    ),
    "focus": Definition("reach", "Focus", "Successes at target accounts / all successes."),
    "waste": Definition("reach", "Waste", "Share of the program's touches at non-target accounts."),
    "wasted_cost": Definition("reach", "Wasted cost", "waste × the program's cost."),
    # Influence
    "pipeline_created_90d": Definition(
        "influence", "Pipeline created, 90 days", "Amounts of opportunities created in W90."
    ),
    "won_revenue_90d": Definition("influence", "Won revenue, 90 days", "Amounts won and closed in W90."),
    "influenced_pipeline": Definition(
        "influence",
        "Influenced pipeline",
        "Amounts of opportunities created in W90 whose account had a touch worth more than 0 minutes "
        "from 90 days before the opportunity was created up to the as-of day.",
    ),
    "win_rate": Definition("influence", "Win rate", "Won / closed opportunities."),
    "median_cycle_days": Definition(
        "influence", "Median sales cycle", "Median days from created to closed, won opportunities only."
    ),
    "avg_contract_value": Definition("influence", "Average contract value", "Mean amount of won opportunities."),
    "pipeline_created": Definition("influence", "Pipeline created", "Amounts of the group's opportunities."),
    "engagement_quartile": Definition(
        "influence",
        "Engagement quartile",
        "Opportunities closed in the 365 days ending the as-of day, sorted by their account's engagement minutes "
        "in the 90 days before the opportunity was created; quartile 4 is the most engaged.",
    ),
    "sales_velocity": Definition(
        "influence",
        "Sales velocity",
        "Open opportunities × win rate × average contract value / median cycle days (per day).",
    ),
    "attribution": Definition(
        "influence",
        "Attribution",
        "Each opportunity's amount shared among the program touches at its account from 90 days before it was "
        "created up to its creation (pipeline) or its close (revenue, won only), under the chosen model.",
    ),
    # Journey
    "journey_stage": Definition(
        "journey",
        "Journey stage",
        "The highest stage the account meets: none → aware → engaged → mqa → opportunity (open as of the day) "
        "→ customer (won).",
    ),
}

FAMILIES: tuple[tuple[str, str], ...] = (
    ("coverage", "Coverage — do we know enough of the right people?"),
    ("awareness", "Awareness — do they know us?"),
    ("engagement", "Engagement — how much time do they spend with us?"),
    ("reach", "Reach — do our programs reach the target accounts, and where is effort wasted?"),
    ("influence", "Influence — which activities lead to the right results?"),
    ("journey", "Journey stages"),
)

