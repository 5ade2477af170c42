"""Pure, deterministic generation of demo data: no database access here.

`build_plan` draws the shared parts (programs, segments) from `random.Random(seed)`; each account
is then drawn by `generate_account` from its own `random.Random(f"{seed}:{index}")`, so account i
is the same whatever the chunk size, and the loader can generate and write a chunk at a time.

Times are integer seconds since the Unix epoch (UTC) and days are offsets from the window's first
day: cheap to draw ten million of, and each writer turns them into what its database wants.

The story the data tells (so every page has something true to show):
- every account has a temperature: *cold* (no touch in the last 90 days), *warm*, or *hot* (a
  burst of intent in the last 7–30 days, so spikes exist); an intensity scales its volume;
- its engagement propensity `e` (0–1) drives both its touch volume and its opportunities'
  outcomes: engaged accounts win more often, faster and bigger; targets get more touches and
  bigger deals;
- customers (won, or existing before the window) use the product and answer NPS surveys;
- the account's owner (its rep) performs the sales touches: meetings, connected calls and the
  replies to their emails, plus the outbound work around them — call attempts that did not connect
  and the sales emails they sent (worth no engagement minutes), and the dialer's duration of most
  connected calls (so meaningful conversations, ≥ 5 minutes, exist; a timed call is worth its
  minutes instead of the default 10); these are drawn from a random stream of their own, after
  everything else, so every other draw of a seed is as it was;
- it looks like a real quarter: the target list is mostly new logos on long cycles (about a tenth of
  it customers by the end), every target has its rep, every program its own name, and nothing is
  dated after the moment the data is generated.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from accounts.models import Channel, Role, TouchpointKind
from accounts.services import normalise_domain, resolve_seniority

from . import vocab

T = TypeVar("T")

DAY = 86_400
# Plain strings, not the enum members: they go into COPY rows as they are, and compare faster.
R = {r.name: str(r.value) for r in Role}
K = {k.name: str(k.value) for k in TouchpointKind}
EMAIL_OPEN, EMAIL_CLICK, WEB_VISIT, FORM_FILL = K["EMAIL_OPEN"], K["EMAIL_CLICK"], K["WEB_VISIT"], K["FORM_FILL"]
CONTENT_DOWNLOAD, EVENT_REGISTERED = K["CONTENT_DOWNLOAD"], K["EVENT_REGISTERED"]
EVENT_ATTENDED, WEBINAR_ATTENDED = K["EVENT_ATTENDED"], K["WEBINAR_ATTENDED"]
AD_IMPRESSION, AD_CLICK, SOCIAL_ENGAGEMENT = K["AD_IMPRESSION"], K["AD_CLICK"], K["SOCIAL_ENGAGEMENT"]
MEETING, CALL_CONNECTED, SALES_EMAIL_REPLY = K["MEETING"], K["CALL_CONNECTED"], K["SALES_EMAIL_REPLY"]
CALL_ATTEMPT, SALES_EMAIL = K["CALL_ATTEMPT"], K["SALES_EMAIL"]
PRODUCT_USAGE, DIRECT_MAIL_RESPONSE, NPS_RESPONSE = K["PRODUCT_USAGE"], K["DIRECT_MAIL_RESPONSE"], K["NPS_RESPONSE"]

# The buying-committee roles METRICS.md requires by default; some accounts miss some of them.
REQUIRED_ROLES: tuple[str, ...] = (
    R["DECISION_MAKER"], R["CHAMPION"], R["INFLUENCER"], R["TECHNICAL_EVALUATOR"], R["END_USER"],
)
OPEN_STAGES: tuple[str, ...] = ("Prospecting", "Qualification", "Proposal", "Negotiation")
CLOSED_WON = "Closed Won"
CLOSED_LOST = "Closed Lost"

# How many programs of each channel a 365-day window holds (scaled to --days), and how often a
# program touch is of that channel (relative).
PROGRAMS_PER_YEAR: dict[str, int] = {
    Channel.EMAIL: 10,
    Channel.WEBINAR: 6,
    Channel.EVENT: 5,
    Channel.PAID_SOCIAL: 5,
    Channel.DISPLAY: 4,
    Channel.CONTENT: 6,
    Channel.DIRECT_MAIL: 3,
    Channel.SDR_OUTREACH: 5,
    Channel.WEB: 2,
}
CHANNEL_WEIGHT: dict[str, float] = {
    Channel.EMAIL: 70,
    Channel.WEBINAR: 8,
    Channel.EVENT: 5,
    Channel.PAID_SOCIAL: 14,
    Channel.DISPLAY: 10,
    Channel.CONTENT: 10,
    Channel.DIRECT_MAIL: 3,
    Channel.SDR_OUTREACH: 8,
    Channel.WEB: 10,
}
# ABM plays: target accounts see relatively more of the one-to-few channels.
TARGET_CHANNEL_BOOST: dict[str, float] = {Channel.SDR_OUTREACH: 2.5, Channel.DIRECT_MAIL: 2.5, Channel.EVENT: 2.0}
# (kinds, cumulative weights) per channel; webinar and event attendance is moved to the event day.
CHANNEL_KINDS: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    Channel.EMAIL: ((EMAIL_OPEN, EMAIL_CLICK), (75, 100)),
    Channel.WEBINAR: ((EVENT_REGISTERED, WEBINAR_ATTENDED), (55, 100)),
    Channel.EVENT: ((EVENT_REGISTERED, EVENT_ATTENDED), (50, 100)),
    Channel.PAID_SOCIAL: ((AD_IMPRESSION, AD_CLICK, SOCIAL_ENGAGEMENT), (80, 92, 100)),
    Channel.DISPLAY: ((AD_IMPRESSION, AD_CLICK), (88, 100)),
    Channel.CONTENT: ((CONTENT_DOWNLOAD, FORM_FILL), (65, 100)),
    Channel.DIRECT_MAIL: ((DIRECT_MAIL_RESPONSE,), (100,)),
    Channel.SDR_OUTREACH: ((CALL_CONNECTED, SALES_EMAIL_REPLY, MEETING), (40, 75, 100)),
    Channel.WEB: ((WEB_VISIT, FORM_FILL), (75, 100)),
}
ATTENDED = frozenset({WEBINAR_ATTENDED, EVENT_ATTENDED})
# Kinds that need a contact we may email or call.
OUTREACH_KINDS = frozenset(
    {EMAIL_OPEN, EMAIL_CLICK, CALL_CONNECTED, SALES_EMAIL_REPLY, MEETING, DIRECT_MAIL_RESPONSE}
)
SDR_KINDS = frozenset({MEETING, CALL_CONNECTED, SALES_EMAIL_REPLY})
# Kinds whose source sometimes reports a duration: (chance, durations in minutes). Web visits
# (time on site) are drawn separately.
TIMED_KINDS: dict[str, tuple[float, tuple[str, ...]]] = {
    MEETING: (0.5, ("15.00", "30.00", "30.00", "45.00", "60.00")),
    CALL_CONNECTED: (0.3, tuple(f"{n / 2:.2f}" for n in range(2, 51))),
    WEBINAR_ATTENDED: (0.25, tuple(f"{n:.2f}" for n in range(10, 61))),
    EVENT_ATTENDED: (0.15, ("60.00", "120.00", "180.00", "240.00")),
}
# What an account in a buying cycle does in the weeks before an opportunity is created.
PRE_OPPORTUNITY_KINDS: tuple[tuple[str, ...], tuple[float, ...]] = (
    (MEETING, CALL_CONNECTED, WEB_VISIT, CONTENT_DOWNLOAD, SALES_EMAIL_REPLY),
    (30, 55, 80, 90, 100),
)
# What a heating-up account does in its burst.
INTENT_KINDS: tuple[tuple[str, ...], tuple[float, ...]] = (
    (WEB_VISIT, FORM_FILL, CONTENT_DOWNLOAD, MEETING),
    (55, 70, 85, 100),
)

# Touches per 365 days before intensity and size: by tier for targets, and for non-targets.
BASE_TOUCHES_TARGET: dict[int, float] = {1: 190, 2: 145, 3: 115}
BASE_TOUCHES_OTHER = 42.0
# Typical first-year deal size per size band (USD).
DEAL_SIZE_BY_BAND: tuple[int, ...] = (8_000, 22_000, 48_000, 95_000, 190_000)
CONTACTS_BY_BAND: tuple[tuple[int, int], ...] = ((8, 13), (12, 19), (17, 24), (21, 25), (23, 25))


@dataclass(frozen=True)
class SegmentSpec:
    key: str
    name: str
    description: str
    saved_filter: dict


SEGMENTS: tuple[SegmentSpec, ...] = (
    SegmentSpec(
        "tier1", "Tier 1 Enterprise", "Tier 1 target accounts: one-to-one ABM.", {"is_target": True, "tier": 1}
    ),
    SegmentSpec(
        "emea",
        "EMEA Expansion",
        "Target accounts in Europe, the Middle East and Africa.",
        {"is_target": True, "country__in": list(vocab.EMEA_COUNTRIES)},
    ),
    SegmentSpec("healthcare", "Healthcare Vertical", "Every healthcare account.", {"industry": "Healthcare"}),
    SegmentSpec("q4", "Q4 Pipeline Push", "Tier 2 and 3 targets hand-picked for the quarter-end push.", {}),
)
SEGMENT_BIT: dict[str, int] = {s.key: 1 << i for i, s in enumerate(SEGMENTS)}


@dataclass(frozen=True)
class ProgramSpec:
    index: int
    name: str
    channel: str
    start_day: int
    # None: always on (no end date).
    end_day: int | None
    # Webinars and events: the day(s) people attend; registrations come before.
    attend_days: tuple[int, ...]
    cost: str
    segment_key: str | None
    success_kinds: tuple[str, ...]
    external_id: str

    def active_on(self, day: int) -> bool:
        return self.start_day <= day and (self.end_day is None or day <= self.end_day)


@dataclass
class ContactSpec:
    email: str | None
    first_name: str
    last_name: str
    title: str
    role: str
    department: str
    seniority: str
    seniority_level: str
    phone: str
    opted_out: bool
    external_id: str


@dataclass
class OpportunitySpec:
    name: str
    amount: str
    stage: str
    type: str
    created: int
    closed: int | None
    is_won: bool
    external_id: str


# (contact index in the account or None, program index or None, kind, epoch seconds, minutes or None,
# score or None, the rep who performed it (index into DemoPlan.reps) or None)
TouchRow = tuple[int | None, int | None, str, int, str | None, int | None, int | None]

# Sales activity: call attempts before each connected call (mean), and the outbound sales emails a
# rep sends per year to an owned target account (scaled by its propensity) or to another account.
ATTEMPTS_PER_CONNECT = 2.2
# Of the connected calls the source gave no duration, the share the rep's dialer times.
CALLS_TIMED_BY_DIALER = 0.75
SALES_EMAILS_PER_YEAR_TARGET = 14.0
SALES_EMAILS_PER_YEAR_OTHER = 2.0


@dataclass
class AccountBundle:
    index: int
    name: str
    domain: str
    industry: str
    employees: int | None
    annual_revenue: str | None
    country: str
    owner: int | None  # index into DemoPlan.reps
    tier: int | None
    is_target: bool
    external_id: str
    temperature: str  # cold / warm / hot
    segment_keys: tuple[str, ...]
    contacts: list[ContactSpec]
    opportunities: list[OpportunitySpec]
    touches: list[TouchRow]


@dataclass
class DemoPlan:
    seed: int
    days: int
    end_date: date
    reps: tuple[str, ...]  # usernames of the sales reps, owners are indexes into this
    sales_rep: int | None  # index of the user "sales", who gets a full "My accounts" page
    sales_target_share: float
    programs: list[ProgramSpec]
    # The seed's "now" (epoch seconds), if given: no moment is drawn at or after it.
    now_epoch: int | None = None
    start_epoch: int = 0
    # Exclusive end of every moment drawn: the end of end_date, or now when that is earlier.
    until_epoch: int = 0
    _active: dict[tuple[int, int, bool], tuple[list[int], list[float]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.start_epoch = int(datetime.combine(self.start_date, time(), tzinfo=UTC).timestamp())
        end_epoch = self.start_epoch + self.days * DAY
        self.until_epoch = end_epoch if self.now_epoch is None else min(self.now_epoch, end_epoch)

    @property
    def start_date(self) -> date:
        return self.end_date - timedelta(days=self.days - 1)

    def day_date(self, day: int) -> date:
        return self.start_date + timedelta(days=day)

    def active_programs(self, day: int, segment_mask: int, is_target: bool) -> tuple[list[int], list[float]]:
        """Programs an account may be touched by on a day, with cumulative weights (cached)."""
        key = (day, segment_mask, is_target)
        found = self._active.get(key)
        if found is None:
            indexes: list[int] = []
            cum: list[float] = []
            total = 0.0
            for p in self.programs:
                if not p.active_on(day):
                    continue
                if p.segment_key and not segment_mask & SEGMENT_BIT[p.segment_key]:
                    continue
                weight = CHANNEL_WEIGHT[p.channel] * (TARGET_CHANNEL_BOOST.get(p.channel, 1.0) if is_target else 1.0)
                if p.segment_key:
                    weight *= 3
                total += weight
                indexes.append(p.index)
                cum.append(total)
            found = self._active[key] = (indexes, cum)
        return found


def build_plan(
    *, seed: int, days: int, end_date: date, reps: tuple[str, ...], accounts: int, now: datetime | None = None
) -> DemoPlan:
    """The shared parts of the data set. `now`: nothing is dated at or after it (when the history
    ends today, today's moments fall in the hours already past); `end_date` must not be after it."""
    if now is not None and end_date > now.astimezone(UTC).date():
        raise ValueError(f"the history cannot end after today ({end_date} > {now.astimezone(UTC).date()})")
    rng = random.Random(seed)
    sales_rep = reps.index("sales") if "sales" in reps else None
    # About a third of accounts are targets; give "sales" ~20 of them (at most 60 %).
    expected_targets = max(1.0, accounts / 3)
    plan = DemoPlan(
        seed=seed,
        days=days,
        end_date=end_date,
        reps=reps,
        sales_rep=sales_rep,
        sales_target_share=min(0.6, 20 / expected_targets),
        programs=[],
        now_epoch=None if now is None else int(now.timestamp()),
    )
    plan.programs = _programs(rng, plan)
    return plan


def _programs(rng: random.Random, plan: DemoPlan) -> list[ProgramSpec]:
    days = plan.days
    specs: list[ProgramSpec] = []
    # The first program of four channels is tied to a segment: its target reach is measured there.
    segment_for = {
        (Channel.WEBINAR, 0): "healthcare",
        (Channel.EVENT, 0): "emea",
        (Channel.DIRECT_MAIL, 0): "tier1",
        (Channel.SDR_OUTREACH, 0): "q4",
    }
    segment_names = {s.key: s.name for s in SEGMENTS}
    names_taken: set[str] = set()
    cost_range = {
        Channel.EMAIL: (400, 3_000),
        Channel.WEBINAR: (3_000, 12_000),
        Channel.EVENT: (20_000, 120_000),
        Channel.PAID_SOCIAL: (10_000, 60_000),
        Channel.DISPLAY: (8_000, 40_000),
        Channel.CONTENT: (5_000, 25_000),
        Channel.DIRECT_MAIL: (10_000, 50_000),
        Channel.SDR_OUTREACH: (15_000, 60_000),
        Channel.WEB: (2_000, 10_000),
    }
    for channel, per_year in PROGRAMS_PER_YEAR.items():
        count = per_year if channel == Channel.WEB else max(1, round(per_year * days / 365))
        slot = days / count
        for k in range(count):
            # Stratified over the window so every month has something running.
            anchor = int(k * slot + rng.random() * slot)
            segment_key = segment_for.get((channel, k))
            attend: tuple[int, ...] = ()
            if channel == Channel.EMAIL:
                start, end = anchor, anchor + 10
            elif channel == Channel.WEBINAR:
                start, end, attend = anchor - 21, anchor, (anchor,)
            elif channel == Channel.EVENT:
                length = rng.randint(1, 3)
                start, end = anchor - 45, anchor + length - 1
                attend = tuple(range(anchor, anchor + length))
            elif channel == Channel.WEB:
                start, end = -365, None
            else:
                length = {
                    Channel.PAID_SOCIAL: (60, 90),
                    Channel.DISPLAY: (60, 120),
                    Channel.CONTENT: (90, 200),
                    Channel.DIRECT_MAIL: (21, 30),
                    Channel.SDR_OUTREACH: (45, 90),
                }[channel]
                start = anchor - rng.randint(0, 30)
                end = start + rng.randint(*length)
            name = _unique(
                _program_name(rng, channel, k, plan.day_date(anchor), segment_names.get(segment_key or "")), names_taken
            )
            low, high = cost_range[channel]
            # A couple of programs name their own success kinds; the rest use the channel defaults.
            success: tuple[str, ...] = ()
            if channel == Channel.EVENT and k == 1:
                success = (EVENT_ATTENDED, MEETING)
            elif channel == Channel.CONTENT and k == 0:
                success = (FORM_FILL,)
            specs.append(
                ProgramSpec(
                    index=len(specs),
                    name=name,
                    channel=channel,
                    start_day=start,
                    end_day=end,
                    attend_days=attend,
                    cost=f"{round(rng.uniform(low, high), -2):.2f}",
                    segment_key=segment_key,
                    success_kinds=success,
                    external_id=f"PRG-{len(specs) + 1:04d}",
                )
            )
    return specs


def _program_name(rng: random.Random, channel: str, k: int, anchor: date, segment: str | None) -> str:
    topic = rng.choice(vocab.TOPICS)
    quarter = f"Q{(anchor.month - 1) // 3 + 1} {anchor.year}"
    if segment:
        return {
            Channel.WEBINAR: f"Webinar: {topic} for healthcare ({segment})",
            Channel.EVENT: f"{rng.choice(('London', 'Berlin', 'Paris', 'Amsterdam'))} Executive Summit ({segment})",
            Channel.DIRECT_MAIL: f"Executive gift box {quarter} ({segment})",
            Channel.SDR_OUTREACH: f"SDR sequence: {quarter} ({segment})",
        }[channel]
    return {
        Channel.EMAIL: f"Newsletter {anchor:%B %Y}" if k % 2 == 0 else f"Email nurture: {topic} ({anchor:%b %Y})",
        Channel.WEBINAR: f"Webinar: {topic} ({anchor:%b %Y})",
        Channel.EVENT: f"{rng.choice(vocab.CITIES)} Summit {anchor.year}" if k % 2 == 0 else f"Booth at {topic} Expo",
        Channel.PAID_SOCIAL: f"LinkedIn: {topic} {quarter}",
        Channel.DISPLAY: f"Display retargeting {quarter}",
        Channel.CONTENT: f"Guide: The state of {topic} {anchor.year}",
        Channel.DIRECT_MAIL: f"Direct mail: {topic} kit {quarter}",
        Channel.SDR_OUTREACH: f"SDR sequence: {topic} {quarter}",
        Channel.WEB: ("Website", "Website demo request form")[k % 2],
    }[channel]


def _unique(name: str, taken: set[str]) -> str:
    """`name`, or "name (2)", "name (3)"…: two programs of a quarter may draw the same topic, and a
    marketer must tell them apart on every page and export."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name} ({n})"
    taken.add(candidate)
    return candidate


def _weighted(rng: random.Random, items: Sequence[T], weights: Sequence[float]) -> T:
    return rng.choices(items, weights=weights)[0]


_INDUSTRY_NAMES = tuple(vocab.INDUSTRIES)
_INDUSTRY_WEIGHTS = tuple(v[0] for v in vocab.INDUSTRIES.values())
_COUNTRY_WEIGHTS = tuple(c[1] for c in vocab.COUNTRIES)
_BAND_WEIGHTS_OTHER = tuple(b[2] for b in vocab.SIZE_BANDS)
# Target lists lean to bigger companies.
_BAND_WEIGHTS_TARGET = (6, 18, 28, 28, 20)


def generate_account(plan: DemoPlan, index: int, taken_domains: set[str]) -> AccountBundle:
    """Draw account `index` (0-based) and everything at it; adds its domain to `taken_domains`."""
    rng = random.Random(f"{plan.seed}:{index}")
    is_target = rng.random() < 1 / 3
    tier = _weighted(rng, (1, 2, 3), (15, 35, 50)) if is_target else None
    industry = _weighted(rng, _INDUSTRY_NAMES, _INDUSTRY_WEIGHTS)
    country_name, _, tld, phone_prefix, _ = _weighted(rng, vocab.COUNTRIES, _COUNTRY_WEIGHTS)
    band = _weighted(rng, range(5), _BAND_WEIGHTS_TARGET if is_target else _BAND_WEIGHTS_OTHER)
    low, high, _ = vocab.SIZE_BANDS[band]
    employees = int(math.exp(rng.uniform(math.log(low), math.log(high + 1))))
    employees = min(max(employees, low), high)
    revenue = round(employees * vocab.INDUSTRIES[industry][2] * rng.lognormvariate(0, 0.35), -3)
    name, domain = _company(rng, industry, tld, taken_domains)

    owner = _owner(rng, plan, is_target)

    # Some CRM records are incomplete (profile_completeness varies); targets are better kept.
    fields = {"industry": industry, "employees": employees, "revenue": f"{revenue:.2f}", "country": country_name}
    if rng.random() < (0.08 if is_target else 0.25):
        for missing in rng.sample(("industry", "employees", "revenue", "country", "owner"), rng.randint(1, 3)):
            if missing == "owner":
                # Every target has an owner (its rep); only other accounts may lack one.
                owner = owner if is_target else None
            else:
                fields[missing] = None

    temperature = _weighted(
        rng, ("cold", "warm", "hot"), (8, 74, 18) if is_target else (20, 72, 8)
    )
    intensity = rng.lognormvariate(0, 0.6)
    # Propensity follows the expected touch volume (tier, size, intensity): the accounts that spend
    # the most time with us are the ones that win, which is the relationship the influence page shows.
    volume = (BASE_TOUCHES_TARGET[tier] if tier else BASE_TOUCHES_OTHER) * (0.7 + 0.15 * band) * intensity
    e = volume / (volume + 1.5 * BASE_TOUCHES_OTHER)
    if temperature == "cold":
        e *= 0.35
    elif temperature == "hot":
        e = 0.5 + 0.5 * e
    # A target list is mostly new logos: about one target in twenty is a customer already.
    existing_customer = temperature != "cold" and rng.random() < (0.05 if is_target else 0.1)

    segment_keys = []
    if is_target and tier == 1:
        segment_keys.append("tier1")
    if is_target and fields["country"] in vocab.EMEA_COUNTRIES:
        segment_keys.append("emea")
    if fields["industry"] == "Healthcare":
        segment_keys.append("healthcare")
    if is_target and tier in (2, 3) and rng.random() < 0.3:
        segment_keys.append("q4")

    bundle = AccountBundle(
        index=index,
        name=name,
        domain=domain,
        industry=fields["industry"] or "",
        employees=fields["employees"],
        annual_revenue=fields["revenue"],
        country=fields["country"] or "",
        owner=owner,
        tier=tier,
        is_target=is_target,
        external_id=f"ACC-{index + 1:06d}",
        temperature=temperature,
        segment_keys=tuple(segment_keys),
        contacts=_contacts(rng, index, domain, band, is_target, phone_prefix),
        opportunities=[],
        touches=[],
    )
    _AccountStory(plan, rng, bundle, band=band, e=e, intensity=intensity, existing=existing_customer).tell()
    return bundle


def _owner(rng: random.Random, plan: DemoPlan, is_target: bool) -> int | None:
    """A rep index: "sales" gets its fixed share of the targets and none of the rest's draw."""
    if not plan.reps:
        return None
    if not is_target or plan.sales_rep is None:
        return int(rng.random() * len(plan.reps))
    if rng.random() < plan.sales_target_share or len(plan.reps) == 1:
        return plan.sales_rep
    others = [i for i in range(len(plan.reps)) if i != plan.sales_rep]
    return others[int(rng.random() * len(others))]


def _company(rng: random.Random, industry: str, tld: str, taken: set[str]) -> tuple[str, str]:
    root = rng.choice(vocab.NAME_ROOTS)
    ending = rng.choice(vocab.INDUSTRIES[industry][1])
    # "Bluestone Health" or "Blue Harbor Health": ~9,000 brands per industry ending.
    if rng.random() < 0.5:
        brand = root + rng.choice(vocab.NAME_STEMS)
    else:
        second = rng.choice(vocab.NAME_ROOTS)
        brand = f"{root} {second}" if second != root else f"{root}field"
    name = f"{brand} {ending}"
    slug = (brand + ending).replace(" ", "").lower()
    for attempt in range(1_000_000):
        # Collisions get what real companies get: a "-group" domain, then a country-free .com, then a number.
        candidate = {0: f"{slug}.{tld}", 1: f"{slug}-group.{tld}", 2: f"{slug}.com"}.get(
            attempt, f"{slug}{attempt}.com"
        )
        domain = normalise_domain(candidate) or candidate
        if domain not in taken:
            taken.add(domain)
            if attempt == 1:
                name = f"{name} Group"
            elif attempt >= 3:
                name = f"{name} {attempt}"
            return name, domain
    raise RuntimeError("no free domain")  # unreachable: the numbered candidates never run out


def _contacts(
    rng: random.Random, index: int, domain: str, band: int, is_target: bool, phone_prefix: str
) -> list[ContactSpec]:
    low, high = CONTACTS_BY_BAND[band]
    count = min(25, rng.randint(low, high) + (2 if is_target else 0))
    present = [r for r in REQUIRED_ROLES if rng.random() < (0.9 if is_target else 0.72)]
    # The rest of the committee, never from a required role the account misses.
    fill_roles = tuple(present) + (R["ECONOMIC_BUYER"], R["BLOCKER"], "")
    fill_weights = tuple(
        {R["END_USER"]: 5, R["INFLUENCER"]: 3, R["TECHNICAL_EVALUATOR"]: 3}.get(r, 1.5) for r in present
    ) + (1.0, 0.7, 2.5)
    roles = present + [_weighted(rng, fill_roles, fill_weights) for _ in range(count - len(present))]
    contacts: list[ContactSpec] = []
    used_emails: set[str] = set()
    rnd = rng.random
    for j, role in enumerate(roles):
        first = _one(rnd, vocab.FIRST_NAMES)
        last = _one(rnd, vocab.LAST_NAMES)
        title, department = _one(rnd, vocab.TITLES_BY_ROLE[role])
        # Most sources give no seniority (it comes from the title); some give one, now and then
        # not the title's.
        seniority = ""
        if rng.random() < 0.15:
            seniority = resolve_seniority(seniority=None, title=title)
            if rng.random() < 0.2:
                seniority = rng.choice(("cxo", "vp", "director", "manager", "other"))
        has_email = rng.random() >= 0.06
        email = None
        if has_email:
            local = f"{first}.{last}".lower()
            for n in range(2, 1000):
                if local not in used_emails:
                    break
                local = f"{first}.{last}{n}".lower()
            used_emails.add(local)
            email = f"{local}@{domain}"
        phone = ""
        if not has_email or rng.random() < 0.55:
            phone = f"{phone_prefix} {200 + int(rnd() * 790)} {100 + int(rnd() * 900)} {1000 + int(rnd() * 9000)}"
        contacts.append(
            ContactSpec(
                email=email,
                first_name=first,
                last_name=last,
                title=title,
                role=role,
                department=department,
                seniority=seniority,
                seniority_level=resolve_seniority(seniority=seniority, title=title),
                phone=phone,
                opted_out=rng.random() < 0.04,
                external_id=f"CON-{index + 1:06d}-{j + 1:02d}",
            )
        )
    return contacts


class _AccountStory:
    """Draws an account's opportunities and touches from its temperature and propensity."""

    def __init__(
        self, plan: DemoPlan, rng: random.Random, bundle: AccountBundle, *, band: int, e: float, intensity: float,
        existing: bool,
    ) -> None:
        self.plan = plan
        self.rng = rng
        self.a = bundle
        self.band = band
        self.e = e
        self.intensity = intensity
        self.existing = existing
        days = plan.days
        # Cold accounts have nothing in the last 90 days (W90 = days D-89 … D).
        self.last_day = days - 91 if bundle.temperature == "cold" else days - 1
        self.heat_days = min(days, rng.choice((7, 7, 10, 14, 21, 30))) if bundle.temperature == "hot" else 0
        self.mask = sum(SEGMENT_BIT[k] for k in bundle.segment_keys)
        self.customer_since: int | None = None
        self.rnd = rng.random
        self._contact_pools()

    def _contact_pools(self) -> None:
        rng = self.rng
        everyone: list[int] = []
        reachable: list[int] = []
        w_all: list[float] = []
        w_reach: list[float] = []
        for j, c in enumerate(self.a.contacts):
            # A few contacts do most of the engaging; champions most of all.
            weight = rng.paretovariate(1.3) * (3.0 if c.role == R["CHAMPION"] else 1.0)
            everyone.append(j)
            w_all.append(weight)
            if c.email and not c.opted_out:
                reachable.append(j)
                w_reach.append(weight)
        self.everyone = (everyone, _cumulative(w_all))
        self.reachable = (reachable, _cumulative(w_reach))

    def tell(self) -> None:
        if self.last_day >= 0:
            self._opportunities()
            self._touches()
            self._pre_opportunity_touches()
            self._customer_touches()
            self._sales_activity()
        self.a.touches.sort(key=lambda t: t[3])

    # --- opportunities --------------------------------------------------------------------------
    def _opportunities(self) -> None:
        rng, a, e, days = self.rng, self.a, self.e, self.plan.days
        if self.existing:
            # Won before the window: the account is a customer from day one.
            created = -rng.randint(150, 700)
            self._add_opportunity("new", created, created + rng.randint(30, 120), won=True)
            self.customer_since = 0
        # New-logo targets are on long enterprise cycles, about one new deal in four years each: with
        # the few customers already, about a tenth of the target list is customer by the end.
        new_logo_target = a.is_target and not self.existing
        if new_logo_target:
            rate = (0.08 + 0.25 * e) * days / 365
        else:
            rate = (0.6 + 1.4 * e) * (1.35 if a.is_target else 0.85) * days / 365
        for _ in range(_poisson(rng, rate)):
            created = rng.randrange(self.last_day + 1)
            kind = "new" if self.customer_since is None or self.customer_since > created else rng.choice(
                ("renewal", "upsell")
            )
            # The demo's ideal customer profile: new business wins more often at software, financial
            # and healthcare companies, less at education, retail and energy ones (the Fit page learns it).
            icp = {"Software": 1.7, "Financial Services": 1.5, "Healthcare": 1.4, "Education": 0.4, "Retail": 0.5,
                   "Energy": 0.5}.get(a.industry, 1.0)
            p_win = 0.75 if kind == "renewal" else min(0.9, (0.04 + 0.45 * e) * icp)
            won = rng.random() < p_win
            if kind == "renewal":
                cycle = rng.randint(20, 60)
            elif won:
                cycle = max(10, int(rng.gauss((160 - 75 * e) if new_logo_target else (120 - 75 * e), 20)))
            else:
                cycle = max(10, int(rng.gauss(110 if new_logo_target else 85, 30)))
            close_day = created + cycle
            if close_day <= days - 1:
                self._add_opportunity(kind, created, close_day, won=won)
                if won and (self.customer_since is None or close_day + 1 < self.customer_since):
                    self.customer_since = close_day + 1
            else:
                self._add_opportunity(kind, created, None, won=False, progress=(days - 1 - created) / cycle)
        a.opportunities.sort(key=lambda o: o.created)
        for k, o in enumerate(a.opportunities):
            o.external_id = f"OPP-{a.index + 1:06d}-{k + 1}"

    def _add_opportunity(
        self, kind: str, created_day: int, close_day: int | None, *, won: bool, progress: float = 0.0
    ) -> None:
        rng, a, e = self.rng, self.a, self.e
        amount = DEAL_SIZE_BY_BAND[self.band] * rng.lognormvariate(0, 0.35)
        amount *= (1.6 if a.is_target else 1.0) * (0.8 + 0.5 * e) * {"new": 1.0, "renewal": 0.9, "upsell": 0.45}[kind]
        created = self._at(created_day)
        closed = None
        if close_day is not None:
            # Same-day close times are drawn after creation, never before, and never after now.
            closed = max(self._at(close_day), created + 3600)
            if closed >= self.plan.until_epoch:
                closed = created + max(1, (self.plan.until_epoch - created) // 2)
            stage = CLOSED_WON if won else CLOSED_LOST
        else:
            stage = OPEN_STAGES[min(3, int(progress * 4))]
        product = rng.choice(vocab.PRODUCTS)
        suffix = {"new": "", "renewal": " renewal", "upsell": " upsell"}[kind]
        a.opportunities.append(
            OpportunitySpec(
                name=f"{a.name} – {product}{suffix}",
                amount=f"{max(500, round(amount, -2)):.2f}",
                stage=stage,
                type=kind,
                created=created,
                closed=closed,
                is_won=won and closed is not None,
                external_id="",
            )
        )

    # --- touches ---------------------------------------------------------------------------------
    # The loops below run ten million times at --accounts 100000, so they draw with `random()` and
    # bisect instead of randrange/choices (same determinism, a fraction of the cost).
    def _at(self, day: int, rnd: Callable[[], float] | None = None) -> int:
        """A moment on `day`, mostly in working hours; on today, before now (the plan's until_epoch)."""
        rnd = rnd or self.rnd
        second = 25_200 + int(rnd() * 43_200) if rnd() < 0.85 else int(rnd() * DAY)
        midnight = self.plan.start_epoch + day * DAY
        if midnight + second >= self.plan.until_epoch:
            # Today: the same draw squeezed into the part of the day already past.
            second = second * (self.plan.until_epoch - midnight) // DAY
        return midnight + second

    def _contact(self, kind: str) -> int | None:
        rnd = self.rnd
        if kind == AD_IMPRESSION:
            return None
        if (kind == AD_CLICK and rnd() < 0.5) or (kind == WEB_VISIT and rnd() < 0.4):
            return None  # anonymous traffic matched to the account by IP
        pool, cum = self.reachable if kind in OUTREACH_KINDS else self.everyone
        if not pool:
            return None
        return _pick(rnd(), pool, cum)

    def _minutes(self, kind: str, intent: bool) -> str | None:
        """A duration for the few touches whose source reports one."""
        rnd = self.rnd
        if kind == WEB_VISIT:
            if intent:
                return f"{2 + rnd() * 13:.2f}"
            return f"{0.5 + rnd() * 11.5:.2f}" if rnd() < 0.3 else None
        if kind in TIMED_KINDS:
            chance, durations = TIMED_KINDS[kind]
            if rnd() < chance:
                return durations[int(rnd() * len(durations))]
        return None

    def _add(self, kind: str, day: int, program: int | None, intent: bool = False, score: int | None = None) -> None:
        contact = self._contact(kind)
        if contact is None and kind in OUTREACH_KINDS:
            return  # nobody at the account we may email or call
        performer = self.a.owner if kind in SDR_KINDS else None
        self.a.touches.append((contact, program, kind, self._at(day), self._minutes(kind, intent), score, performer))

    def _touches(self) -> None:
        rnd, a, plan, days = self.rnd, self.a, self.plan, self.plan.days
        base = BASE_TOUCHES_TARGET[a.tier] if a.is_target and a.tier else BASE_TOUCHES_OTHER
        size = 0.7 + 0.15 * self.band
        count = base * size * self.intensity * days / 365 * (0.6 if a.temperature == "cold" else 1.0)
        heat, span = self.heat_days, self.last_day + 1
        programs_of = plan.active_programs
        for _ in range(_poisson(self.rng, count)):
            burst = False
            if not heat:
                day = int(rnd() * span)
            elif heat >= days or rnd() < 0.4:
                day, burst = days - heat + int(rnd() * heat), True
            else:
                day = int(rnd() * (days - heat))
            if burst and rnd() < 0.5:
                kind = _pick(rnd(), *INTENT_KINDS)
                program = self._program_of_channel(day, Channel.WEB) if kind == FORM_FILL else None
                self._add(kind, day, program, True)
                continue
            if rnd() < 0.62:
                programs, cum = programs_of(day, self.mask, a.is_target)
                if programs:
                    p = plan.programs[_pick(rnd(), programs, cum)]
                    kind = _pick(rnd(), *CHANNEL_KINDS[p.channel])
                    if kind in ATTENDED:
                        attend = p.attend_days[int(rnd() * len(p.attend_days))]
                        if 0 <= attend <= self.last_day:
                            day = attend
                        else:
                            kind = EVENT_REGISTERED
                    self._add(kind, day, p.index)
                    continue
            self._add(SOCIAL_ENGAGEMENT if rnd() < 0.08 else WEB_VISIT, day, None)

    def _program_of_channel(self, day: int, channel: str) -> int | None:
        programs, _ = self.plan.active_programs(day, self.mask, self.a.is_target)
        for index in programs:
            if self.plan.programs[index].channel == channel:
                return index
        return None

    def _pre_opportunity_touches(self) -> None:
        """Meetings, calls and research in the 30 days before each opportunity is created."""
        rnd, start = self.rnd, self.plan.start_epoch
        for o in list(self.a.opportunities):
            created_day = (o.created - start) // DAY
            if created_day <= 0:
                continue
            first = max(0, created_day - 30)
            for _ in range(1 + int(8 * self.e + rnd() * 3)):
                day = first + int(rnd() * (created_day - first))
                kind = _pick(rnd(), *PRE_OPPORTUNITY_KINDS)
                program = self._program_of_channel(day, Channel.SDR_OUTREACH) if kind in SDR_KINDS else None
                self._add(kind, day, program)

    def _customer_touches(self) -> None:
        """Customers use the product every week and answer an NPS survey now and then."""
        since = self.customer_since
        if since is None or since > self.last_day:
            return
        rng, rnd, e = self.rng, self.rnd, self.e
        span = self.last_day - since + 1
        for _ in range(_poisson(rng, span / 7 * (0.3 + 1.2 * e))):
            self._add(PRODUCT_USAGE, since + int(rnd() * span), None)
        for _ in range(1 + span // 150):
            score = min(10, max(0, round(rng.gauss(5.5 + 4 * e, 1.8))))
            self._add(NPS_RESPONSE, since + int(rnd() * span), None, score=score)

    def _sales_activity(self) -> None:
        """The rep's outbound work at the account: attempts before each connected call (same day or a
        few days earlier) and before each reply the email it answered, plus cold sales emails. A
        stream of its own (see the module docstring); nothing when the account has no owner."""
        rep, a = self.a.owner, self.a
        pool, cum = self.reachable
        if rep is None or not pool:
            return
        rng = random.Random(f"{self.plan.seed}:{a.index}:sales")
        rnd = rng.random
        day_of = self.plan.start_epoch
        added: list[TouchRow] = []
        for i, (contact, program, kind, at, minutes, score, performer) in enumerate(a.touches):
            if performer is None:
                continue
            day = (at - day_of) // DAY
            if kind == CALL_CONNECTED:
                if minutes is None and rnd() < CALLS_TIMED_BY_DIALER:
                    # The dialer logs how long the call lasted: short check-ins or real conversations.
                    talk = 0.5 + rnd() * 4.4 if rnd() < 0.45 else 5 + rnd() * 20
                    a.touches[i] = (contact, program, kind, at, f"{talk:.2f}", score, performer)
                for _ in range(_poisson(rng, ATTEMPTS_PER_CONNECT)):
                    earlier = day - int(rnd() * 4)
                    if earlier >= 0:
                        added.append((contact, program, CALL_ATTEMPT, self._at(earlier, rnd), None, None, rep))
            elif kind == SALES_EMAIL_REPLY:
                earlier = max(0, day - 1 - int(rnd() * 3))
                added.append((contact, program, SALES_EMAIL, self._at(earlier, rnd), None, None, rep))
        per_year = SALES_EMAILS_PER_YEAR_TARGET * (0.5 + self.e) if a.is_target else SALES_EMAILS_PER_YEAR_OTHER
        span = self.last_day + 1
        for _ in range(_poisson(rng, per_year * span / 365)):
            day = int(rnd() * span)
            contact = _pick(rnd(), pool, cum)
            kind = CALL_ATTEMPT if rnd() < 0.35 else SALES_EMAIL
            added.append((contact, None, kind, self._at(day, rnd), None, None, rep))
        a.touches.extend(added)


def _one(rnd: Callable[[], float], items: Sequence[T]) -> T:
    return items[int(rnd() * len(items))]


def _pick(u: float, items: Sequence[T], cum: Sequence[float]) -> T:
    """The item whose cumulative-weight slot holds `u` (uniform in [0, 1)) scaled to the total."""
    i = bisect_right(cum, u * cum[-1])
    return items[i] if i < len(items) else items[-1]  # u * total can round up to the total


def _cumulative(weights: list[float]) -> list[float]:
    total = 0.0
    out = []
    for w in weights:
        total += w
        out.append(total)
    return out


def _poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw: Knuth's method for small means, a rounded normal for large ones."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit = math.exp(-lam)
    k, p = 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
