"""Reads for the people on the pages: the account page's committee grid, the contact page, My
accounts' "who to call" and the rep's call list. Every figure comes from the day's
ContactSnapshot rows (metrics.families.people computes them); nothing here recomputes minutes.

Emails and phones leave this module only for the roles that may see them: the call list is for
them alone (views check accounts.roles.can_see_contact_details), and the templates show a
contact's links through the same rule.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db.models import F, FilteredRelation, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from accounts.models import Contact, Opportunity, Seniority, Touchpoint
from dashboard.selectors import AccountHealth, day_end, rep_snapshots
from metrics import selectors as metric_selectors
from metrics.families.common import day_start
from metrics.models import AccountSnapshot, ContactSnapshot, MetricSettings

# Most senior first: the tie-break of "who to call" after recent minutes.
SENIORITY_ORDER = [Seniority.CXO, Seniority.VP, Seniority.DIRECTOR, Seniority.MANAGER, Seniority.OTHER]
WHO_TO_CALL_ACCOUNTS = 6
WHO_TO_CALL_PEOPLE = 3
# The latest touches read per person, grouped by kind and day (three web visits on Monday): the
# first DID_SHOWN groups are shown.
WHAT_THEY_DID = 6
DID_SHOWN = 3
CONTACT_HISTORY_DAYS = 90
CONTACT_TOUCHES_PER_PAGE = 25


def figures_by_contact(*, contact_ids: Iterable[int] | None = None, account_ids: Iterable[int] | None = None,
                       as_of: dt.date) -> dict[int, ContactSnapshot]:
    """The day's ContactSnapshot of each contact (of these contacts, or of these accounts' people:
    index contact_snap_account_day). A contact without one had no touch on or before the day."""
    rows = ContactSnapshot.objects.filter(as_of=as_of)
    if account_ids is not None:
        rows = rows.filter(account_id__in=list(account_ids))
    if contact_ids is not None:
        rows = rows.filter(contact_id__in=list(contact_ids))
    return {s.contact_id: s for s in rows}


def _warmth(c: Contact) -> tuple[Any, ...]:
    """Warmest first: most minutes in W30, then the latest activity, then by name."""
    s: ContactSnapshot | None = getattr(c, "figures", None)
    minutes = s.minutes_30d if s else 0.0
    last = s.last_touch_at.timestamp() if s and s.last_touch_at else 0.0
    return (-minutes, -last, c.last_name.lower(), c.first_name.lower(), c.pk)


def committee_with_figures(*, health: AccountHealth, as_of: dt.date) -> list[str]:
    """Give every contact of the account page its figures of the day (`contact.figures`, or None),
    sort each role's people warmest first, and return the labels of the required roles nobody
    holds (one query)."""
    figures = figures_by_contact(account_ids=[health.account.pk], as_of=as_of)
    for c in health.contacts:
        c.figures = figures.get(c.pk)
    for row in health.committee:
        row.contacts.sort(key=_warmth)
    health.other_contacts.sort(key=_warmth)
    return [row.label for row in health.committee if row.gap]


# ---------------------------------------------------------------------------- contact page


@dataclass
class ContactPage:
    contact: Contact
    snapshot: ContactSnapshot | None
    history: list[ContactSnapshot]
    opportunities: list[Opportunity]
    required_role: bool
    # The latest touch on or before the day: the snapshot's, else looked up (a person with no
    # touch in W90 has no snapshot row: metrics.families.people).
    last_touch_at: dt.datetime | None


def contact_page(*, contact: Contact, as_of: dt.date, settings: MetricSettings) -> ContactPage:
    """The contact's figures of the day, their 90-day history on published days, and the
    opportunities of their account that existed on the day (2 queries; 3 without a row)."""
    start = as_of - dt.timedelta(days=CONTACT_HISTORY_DAYS - 1)
    history = list(
        contact.snapshots.filter(as_of__range=(start, as_of), as_of__in=metric_selectors.published_days())
        .order_by("as_of")
    )
    snapshot = history[-1] if history and history[-1].as_of == as_of else None
    opportunities = (
        list(contact.account.opportunities.filter(created_at__lt=day_end(as_of)).order_by("-created_at"))
        if contact.account_id else []
    )
    last = snapshot.last_touch_at if snapshot else (
        contact_touches(contact=contact, as_of=as_of).values_list("occurred_at", flat=True).first()
    )
    return ContactPage(contact, snapshot, history, opportunities, contact.role in settings.required_roles, last)


def contact_touches(*, contact: Contact, as_of: dt.date) -> QuerySet[Touchpoint]:
    """The contact's touches up to the day, newest first, for the page to page through
    (index touchpoint_contact_time)."""
    return (
        Touchpoint.objects.filter(contact=contact, occurred_at__lt=day_end(as_of))
        .select_related("account", "program")
        .order_by("-occurred_at", "-id")
    )


# ---------------------------------------------------------------------------- who to call


@dataclass
class Did:
    """What a person did on one day: `count` touches of one kind."""

    kind: str
    day: dt.date
    count: int


@dataclass
class Person:
    contact: Contact
    figures: ContactSnapshot
    holds_required_role: bool
    did: list[Did] = field(default_factory=list)

    def add(self, touch: Touchpoint) -> None:
        """Count a touch (given newest first) into what they did."""
        day, kind = touch.occurred_at.date(), touch.get_kind_display().lower()
        if self.did and (self.did[-1].kind, self.did[-1].day) == (kind, day):
            self.did[-1].count += 1
        elif len(self.did) < DID_SHOWN:
            self.did.append(Did(kind, day, 1))


@dataclass
class WhoToCall:
    snapshot: AccountSnapshot  # with week_change (rep_snapshots)
    people: list[Person]
    missing_roles: list[str]
    opted_out: int  # warm people left out because they opted out


def _call_order(person: Person) -> tuple[Any, ...]:
    """By recent minutes (W30, CXO already × 2), then seniority, then holding a required role."""
    level = person.contact.seniority_level
    rank = SENIORITY_ORDER.index(level) if level in SENIORITY_ORDER else len(SENIORITY_ORDER)
    return (-person.figures.minutes_30d, rank, not person.holds_required_role, str(person.contact), person.contact.pk)


def who_to_call(*, rep: User, as_of: dt.date, settings: MetricSettings) -> list[WhoToCall]:
    """For each of the rep's target accounts that heated up this week (minutes in W7 above the
    weekly average of B21: week change > 0), biggest rise first, at most WHO_TO_CALL_ACCOUNTS:
    the WHO_TO_CALL_PEOPLE people to contact first among those with minutes in W30 who have not
    opted out, each with what they did lately (their latest WHAT_THEY_DID touches in W30, by kind
    and day); and the required roles nobody there holds.
    Three queries, whatever the number of accounts (one when none heated up)."""
    heated = list(rep_snapshots(rep=rep, as_of=as_of, sort="week").filter(week_change__gt=0)[:WHO_TO_CALL_ACCOUNTS])
    if not heated:
        return []
    ids = [s.account_id for s in heated]
    required = [str(r) for r in settings.required_roles]
    role_labels = dict(Contact._meta.get_field("role").choices)
    held: dict[int, set[str]] = defaultdict(set)
    warm: dict[int, list[Person]] = defaultdict(list)
    opted_out: dict[int, int] = defaultdict(int)
    # Every contact of these accounts (the roles held) with their figures of the day, if any: one
    # query, a LEFT JOIN on the snapshot's unique (contact, as_of).
    contacts = (
        Contact.objects.filter(account_id__in=ids)
        .annotate(day=FilteredRelation("snapshots", condition=Q(snapshots__as_of=as_of)))
        .select_related("day")
    )
    for c in contacts:
        held[c.account_id].add(c.role)
        s = getattr(c, "day", None)  # not set when the person has no row that day
        if s is None or s.minutes_30d <= 0:
            continue
        if c.opted_out:
            opted_out[c.account_id] += 1
            continue
        warm[c.account_id].append(Person(c, s, c.role in required))
    chosen = {aid: sorted(people, key=_call_order)[:WHO_TO_CALL_PEOPLE] for aid, people in warm.items()}
    people_by_id = {p.contact.pk: p for people in chosen.values() for p in people}
    if people_by_id:
        # The latest few touches of each chosen person in W30: one query, numbered per person.
        w30_start = day_start(as_of - dt.timedelta(days=settings.short_window_days - 1))
        latest = (
            Touchpoint.objects.filter(
                contact_id__in=list(people_by_id), occurred_at__gte=w30_start, occurred_at__lt=day_end(as_of)
            )
            .annotate(n=Window(RowNumber(), partition_by=[F("contact_id")], order_by=[F("occurred_at").desc(),
                                                                                       F("id").desc()]))
            .filter(n__lte=WHAT_THEY_DID)
            .order_by("contact_id", "-occurred_at", "-id")
        )
        for t in latest:
            people_by_id[t.contact_id].add(t)
    return [
        WhoToCall(
            s,
            chosen.get(s.account_id, []),
            [str(role_labels.get(r, r)) for r in required if r not in held[s.account_id]],
            opted_out[s.account_id],
        )
        for s in heated
    ]


# ---------------------------------------------------------------------------- call list

# The column layout sales-engagement tools (Outreach, Salesloft, Apollo) import: their names for
# the person and the company first, then ours.
CALL_LIST_COLUMNS = [
    "first_name", "last_name", "email", "phone", "title", "company", "account_owner_email",
    "minutes_30d", "last_activity",
]


def _call_list_contacts(rep: User) -> QuerySet[Contact]:
    return Contact.objects.filter(account__owner=rep, account__is_target=True)


def call_list_left_out(*, rep: User) -> int:
    """How many people of the rep's target accounts the call list leaves out: they opted out."""
    return _call_list_contacts(rep).filter(opted_out=True).count()


