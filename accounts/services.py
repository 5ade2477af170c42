"""Writes and the normalisation rules every write path shares (import, API, demo data, admin)."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from accounts.models import (
    Account,
    Channel,
    Contact,
    Opportunity,
    OpportunityType,
    PicklistSynonym,
    Program,
    Role,
    Seniority,
    TouchpointKind,
    resolve_seniority,
)
from accounts.picklists import OUTCOMES as STAGE_OUTCOMES
from accounts.picklists import Picklists, picklist_key
from accounts.roles import SALES


def normalise_domain(value: str | None) -> str | None:
    """`https://www.Example.com/about` → `example.com`; blank → None."""
    value = (value or "").strip().lower()
    if not value:
        return None
    if "://" not in value:
        value = "//" + value
    host = urlsplit(value).hostname or ""
    host = host.strip(".")
    if host.startswith("www."):
        host = host[4:]
    return host or None


def normalise_email(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value or None


def email_domain(email: str | None) -> str | None:
    email = normalise_email(email)
    if not email or "@" not in email:
        return None
    return normalise_domain(email.rsplit("@", 1)[1])


# --- Validation and writes shared by the CSV import and the API -------------------------------
# Both paths hand these functions typed values (the import parses CSV text, DRF parses JSON);
# the rules below are the only place a record's shape is checked.

@dataclass(frozen=True)
class Problem:
    """One reason a record cannot be written; `field` is our field name (the import maps it back to its column)."""

    field: str
    reason: str


class InvalidRecord(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.reason}" for p in problems))
        self.problems = problems


# A host name with at least one dot and a letter-led top-level label (rejects hashes, "n/a", IPs).
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_SOURCE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,49}$")
_MAX_INT = 2_147_483_647
# The earliest date any record may carry. B2B marketing and sales data does not reach further back;
# an earlier date is a parsing accident (0001-01-01 placeholders, two-digit years, a swapped format).
EARLIEST_DATE = _dt.datetime(1990, 1, 1, tzinfo=_dt.UTC)
# A touch has already happened; one day ahead covers every time zone's "today" and clock skew.
TOUCH_FUTURE_SLACK = _dt.timedelta(days=1)


def _too_early(value: _dt.date) -> str:
    if isinstance(value, _dt.datetime):
        try:
            value = value.astimezone(_dt.UTC)
        except OverflowError:  # year 1 with a positive offset: its own date says enough
            pass
        value = value.date()
    return f"{value.isoformat()} is before {EARLIEST_DATE.date().isoformat()}; check the date format"


def _choice(value: str, choices: type, field: str, problems: list[Problem]) -> str:
    """Accept a choice by value or label, case-insensitively, spaces or dashes for underscores."""
    key = re.sub(r"[\s-]+", "_", value.strip().lower())
    for choice_value, label in choices.choices:
        if key in (choice_value, re.sub(r"[\s-]+", "_", str(label).lower())):
            return choice_value
    problems.append(Problem(field, f"{value!r} is not one of: {', '.join(choices.values)}"))
    return value


class _Checker:
    """Collects every problem of one record instead of stopping at the first."""

    def __init__(self, data: Mapping[str, Any], *, partial: bool) -> None:
        self.data = data
        self.partial = partial
        self.problems: list[Problem] = []
        self.out: dict[str, Any] = {}

    def has(self, field: str) -> bool:
        return field in self.data

    def text(self, field: str, max_length: int, *, required: bool = False, null: bool = False) -> None:
        if not self.has(field):
            if required and not self.partial:
                self.problems.append(Problem(field, "is required"))
            return
        value = self.data[field]
        value = "" if value is None else str(value).strip()
        if required and not value:
            self.problems.append(Problem(field, "is required"))
        elif len(value) > max_length:
            self.problems.append(Problem(field, f"is longer than {max_length} characters"))
        self.out[field] = (value or None) if null else value

    def number(self, field: str, *, minimum: Decimal | int | None = 0, maximum: Decimal | int | None = None,
               integer: bool = False, places: int | None = None) -> None:
        if not self.has(field):
            return
        value = self.data[field]
        if value is None or value == "":
            self.out[field] = None
            return
        try:
            number = int(value) if integer else Decimal(str(value))
        except (ValueError, ArithmeticError):
            self.problems.append(Problem(field, f"{value!r} is not a number"))
            return
        if integer and isinstance(value, Decimal | float) and value != int(value):
            self.problems.append(Problem(field, f"{value!r} is not a whole number"))
            return
        if not integer and not number.is_finite():
            self.problems.append(Problem(field, f"{value!r} is not a number"))
            return
        if minimum is not None and number < minimum:
            self.problems.append(Problem(field, f"must be at least {minimum}"))
        elif maximum is not None and number > maximum:
            self.problems.append(Problem(field, f"must be at most {maximum}"))
        elif places is not None:
            number = number.quantize(Decimal(1).scaleb(-places))
        self.out[field] = number

    def flag(self, field: str) -> None:
        if self.has(field):
            value = self.data[field]
            if value is None:
                value = False
            if not isinstance(value, bool):
                self.problems.append(Problem(field, f"{value!r} is not true or false"))
            self.out[field] = value

    def moment(self, field: str, *, required: bool = False) -> None:
        if not self.has(field) or self.data[field] is None:
            if required and (not self.partial or self.has(field)):
                self.problems.append(Problem(field, "is required"))
            elif self.has(field):
                self.out[field] = None
            return
        value = self.data[field]
        if not isinstance(value, _dt.datetime) or value.tzinfo is None:
            self.problems.append(Problem(field, "must be a date-time with a time zone"))
            return
        # Compared before converting: at the ends of the calendar an offset overflows astimezone().
        if value < EARLIEST_DATE:
            self.problems.append(Problem(field, _too_early(value)))
        else:
            try:
                value = value.astimezone(_dt.UTC)
            except OverflowError:  # 9999-12-31 with a negative offset
                self.problems.append(Problem(field, "is after 9999-12-31 in UTC"))
        self.out[field] = value

    def day(self, field: str) -> None:
        if self.has(field):
            value = self.data[field]
            if isinstance(value, _dt.datetime):
                value = value.date()
            if value is not None and not isinstance(value, _dt.date):
                self.problems.append(Problem(field, f"{value!r} is not a date"))
            elif value is not None and value < EARLIEST_DATE.date():
                self.problems.append(Problem(field, _too_early(value)))
            self.out[field] = value

    def done(self) -> dict[str, Any]:
        if self.problems:
            raise InvalidRecord(self.problems)
        return self.out


def validate_domain(value: str | None) -> str | None:
    """Normalise a web address to its domain; raise ValueError when it is not one."""
    domain = normalise_domain(value)
    if domain is not None and not _DOMAIN_RE.match(domain):
        raise ValueError(f"{value!r} is not a web address or domain")
    return domain


def account_clean(*, data: Mapping[str, Any], partial: bool = False) -> dict[str, Any]:
    """Check and normalise an account's own fields (owner and segments are resolved by the caller)."""
    c = _Checker(data, partial=partial)
    c.text("name", 255, required=True)
    if c.has("domain"):
        try:
            c.out["domain"] = validate_domain(data["domain"])
        except ValueError as exc:
            c.problems.append(Problem("domain", str(exc)))
    c.text("industry", 100)
    c.number("employees", integer=True, maximum=_MAX_INT)
    c.number("annual_revenue", maximum=Decimal("1e16") - 1, places=2)
    c.text("country", 100)
    if c.has("tier"):
        tier = data["tier"]
        if tier in (None, ""):
            c.out["tier"] = None
        elif str(tier).strip().lower().removeprefix("tier").strip() in ("1", "2", "3"):
            c.out["tier"] = int(str(tier).strip().lower().removeprefix("tier").strip())
        else:
            c.problems.append(Problem("tier", f"{tier!r} is not 1, 2 or 3"))
    c.flag("is_target")
    c.text("external_id", 100, null=True)
    return c.done()


