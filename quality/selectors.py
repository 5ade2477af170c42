"""Reads for the data-quality page: what stops the figures from being right.

Each check fetches the first RECORDS_SHOWN records behind one problem and, when there are that
many, counts them all in the database. Nothing loops over records in Python or queries per
record, so the page runs a bounded number of queries whatever the data size. The comment on
each check says which index serves it, or why none does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Exists, F, Max, Model, OuterRef, Q, QuerySet, Sum, Window
from django.db.models.functions import Lower, RowNumber, Trim
from django.template.defaultfilters import pluralize

from accounts.models import Account, Contact, Opportunity, Program, Touchpoint
from metrics.families.common import day_start

# How many records (or duplicate groups) a problem lists; the page says "and N more" for the rest.
RECORDS_SHOWN = 50
# How many records of one duplicate group are listed: a group of hundreds of "Unknown" accounts
# needs merging, not a page of links.
GROUP_MEMBERS_SHOWN = 10

# Consumer mail providers. Contacts without an account are matched to the account whose domain is
# their email's domain (docs/import.md), so an account stored with one of these domains collects
# the private addresses of people from any company. Extend it when imports show another provider.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "proton.me",
        "protonmail.com",
        "mail.com",
        "yandex.ru",
        "qq.com",
        "163.com",
    }
)


@dataclass(frozen=True)
class Record:
    """One record behind a problem: what the page links to and the columns beside the link."""

    model: str  # "account", "contact", "program", "opportunity" or "touchpoint"
    pk: int
    label: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    """Records whose names differ at most in case and surrounding spaces."""

    name: str
    size: int
    records: tuple[Record, ...]

    @property
    def more(self) -> int:
        return self.size - len(self.records)


@dataclass(frozen=True)
class Finding:
    """The outcome of one check."""

    key: str
    count: int
    records: tuple[Record, ...] = ()
    groups: tuple[Group, ...] = ()
    # A second figure a check reports beside its count: all unowned accounts, accounts in
    # duplicate groups.
    also: int | None = None

    @property
    def ok(self) -> bool:
        return self.count == 0

    @property
    def more(self) -> int:
        return max(self.count - len(self.groups or self.records), 0)


def _finding(
    key: str,
    *,
    matches: QuerySet,
    to_record: Callable[[Model], Record],
    listed: QuerySet | None = None,
) -> Finding:
    """List the first RECORDS_SHOWN of `listed` (`matches` with the joins the list needs), and
    count `matches` only when the list is full: a clean check, or one with a short list, costs
    one query, which matters for the checks that must read every touchpoint."""
    records = tuple(to_record(row) for row in (listed if listed is not None else matches)[:RECORDS_SHOWN])
    count = matches.count() if len(records) == RECORDS_SHOWN else len(records)
    return Finding(key=key, count=count, records=records)


def _account_record(account: Account) -> Record:
    details = (account.domain or "–", account.get_tier_display() if account.tier else "–")
    return Record(model="account", pk=account.pk, label=account.name, details=details)


def _contact_record(contact: Contact) -> Record:
    return Record(
        model="contact", pk=contact.pk, label=str(contact), details=(contact.email or "–", contact.title or "–")
    )


def _touchpoint_record(touch: Touchpoint) -> Record:
    contact = touch.contact
    contact_at = ""
    if contact is not None:
        contact_at = contact.account.name if contact.account_id else "no account"
    return Record(
        model="touchpoint",
        pk=touch.pk,
        label=f"{touch.get_kind_display()} · {touch.occurred_at:%Y-%m-%d %H:%M}",
        details=(touch.account.name, str(contact) if contact else "–", contact_at or "–", touch.source),
    )


# ---------------------------------------------------------------------------- contacts


def unmatched_contacts() -> Finding:
    """Contacts matched to no account: left out of every account metric."""
    # Contact.account's foreign-key index holds the NULLs too, so only the unmatched rows are read.
    return _finding(
        "unmatched_contacts",
        matches=Contact.objects.filter(account__isnull=True).order_by("email", "pk"),
        to_record=_contact_record,
    )


# ---------------------------------------------------------------------------- accounts


def unowned_target_accounts() -> Finding:
    """Target accounts with no owner; `also` counts unowned accounts of every kind."""
    # Both counts in one query over the NULL-owner entries of the owner indexes.
    unowned = Account.objects.filter(owner__isnull=True)
    counts = unowned.aggregate(all=Count("pk"), targets=Count("pk", filter=Q(is_target=True)))
    if not counts["targets"]:
        return Finding(key="unowned_target_accounts", count=0, also=counts["all"])
    rows = unowned.filter(is_target=True).order_by("name", "pk")[:RECORDS_SHOWN]
    return Finding(
        key="unowned_target_accounts",
        count=counts["targets"],
        records=tuple(_account_record(a) for a in rows),
        also=counts["all"],
    )


def target_accounts_without_contacts() -> Finding:
    """Target accounts nobody at which is known."""
    # An anti-join: one probe of Contact.account's index per target account (is_target index).
    has_contacts = Exists(Contact.objects.filter(account=OuterRef("pk")))
    return _finding(
        "target_accounts_without_contacts",
        matches=Account.objects.filter(is_target=True).filter(~has_contacts).order_by("name", "pk"),
        to_record=_account_record,
    )


def target_accounts_without_required_role(*, required_roles: Iterable[str]) -> Finding:
    """Target accounts that have contacts, none of them in a required buying-committee role.

    Accounts with no contacts at all are target_accounts_without_contacts' records, not repeated
    here: their fix is a different file. With no required roles configured nothing is missing
    (as in metrics.families.coverage).
    """
    required = list(required_roles)
    if not required:
        return Finding(key="target_accounts_without_required_role", count=0)
    # Two probes of Contact.account's index per target account. Opted-out contacts still count:
    # coverage counts them too (we know who holds the role).
    contacts = Contact.objects.filter(account=OuterRef("pk"))
    matches = (
        Account.objects.filter(is_target=True)
        .filter(Exists(contacts))
        .filter(~Exists(contacts.filter(role__in=required)))
        .order_by("name", "pk")
    )
    return _finding("target_accounts_without_required_role", matches=matches, to_record=_account_record)


def free_mail_accounts() -> Finding:
    """Accounts whose domain is a free-mail provider's."""
    # The unique index on domain: one probe per listed provider.
    matches = Account.objects.filter(domain__in=FREE_MAIL_DOMAINS).order_by("domain")

    def to_record(account: Account) -> Record:
        return Record(
            model="account",
            pk=account.pk,
            label=account.name,
            details=(account.domain, f"{account.n_contacts} contact{pluralize(account.n_contacts)} matched to it"),
        )

    return _finding(
        "free_mail_accounts",
        matches=matches,
        listed=matches.annotate(n_contacts=Count("contacts")),
        to_record=to_record,
    )