def call_list_rows(*, rep: User, as_of: dt.date) -> Iterator[dict[str, Any]]:
    """The people of the rep's target accounts who have not opted out, by account, warmest first:
    the call list's rows (two queries). Only for roles that may see emails and phones."""
    figures = {
        s["contact_id"]: s
        for s in ContactSnapshot.objects.filter(
            as_of=as_of, account__owner=rep, account__is_target=True
        ).values("contact_id", "minutes_30d", "last_touch_at")
    }
    people = (
        _call_list_contacts(rep)
        .filter(opted_out=False)
        .values("id", "first_name", "last_name", "email", "phone", "title", "account__name", "account__owner__email")
        .order_by("account__name", "account_id", "last_name", "first_name", "id")
    )
    rows = []
    for c in people.iterator(chunk_size=2000):
        s = figures.get(c["id"])
        rows.append({
            "first_name": c["first_name"],
            "last_name": c["last_name"],
            "email": c["email"] or "",
            "phone": c["phone"],
            "title": c["title"],
            "company": c["account__name"],
            "account_owner_email": c["account__owner__email"] or "",
            "minutes_30d": s["minutes_30d"] if s else 0.0,
            "last_activity": s["last_touch_at"].isoformat() if s and s["last_touch_at"] else "",
        })
    # Warmest first within each company (stable: ties keep the query's name order).
    rows.sort(key=lambda r: (r["company"].lower(), -r["minutes_30d"]))
    yield from rows