def contact_clean(*, data: Mapping[str, Any], partial: bool = False,
                  picklists: Picklists | None = None) -> dict[str, Any]:
    """Check and normalise a contact's own fields; `seniority_level` is set by the writers.

    A role may be ours or a CRM picklist label (accounts.picklists); `picklists` is loaded once
    per import, or here when not given.
    """
    c = _Checker(data, partial=partial)
    if c.has("email"):
        email = normalise_email(data["email"])
        if email is not None:
            try:
                validate_email(email)
            except ValidationError:
                c.problems.append(Problem("email", f"{data['email']!r} is not an email address"))
        c.out["email"] = email
    c.text("first_name", 100)
    c.text("last_name", 100)
    c.text("title", 255)
    c.text("department", 100)
    c.text("phone", 50)
    if c.has("role"):
        value = str(data["role"] or "").strip()
        c.out["role"] = ""
        if value:
            picklists = picklists or Picklists.load()
            role = picklists.role(value)
            if role is None:
                c.problems.append(Problem("role", f"{value!r} is not one of: {picklists.accepted_roles()}"))
            c.out["role"] = role or value
    if c.has("seniority"):
        value = str(data["seniority"] or "").strip()
        c.out["seniority"] = _choice(value, Seniority, "seniority", c.problems) if value else ""
    c.flag("opted_out")
    c.text("external_id", 100, null=True)
    if not partial and not c.out.get("email") and not c.out.get("external_id"):
        c.problems.append(Problem("email", "a contact needs an email or an external_id"))
    return c.done()