def _duplicate_names(
    key: str, *, model: type[Account] | type[Program], to_record: Callable[[Model], Record]
) -> Finding:
    """Groups of `model` rows whose names are equal ignoring case and surrounding spaces."""
    # No index on lower(trim(name)): listing the groups scans and hash-aggregates the table's names
    # (0.2 s at 100,000 accounts on a busy two-core machine), and so do the totals past a full
    # list; programs are few.
    named = model.objects.annotate(key=Lower(Trim("name")))
    groups = named.order_by().values("key").annotate(size=Count("pk")).filter(size__gt=1)
    shown = list(groups.order_by("key")[:RECORDS_SHOWN])
    if not shown:
        return Finding(key=key, count=0)
    if len(shown) < RECORDS_SHOWN:
        totals = {"groups": len(shown), "records": sum(g["size"] for g in shown)}
    else:
        totals = groups.aggregate(groups=Count("key"), records=Sum("size"))
    members = (
        named.filter(key__in=[g["key"] for g in shown])
        .annotate(place=Window(RowNumber(), partition_by=F("key"), order_by=F("pk").asc()))
        .filter(place__lte=GROUP_MEMBERS_SHOWN)
        .order_by("key", "pk")
    )
    by_key: dict[str, list[Record]] = {g["key"]: [] for g in shown}
    for row in members:
        by_key[row.key].append(to_record(row))
    return Finding(
        key=key,
        count=totals["groups"],
        groups=tuple(Group(name=g["key"], size=g["size"], records=tuple(by_key[g["key"]])) for g in shown),
        also=totals["records"],
    )


def duplicate_accounts() -> Finding:
    """Accounts that look like one company stored twice: the same name in any case."""

    def to_record(account: Account) -> Record:
        return Record(
            model="account",
            pk=account.pk,
            label=account.name,
            details=(account.domain or "no domain", account.external_id or "no CRM id"),
        )

    return _duplicate_names("duplicate_accounts", model=Account, to_record=to_record)


# ---------------------------------------------------------------------------- programs


