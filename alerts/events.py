"""What happened on a published day that a rule can alert on. Reads only.

Each event is news: a state reached on the day (a spike, an MQA) that the previous published day
did not have, or a fact dated after the previous published day (a contact's first engaged touch,
a touch after a quiet spell, a new opportunity). The facts' window ("news since") runs from the
day after the previous published day through D, at most W7 long, so a day computed after a gap
reports what the gap held and a first day reports D alone.

Every alert carries one sentence with the figures behind it, for the digest, and the figures
themselves, for the generic webhook. Events are found once per day for all accounts; rules only
filter them (alerts.selectors), so the cost does not grow with the number of rules.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, Max, Min, OuterRef, QuerySet, Subquery

from accounts.models import Opportunity, Role, Touchpoint, TouchpointKind
from alerts.models import Event
from metrics.families.common import Window, day_start, minutes_expression, trailing
from metrics.models import AccountSnapshot, MetricSettings, MetricsRun

_ROLE_LABELS = dict(Role.choices)


@dataclass(frozen=True)
class Alert:
    """One thing that happened at one account, said in one sentence with its figures."""

    event: str
    account_id: int
    account_name: str
    text: str
    figures: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "account_id": self.account_id,
            "account": self.account_name,
            "text": self.text,
            "figures": self.figures,
        }


@dataclass(frozen=True)
class DayEvents:
    as_of: dt.date
    previous: dt.date | None  # the published day before, if any
    since: dt.date  # first day of the news window
    by_event: dict[str, list[Alert]]

    @property
    def account_ids(self) -> set[int]:
        return {alert.account_id for alerts in self.by_event.values() for alert in alerts}

    def count(self) -> int:
        return sum(len(alerts) for alerts in self.by_event.values())


def previous_published_day(as_of: dt.date) -> dt.date | None:
    return (
        MetricsRun.objects.filter(status=MetricsRun.Status.DONE, as_of__lt=as_of)
        .aggregate(d=Max("as_of"))["d"]
    )


def news_since(*, as_of: dt.date, previous: dt.date | None, cfg: MetricSettings) -> dt.date:
    """First day of the facts that are news on `as_of`: the day after the previous published day,
    but no further back than W7 (a week-old touch is no longer news), and D alone on a first day."""
    since = previous + dt.timedelta(days=1) if previous else as_of
    return max(since, as_of - dt.timedelta(days=cfg.spike_window_days - 1))


def day_events(*, as_of: dt.date, cfg: MetricSettings | None = None, min_quiet_days: int = 30) -> DayEvents:
    """Every event of the day, for all accounts. About a dozen queries, whatever the rules.
    `min_quiet_days`: the shortest quiet spell any rule asks for (rules filter for longer ones)."""
    cfg = cfg or MetricSettings.load()
    previous = previous_published_day(as_of)
    since = news_since(as_of=as_of, previous=previous, cfg=cfg)
    news = Window(since, as_of)
    by_event = {
        Event.SPIKE: _spikes(as_of=as_of, previous=previous, cfg=cfg),
        Event.MQA: _mqas(as_of=as_of, previous=previous, cfg=cfg),
        Event.ENGAGED_CONTACT: _engaged_contacts(as_of=as_of, news=news, cfg=cfg),
        Event.QUIET_RETURN: _quiet_returns(as_of=as_of, news=news, cfg=cfg, min_quiet_days=min_quiet_days),
        Event.OPPORTUNITY: _opportunities(as_of=as_of, news=news, cfg=cfg),
    }
    return DayEvents(as_of=as_of, previous=previous, since=since, by_event={str(k): v for k, v in by_event.items()})


# ---------------------------------------------------------------------------- wording


def _n(value: float | int) -> str:
    return f"{float(value):,.0f}"


def _minutes(value: float) -> str:
    return f"{_n(value)} minute{'' if round(float(value)) == 1 else 's'}"


def _day(moment: dt.datetime | dt.date) -> str:
    return f"{moment.day} {moment:%b}"


def person(first: str, last: str, title: str = "", role: str = "") -> str:
    """"Sofia Harris (CEO)", or with the role: "Sofia Harris (CEO, decision maker)"."""
    name = f"{first} {last}".strip() or "Someone"
    details = [d for d in (title, _ROLE_LABELS.get(role, "").lower() if role else "") if d]
    return f"{name} ({', '.join(details)})" if details else name


def _quoted(program: str | None) -> str:
    return f" “{program}”" if program else ""


def did(kind: str, program: str | None) -> str:
    """What a touch was, as a verb phrase: 'attended the webinar “Scaling ABM”'."""
    q = _quoted(program)
    phrases = {
        TouchpointKind.WEBINAR_ATTENDED: f"attended the webinar{q}" if program else "attended a webinar",
        TouchpointKind.EVENT_ATTENDED: f"attended the event{q}" if program else "attended an event",
        TouchpointKind.EVENT_REGISTERED: f"registered for{q}" if program else "registered for an event",
        TouchpointKind.MEETING: "took a meeting" + (f" ({program})" if program else ""),
        TouchpointKind.CALL_CONNECTED: "took a call",
        TouchpointKind.CONTENT_DOWNLOAD: f"downloaded{q}" if program else "downloaded content",
        TouchpointKind.FORM_FILL: "filled in a form" + (f" for{q}" if program else ""),
        TouchpointKind.EMAIL_CLICK: "clicked an email" + (f" of{q}" if program else ""),
        TouchpointKind.EMAIL_OPEN: "opened an email" + (f" of{q}" if program else ""),
        TouchpointKind.WEB_VISIT: "visited the website",
        TouchpointKind.AD_CLICK: "clicked an ad" + (f" of{q}" if program else ""),
        TouchpointKind.AD_IMPRESSION: "saw an ad",
        TouchpointKind.SOCIAL_ENGAGEMENT: "engaged on social media",
        TouchpointKind.SALES_EMAIL_REPLY: "replied to a sales email",
        TouchpointKind.PRODUCT_USAGE: "used the product",
        TouchpointKind.DIRECT_MAIL_RESPONSE: "answered a direct mail" + (f" ({program})" if program else ""),
        TouchpointKind.NPS_RESPONSE: "answered the NPS survey",
    }
    return phrases.get(kind, kind.replace("_", " "))


# ---------------------------------------------------------------------------- people behind the minutes

_TOUCH_FIELDS = (
    "account_id", "contact_id", "contact__first_name", "contact__last_name", "contact__title", "contact__role",
    "kind", "program__name", "occurred_at",
)


def _touches(cfg: MetricSettings, **filters: Any) -> QuerySet:
    """Touches worth more than 0 engagement minutes, each with its minutes as `worth` (the same
    weighted minutes the account's figures count: METRICS.md)."""
    return (
        Touchpoint.objects.filter(**filters)
        .annotate(worth=minutes_expression(cfg))
        .filter(worth__gt=0)
        .order_by()
    )


def _top_people(*, account_ids: list[int], window: Window, cfg: MetricSettings) -> dict[int, dict[str, Any]]:
    """Per account, the contact with the most minutes in `window` and their biggest touch there.

    One query over the accounts' scored touches of the window (index touchpoint_account_time);
    the accounts are the day's few spikes or MQAs.
    """
    if not account_ids:
        return {}
    rows = _touches(cfg, account_id__in=account_ids, contact__isnull=False).filter(window.q()).values(
        *_TOUCH_FIELDS, "worth"
    )
    minutes: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    biggest: dict[tuple[int, int], dict[str, Any]] = {}
    for row in rows:
        key = (row["account_id"], row["contact_id"])
        minutes[row["account_id"]][row["contact_id"]] += row["worth"]
        best = biggest.get(key)
        if best is None or (row["worth"], row["occurred_at"]) > (best["worth"], best["occurred_at"]):
            biggest[key] = row
    top: dict[int, dict[str, Any]] = {}
    for account_id, per_contact in minutes.items():
        contact_id = max(per_contact, key=lambda c: (per_contact[c], -c))
        row = biggest[(account_id, contact_id)]
        top[account_id] = {
            "contact_id": contact_id,
            "name": f"{row['contact__first_name']} {row['contact__last_name']}".strip(),
            "title": row["contact__title"],
            "role": row["contact__role"],
            "minutes": round(per_contact[contact_id], 2),
            "kind": row["kind"],
            "program": row["program__name"],
            "at": row["occurred_at"].isoformat(),
            # For the sentence only (not JSON): dropped by _public.
            "_person": person(row["contact__first_name"], row["contact__last_name"], row["contact__title"]),
            "_at": row["occurred_at"],
        }
    return top


def _public(top: dict[str, Any] | None) -> dict[str, Any] | None:
    return {k: v for k, v in top.items() if not k.startswith("_")} if top else None


def _top_clause(top: dict[str, Any] | None) -> str:
    if not top:
        return ""
    return f"; {top['_person']} {did(top['kind'], top['program'])} on {_day(top['_at'])}"


# ---------------------------------------------------------------------------- the five events


def _newly(snapshots: QuerySet, *, previous: dt.date | None, flag: str) -> QuerySet:
    """Snapshots whose `flag` the previous published day's snapshot of the account did not have."""
    if previous is None:
        return snapshots
    before = AccountSnapshot.objects.filter(account_id=OuterRef("account_id"), as_of=previous, **{flag: True})
    return snapshots.filter(~Exists(before))


def _spikes(*, as_of: dt.date, previous: dt.date | None, cfg: MetricSettings) -> list[Alert]:
    # Partial index acct_snap_day_spike: the day's few spiking accounts.
    rows = list(
        _newly(AccountSnapshot.objects.filter(as_of=as_of, spike=True), previous=previous, flag="spike")
        .values("account_id", "account__name", "minutes_7d", "minutes_prev_21d")
        .order_by("account__name", "account_id")
    )
    window = trailing(as_of, cfg.spike_window_days)
    top = _top_people(account_ids=[r["account_id"] for r in rows], window=window, cfg=cfg)
    weeks = cfg.spike_baseline_days / cfg.spike_window_days
    alerts = []
    for r in rows:
        average = r["minutes_prev_21d"] / weeks if weeks else 0.0
        who = top.get(r["account_id"])
        text = (
            f"{r['account__name']}: {_minutes(r['minutes_7d'])} in the last {cfg.spike_window_days} days against "
            f"a weekly average of {_n(average)}{_top_clause(who)}."
        )
        alerts.append(Alert(Event.SPIKE, r["account_id"], r["account__name"], text, {
            "minutes_7d": r["minutes_7d"],
            "minutes_prev_21d": r["minutes_prev_21d"],
            "weekly_average": round(average, 2),
            "top_contact": _public(who),
        }))
    return alerts


def _mqas(*, as_of: dt.date, previous: dt.date | None, cfg: MetricSettings) -> list[Alert]:
    # Partial index acct_snap_day_mqa.
    rows = list(
        _newly(AccountSnapshot.objects.filter(as_of=as_of, mqa=True), previous=previous, flag="mqa")
        .values("account_id", "account__name", "minutes_90d", "engaged_contacts_90d")
        .order_by("account__name", "account_id")
    )
    window = trailing(as_of, cfg.long_window_days)
    top = _top_people(account_ids=[r["account_id"] for r in rows], window=window, cfg=cfg)
    alerts = []
    for r in rows:
        who = top.get(r["account_id"])
        n = r["engaged_contacts_90d"]
        most = ""
        if who:
            most = f"; most engaged: {who['_person']} with {_minutes(who['minutes'])}"
        text = (
            f"{r['account__name']} became an MQA: {_minutes(r['minutes_90d'])} in the last {cfg.long_window_days} "
            f"days from {n} engaged contact{'s' if n != 1 else ''}{most}."
        )
        alerts.append(Alert(Event.MQA, r["account_id"], r["account__name"], text, {
            "minutes_90d": r["minutes_90d"],
            "engaged_contacts_90d": n,
            "top_contact": _public(who),
        }))
    return alerts


def _active_accounts(as_of: dt.date) -> QuerySet:
    """Accounts with an engagement minute in W7 of D: the only ones with a scored touch in the
    news window (at most W7 long). Narrows the touch scans to the (account, occurred_at) index."""
    return AccountSnapshot.objects.filter(as_of=as_of, minutes_7d__gt=0).values("account_id")


def _engaged_contacts(*, as_of: dt.date, news: Window, cfg: MetricSettings) -> list[Alert]:
    """Contacts in a buying-committee role whose first scored touch in W90 falls in the news
    window: not engaged the day before it, engaged now. (Rules pick the roles.)"""
    earlier = (
        Touchpoint.objects.filter(
            contact_id=OuterRef("contact_id"),
            occurred_at__gte=day_start(news.first - dt.timedelta(days=cfg.long_window_days)),
            occurred_at__lt=news.start,
        )
        .annotate(worth=minutes_expression(cfg))
        .filter(worth__gt=0)
    )
    rows = (
        _touches(cfg, account_id__in=_active_accounts(as_of), contact__isnull=False)
        .filter(news.q())
        .exclude(contact__role__in=["", Role.OTHER])
        .filter(~Exists(earlier))  # index touchpoint_contact_time
        .values(*_TOUCH_FIELDS, "account__name", "worth")
        .order_by("contact_id", "occurred_at", "id")
    )
    first: dict[int, dict[str, Any]] = {}
    minutes: dict[int, float] = defaultdict(float)
    touches: dict[int, int] = defaultdict(int)
    for row in rows:
        first.setdefault(row["contact_id"], row)
        minutes[row["contact_id"]] += row["worth"]
        touches[row["contact_id"]] += 1
    alerts = []
    for contact_id, row in sorted(first.items(), key=lambda kv: (kv[1]["account__name"], kv[1]["occurred_at"])):
        who = person(row["contact__first_name"], row["contact__last_name"], row["contact__title"], row["contact__role"])
        n = touches[contact_id]
        text = (
            f"{who} at {row['account__name']} engaged for the first time in {cfg.long_window_days} days: "
            f"{did(row['kind'], row['program__name'])} on {_day(row['occurred_at'])} "
            f"({_minutes(minutes[contact_id])} in {n} touch{'es' if n != 1 else ''})."
        )
        alerts.append(Alert(Event.ENGAGED_CONTACT, row["account_id"], row["account__name"], text, {
            "contact": {
                "id": contact_id,
                "name": f"{row['contact__first_name']} {row['contact__last_name']}".strip(),
                "title": row["contact__title"],
                "role": row["contact__role"],
            },
            "role": row["contact__role"],
            "first_touch_at": row["occurred_at"].isoformat(),
            "kind": row["kind"],
            "program": row["program__name"],
            "minutes": round(minutes[contact_id], 2),
            "touches": n,
        }))
    return alerts


def _quiet_returns(*, as_of: dt.date, news: Window, cfg: MetricSettings, min_quiet_days: int) -> list[Alert]:
    """Accounts whose first scored touch of the news window came after at least `min_quiet_days`
    whole days without one (or is their first on record).

    Quiet days = the whole days strictly between the last scored touch and this one. Four queries:
    the window's first touches; the last touch in the lookback that could break the quiet; the
    true last touch of the few that stayed quiet (for the sentence); the first touches' details.
    """
    window_touches = _touches(cfg, account_id__in=_active_accounts(as_of)).filter(news.q())
    firsts = dict(
        window_touches.values("account_id").annotate(first=Min("occurred_at")).values_list("account_id", "first")
    )
    if not firsts:
        return []
    # A touch within min_quiet_days before the window's first (which is in the window) breaks the quiet.
    lookback = day_start(news.first - dt.timedelta(days=min_quiet_days + 1))
    recent = dict(
        _touches(cfg, account_id__in=window_touches.values("account_id"), occurred_at__gte=lookback,
                 occurred_at__lt=news.start)
        .values("account_id").annotate(last=Max("occurred_at")).values_list("account_id", "last")
    )

    def quiet(first: dt.datetime, last: dt.datetime | None) -> int | None:
        return None if last is None else (first.date() - last.date()).days - 1

    returning = {
        a: first for a, first in firsts.items()
        if a not in recent or (quiet(first, recent[a]) or 0) >= min_quiet_days
    }
    if not returning:
        return []
    # Only the returning accounts: their last touch may be long ago (index touchpoint_account_time).
    unknown = [a for a in returning if a not in recent]
    last_ever = dict(recent)
    if unknown:
        last_ever.update(
            _touches(cfg, account_id__in=unknown, occurred_at__lt=news.start)
            .values("account_id").annotate(last=Max("occurred_at")).values_list("account_id", "last")
        )
    details = {}
    for row in (
        _touches(cfg, account_id__in=list(returning)).filter(news.q())
        .values(*_TOUCH_FIELDS, "account__name", "worth").order_by("account_id", "occurred_at", "id")
    ):
        details.setdefault(row["account_id"], row)
    alerts = []
    for account_id, row in sorted(details.items(), key=lambda kv: (kv[1]["account__name"], kv[0])):
        last = last_ever.get(account_id)
        days = quiet(row["occurred_at"], last)
        if row["contact_id"]:
            who = person(row["contact__first_name"], row["contact__last_name"], row["contact__title"])
        else:
            who = "An anonymous visitor"
        after = f"is back after {days} quiet days" if days is not None else "has its first engaged touch on record"
        what = f"{did(row['kind'], row['program__name'])} on {_day(row['occurred_at'])}"
        text = f"{row['account__name']} {after}: {who} {what}."
        alerts.append(Alert(Event.QUIET_RETURN, account_id, row["account__name"], text, {
            "quiet_days": days,
            "last_touch_before": last.isoformat() if last else None,
            "touch_at": row["occurred_at"].isoformat(),
            "kind": row["kind"],
            "program": row["program__name"],
            "contact": (
                {"id": row["contact_id"],
                 "name": f"{row['contact__first_name']} {row['contact__last_name']}".strip(),
                 "title": row["contact__title"]}
                if row["contact_id"] else None
            ),
        }))
    return alerts


def _opportunities(*, as_of: dt.date, news: Window, cfg: MetricSettings) -> list[Alert]:
    minutes = AccountSnapshot.objects.filter(account_id=OuterRef("account_id"), as_of=as_of).values("minutes_90d")[:1]
    rows = (
        Opportunity.objects.filter(news.q("created_at"), account__is_target=True)
        .annotate(minutes_90d=Subquery(minutes))
        .values("id", "name", "amount", "currency", "stage", "created_at", "account_id", "account__name",
                "minutes_90d")
        .order_by("account__name", "created_at", "id")
    )
    alerts = []
    for r in rows:
        stage = f" (stage {r['stage']})" if r["stage"] else ""
        m90 = r["minutes_90d"] or 0.0
        text = (
            f"{r['account__name']}: new opportunity “{r['name']}” of {_n(r['amount'])} {r['currency']} created on "
            f"{_day(r['created_at'])}{stage}, after {_n(m90)} engagement minute{'' if round(m90) == 1 else 's'} "
            f"in the last {cfg.long_window_days} days."
        )
        alerts.append(Alert(Event.OPPORTUNITY, r["account_id"], r["account__name"], text, {
            "opportunity": {
                "id": r["id"], "name": r["name"], "amount": str(r["amount"]), "currency": r["currency"],
                "stage": r["stage"], "created_at": r["created_at"].isoformat(),
            },
            "minutes_90d": m90,
        }))
    return alerts