def program_clean(*, data: Mapping[str, Any], partial: bool = False) -> dict[str, Any]:
    c = _Checker(data, partial=partial)
    c.text("name", 255, required=True)
    if c.has("channel") or not partial:
        value = str(data.get("channel") or "").strip()
        if not value:
            c.problems.append(Problem("channel", "is required"))
        else:
            c.out["channel"] = _choice(value, Channel, "channel", c.problems)
    c.day("start_date")
    c.day("end_date")
    start, end = c.out.get("start_date"), c.out.get("end_date")
    if start and end and end < start:
        c.problems.append(Problem("end_date", "is before start_date"))
    c.number("cost", maximum=Decimal("1e12") - 1, places=2)
    if c.out.get("cost", 0) is None:
        c.out["cost"] = Decimal("0.00")
    if c.has("success_kinds"):
        kinds = data["success_kinds"] or []
        if isinstance(kinds, str) or not all(isinstance(k, str) for k in kinds):
            c.problems.append(Problem("success_kinds", "must be a list of touchpoint kinds"))
        else:
            c.out["success_kinds"] = [_choice(k, TouchpointKind, "success_kinds", c.problems) for k in kinds]
    c.text("external_id", 100, null=True)
    return c.done()


def stage_outcome(stage: str | None, picklists: Picklists | None = None) -> str:
    """'won', 'lost' or 'open' from a stage name: Closed Won, Closed/Won, closedwon → won, and so on
    (accounts.picklists, with the admin's stage synonyms)."""
    return (picklists or Picklists.load()).stage_outcome(stage)


def picklist_synonym_clean(*, data: Mapping[str, Any]) -> dict[str, Any]:
    """A picklist synonym as the admin saves it: its match key, and a value its field accepts."""
    kind = data.get("field")
    label = str(data.get("label") or "").strip()
    value = str(data.get("value") or "").strip().lower()
    problems = []
    if not picklist_key(label):
        problems.append(Problem("label", "needs at least one letter or digit"))
    allowed = Role.values if kind == PicklistSynonym.Field.ROLE else list(STAGE_OUTCOMES)
    if value not in allowed:
        problems.append(Problem("value", f"{value!r} is not one of: {', '.join(allowed)}"))
    if problems:
        raise InvalidRecord(problems)
    return {"field": kind, "label": label, "key": picklist_key(label), "value": value}