def duplicate_programs() -> Finding:
    """Programs with the same name in any case."""

    def to_record(program: Program) -> Record:
        return Record(
            model="program",
            pk=program.pk,
            label=program.name,
            details=(program.get_channel_display(), program.external_id or "no external id"),
        )

    return _duplicate_names("duplicate_programs", model=Program, to_record=to_record)


# ---------------------------------------------------------------------------- touchpoints


def future_touchpoints(*, today: dt.date) -> Finding:
    """Touchpoints dated after the end of `today` (UTC)."""
    # A sequential scan, accepted: no index leads with occurred_at (the three lead with account,
    # program and contact, and one more would slow every bulk load), so the list is one parallel
    # sequential scan of the touchpoints (and the count, needed only past a full list, another).
    tomorrow = day_start(today + dt.timedelta(days=1))
    matches = Touchpoint.objects.filter(occurred_at__gte=tomorrow)
    return _finding(
        "future_touchpoints",
        matches=matches,
        listed=matches.select_related("account", "contact__account").order_by("-occurred_at", "pk"),
        to_record=_touchpoint_record,
    )


def touchpoints_at_another_account() -> Finding:
    """Touchpoints whose contact is stored at another account (or at none)."""
    # Joined via the contact (touchpoint.contact_id = contact.id). Every touch with a contact must
    # be compared with its contact and no index holds a touch's contact and account together, so
    # this is the page's heaviest query: a parallel hash join of those touches with the contacts
    # (about 5 CPU-seconds at 10 million touches). Both of its queries need every match (the list
    # is sorted, the count is not LIMITed), and that keeps PostgreSQL on the hash join. Never ask
    # for "any 50" or count through a LIMIT: PostgreSQL estimates that almost every touch matches,
    # expects to stop early and picks a nested loop over all contacts (18 s instead of 7 s).
    matches = Touchpoint.objects.filter(contact__isnull=False).filter(
        Q(contact__account__isnull=True) | ~Q(contact__account=F("account"))
    )
    return _finding(
        "touchpoints_at_another_account",
        matches=matches,
        listed=matches.select_related("account", "contact__account").order_by("-occurred_at", "pk"),
        to_record=_touchpoint_record,
    )


# ---------------------------------------------------------------------------- opportunities


def opportunities_without_amount() -> Finding:
    """Opportunities with amount 0: they add nothing to pipeline, revenue or contract value.

    (A closed opportunity without a close date cannot be stored: the opportunity_closed_has_date
    constraint rejects it, so there is no check for it.)
    """
    # No index on amount: a scan of the opportunities, about 1.4 per account.
    matches = Opportunity.objects.filter(amount=0)

    def to_record(opportunity: Opportunity) -> Record:
        state = "Won" if opportunity.is_won else "Lost" if opportunity.is_closed else "Open"
        return Record(
            model="opportunity",
            pk=opportunity.pk,
            label=opportunity.name,
            details=(opportunity.account.name, opportunity.stage or "–", state),
        )

    return _finding(
        "opportunities_without_amount",
        matches=matches,
        listed=matches.select_related("account").order_by("-created_at", "pk"),
        to_record=to_record,
    )


# ---------------------------------------------------------------------------- the page


# The two touchpoint checks read every touch (seconds at 10 million): their findings are kept this
# long, and recomputed at once when touches are added or contacts change (the key below).
TOUCH_CHECKS_SECONDS = 600


def _touch_checks(*, today: dt.date) -> tuple[Finding, Finding]:
    """The two full-scan checks, from the cache while no touch was added and no contact changed."""
    marks = (Touchpoint.objects.aggregate(last=Max("id"))["last"],
             Contact.objects.aggregate(changed=Max("updated_at"))["changed"])
    key = f"quality:touch-checks:{today.isoformat()}:{marks[0]}:{marks[1].timestamp() if marks[1] else 0}"
    found = cache.get(key)
    if found is None:
        found = (future_touchpoints(today=today), touchpoints_at_another_account())
        cache.set(key, found, timeout=TOUCH_CHECKS_SECONDS)
    return found


def data_quality_findings(*, today: dt.date, required_roles: Iterable[str]) -> list[Finding]:
    """Every check, in the order the page explains them."""
    future, elsewhere = _touch_checks(today=today)
    return [
        unmatched_contacts(),
        unowned_target_accounts(),
        target_accounts_without_contacts(),
        target_accounts_without_required_role(required_roles=required_roles),
        free_mail_accounts(),
        duplicate_accounts(),
        duplicate_programs(),
        future,
        elsewhere,
        opportunities_without_amount(),
    ]