def opportunity_clean(*, data: Mapping[str, Any], partial: bool = False,
                      picklists: Picklists | None = None) -> dict[str, Any]:
    """is_closed / is_won default from the stage name when the source leaves them out."""
    c = _Checker(data, partial=partial)
    c.text("name", 255, required=True)
    c.number("amount", maximum=Decimal("1e14") - 1, places=2)
    if c.out.get("amount", 0) is None:
        c.out["amount"] = Decimal("0.00")
    if c.has("currency"):
        currency = str(data["currency"] or "USD").strip().upper() or "USD"
        if not _CURRENCY_RE.match(currency):
            c.problems.append(Problem("currency", f"{data['currency']!r} is not a 3-letter currency code"))
        c.out["currency"] = currency
    c.text("stage", 100)
    if c.has("type"):
        value = str(data["type"] or "").strip()
        c.out["type"] = _choice(value, OpportunityType, "type", c.problems) if value else OpportunityType.NEW
    c.moment("created_at", required=True)
    c.moment("closed_at")
    created, closed = c.out.get("created_at"), c.out.get("closed_at")
    # A day of slack: close dates are days (Salesforce's CloseDate is midnight), so a deal created
    # at 14:00 and closed the same day has closed_at a few hours before created_at.
    if (created and closed and created - closed >= _dt.timedelta(days=1)
            and not any(p.field in ("created_at", "closed_at") for p in c.problems)):
        c.problems.append(Problem(
            "closed_at", f"closed_at {closed.date().isoformat()} is before created_at {created.date().isoformat()}"))
    outcome = stage_outcome(c.out.get("stage"), picklists) if "stage" in c.out else "open"
    if c.has("is_closed") and data["is_closed"] is not None:
        c.flag("is_closed")
    elif "stage" in c.out:
        c.out["is_closed"] = outcome != "open"
    if c.has("is_won") and data["is_won"] is not None:
        c.flag("is_won")
    elif "stage" in c.out:
        c.out["is_won"] = outcome == "won"
    if c.out.get("is_won") and c.out.get("is_closed") is False:
        c.problems.append(Problem("is_won", "a won opportunity must be closed"))
    if c.out.get("is_won") and "is_closed" not in c.out:
        c.out["is_closed"] = True
    if c.out.get("is_closed") and not c.out.get("closed_at") and (not partial or "closed_at" in c.out):
        c.problems.append(Problem("closed_at", "is required for a closed opportunity"))
    c.text("external_id", 100, null=True)
    return c.done()


_TOUCHPOINT_KINDS = frozenset(TouchpointKind.values)
_MINUTES_MAX = Decimal("999999.99")
_CENTS = Decimal("0.01")


def touchpoint_clean(*, data: Mapping[str, Any]) -> dict[str, Any]:
    """A touchpoint's own fields; account / contact / program are resolved by the caller.

    Written without _Checker because imports call it for every one of millions of rows.
    """
    problems: list[Problem] = []
    kind = str(data.get("kind") or "").strip()
    if kind not in _TOUCHPOINT_KINDS:
        if not kind:
            problems.append(Problem("kind", "is required"))
        else:
            kind = _choice(kind, TouchpointKind, "kind", problems)
    occurred_at = data.get("occurred_at")
    if occurred_at is None:
        problems.append(Problem("occurred_at", "is required"))
    elif not isinstance(occurred_at, _dt.datetime) or occurred_at.tzinfo is None:
        problems.append(Problem("occurred_at", "must be a date-time with a time zone"))
    # The range is checked before converting: at the ends of the calendar astimezone() overflows.
    elif occurred_at < EARLIEST_DATE:
        problems.append(Problem("occurred_at", _too_early(occurred_at)))
    elif occurred_at > _dt.datetime.now(_dt.UTC) + TOUCH_FUTURE_SLACK:
        problems.append(Problem("occurred_at", f"is more than a day in the future ({occurred_at.date().isoformat()}); "
                                               "check the date format or time zone"))
    elif occurred_at.utcoffset():
        occurred_at = occurred_at.astimezone(_dt.UTC)
    minutes = data.get("minutes")
    if minutes is not None:
        try:
            minutes = Decimal(str(minutes)) if not isinstance(minutes, Decimal) else minutes
            if not minutes.is_finite() or not 0 <= minutes <= _MINUTES_MAX:
                problems.append(Problem("minutes", "must be between 0 and 999999.99"))
            else:
                minutes = minutes.quantize(_CENTS)
        except ArithmeticError:
            problems.append(Problem("minutes", f"{minutes!r} is not a number"))
    score = data.get("score")
    if score is not None:
        low, high = (0, 10) if kind == TouchpointKind.NPS_RESPONSE else (-32768, 32767)
        if not isinstance(score, int) or isinstance(score, bool):
            problems.append(Problem("score", f"{score!r} is not a whole number"))
        elif not low <= score <= high:
            problems.append(Problem("score", f"must be between {low} and {high}"))
    source = str(data.get("source") or "").strip().lower()
    if not _SOURCE_RE.match(source):
        problems.append(Problem("source", "is required: lower-case letters, digits, '_', '.', '-' (≤ 50)"))
    external_id = str(data.get("external_id") or "").strip()
    if not external_id:
        problems.append(Problem("external_id", "is required"))
    elif len(external_id) > 150:
        problems.append(Problem("external_id", "is longer than 150 characters"))
    if problems:
        raise InvalidRecord(problems)
    return {"kind": kind, "occurred_at": occurred_at, "minutes": minutes, "score": score, "source": source,
            "external_id": external_id}


def csv_safe(value: Any) -> Any:
    """A cell for a CSV export: text starting with = + - @ (or tab / CR) gets a leading quote so a
    spreadsheet shows it instead of running it as a formula (OWASP CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def owner_for_email(*, email: str | None, create: bool = True) -> tuple[User | None, bool]:
    """The user an owner email names; a missing one becomes an inactive sales user (an admin
    activates it). Returns (user, created)."""
    email = normalise_email(email)
    if email is None:
        return None, False
    validate_email(email)
    user = User.objects.filter(email__iexact=email).order_by("id").first()
    if user is not None or not create:
        return user, False
    user = User.objects.create_user(username=email[:150], email=email, is_active=False)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=SALES))
    return user, True


def account_for_email(email: str | None) -> Account | None:
    """The account whose domain is the email's domain (a contact without an account is matched so)."""
    domain = email_domain(email)
    return Account.objects.filter(domain=domain).first() if domain else None


def _apply(instance: Any, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        setattr(instance, name, value)


def _unique(model: type, instance: Any, fields: tuple[str, ...]) -> None:
    """The import checks these for a whole file at once; single writes (the API) check here."""
    problems = []
    for name in fields:
        value = getattr(instance, name)
        if value is not None and model.objects.filter(**{name: value}).exclude(pk=instance.pk).exists():
            problems.append(Problem(name, f"{value} already belongs to another {model._meta.verbose_name}"))
    if problems:
        raise InvalidRecord(problems)


def account_save(*, account: Account | None, data: Mapping[str, Any], owner: User | None = None,
                 set_owner: bool = False) -> Account:
    """Create (account=None) or update one account from account_clean()'s output."""
    account = account or Account()
    _apply(account, data)
    if set_owner:
        account.owner = owner
    _unique(Account, account, ("domain", "external_id"))
    account.save()
    return account


def contact_save(*, contact: Contact | None, data: Mapping[str, Any], account: Account | None = None,
                 set_account: bool = False) -> Contact:
    """Create or update one contact. A new contact given no account is matched by its email's
    domain (as the import does); seniority_level always follows seniority / title."""
    creating = contact is None
    contact = contact or Contact()
    _apply(contact, data)
    if set_account:
        contact.account = account
    if creating and not set_account:
        contact.account = account_for_email(contact.email)
    contact.seniority_level = resolve_seniority(seniority=contact.seniority, title=contact.title)
    if not contact.email and not contact.external_id:
        raise InvalidRecord([Problem("email", "a contact needs an email or an external_id")])
    _unique(Contact, contact, ("email", "external_id"))
    contact.save()
    return contact


def program_save(*, program: Program | None, data: Mapping[str, Any]) -> Program:
    program = program or Program()
    _apply(program, data)
    if program.start_date and program.end_date and program.end_date < program.start_date:
        raise InvalidRecord([Problem("end_date", "is before start_date")])
    _unique(Program, program, ("external_id",))
    program.save()
    return program


def opportunity_save(*, opportunity: Opportunity | None, data: Mapping[str, Any],
                     account: Account | None = None) -> Opportunity:
    """is_closed / is_won / closed_at are checked on the merged record (a PATCH may change one)."""
    opportunity = opportunity or Opportunity()
    _apply(opportunity, data)
    if account is not None:
        opportunity.account = account
    if opportunity.is_won and not opportunity.is_closed:
        raise InvalidRecord([Problem("is_won", "a won opportunity must be closed")])
    if opportunity.is_closed and opportunity.closed_at is None:
        raise InvalidRecord([Problem("closed_at", "is required for a closed opportunity")])
    _unique(Opportunity, opportunity, ("external_id",))
    opportunity.save()
    return opportunity


# --- Target accounts -----------------------------------------------------------------------------
# CRM exports carry no target flag: marketing ops marks a whole filtered set of accounts at once.

from itertools import islice  # noqa: E402

from django.db import transaction  # noqa: E402
from django.db.models import QuerySet  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Segment, Tier  # noqa: E402

# Accounts read and memberships inserted per round trip when adding a large set to a segment.
TARGET_BATCH = 5_000
_SEGMENT_NAME_MAX = Segment._meta.get_field("name").max_length


def _ids(accounts: QuerySet[Account]) -> QuerySet[Account]:
    """The accounts' ids as a subquery, so the database selects them (never a Python list of 100,000)."""
    return accounts.order_by().values("pk")


def _segment_add(*, name: str, accounts: QuerySet[Account]) -> None:
    """Put `accounts` in the segment `name`, creating it when missing; existing members stay once."""
    segment, _ = Segment.objects.get_or_create(name=name)
    membership = Segment.accounts.through
    ids = accounts.order_by().values_list("pk", flat=True).iterator(chunk_size=TARGET_BATCH)
    while batch := list(islice(ids, TARGET_BATCH)):
        membership.objects.bulk_create(
            [membership(segment_id=segment.pk, account_id=pk) for pk in batch], ignore_conflicts=True
        )


def account_targets_mark(*, accounts: QuerySet[Account], tier: int | None = None, segment: str | None = None) -> int:
    """Make `accounts` target accounts; returns how many were not targets before.

    `tier` (1, 2 or 3) is set on all of them, None leaves each one's stored tier alone; `segment`
    names a segment (created when missing) they all join. One transaction; a fixed number of
    queries, plus one batch of membership inserts per TARGET_BATCH accounts when a segment is given.
    """
    problems = []
    if tier is not None and (isinstance(tier, bool) or tier not in Tier.values):
        problems.append(Problem("tier", f"{tier!r} is not 1, 2 or 3"))
    name = (segment or "").strip()
    if len(name) > _SEGMENT_NAME_MAX:
        problems.append(Problem("segment", f"is longer than {_SEGMENT_NAME_MAX} characters"))
    if problems:
        raise InvalidRecord(problems)
    ids = _ids(accounts)
    changes: dict[str, Any] = {"is_target": True, "updated_at": timezone.now()}  # update() skips auto_now
    if tier is not None:
        changes["tier"] = tier
    with transaction.atomic():
        # Counted and added to the segment before the UPDATE: `accounts` may filter on is_target
        # or tier, and would select other accounts once those change. The UPDATE itself is one
        # statement, so its subquery sees the accounts as they were.
        newly = Account.objects.filter(pk__in=ids, is_target=False).count()
        if name:
            _segment_add(name=name, accounts=accounts)
        Account.objects.filter(pk__in=ids).update(**changes)
    return newly


def account_targets_unmark(*, accounts: QuerySet[Account]) -> int:
    """Undo a mark: `accounts` stop being target accounts; returns how many were targets.

    Tiers and segment memberships stay as they are (a segment is edited or deleted in the admin).
    """
    return Account.objects.filter(pk__in=_ids(accounts), is_target=True).update(
        is_target=False, updated_at=timezone.now()
    )
