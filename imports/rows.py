"""Rows: CSV text → typed values → accounts.services.*_clean, and the account references they name."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from accounts import references
from accounts import services as rules
from accounts.models import Account
from accounts.references import AccountKey
from imports import parsing, presets

if TYPE_CHECKING:
    from imports.services import ImportRun


class RowProblems(Exception):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(problems)
        self.problems = problems  # (field, reason)


class EmailCache:
    """Touchpoint files repeat the same few thousand contacts' emails: validate each once."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self.known: dict[str, str | None] = {}

    def check(self, value: str) -> str | None:
        if value in self.known:
            return self.known[value]
        email = rules.normalise_email(value)
        try:
            validate_email(email)
        except ValidationError:
            email = None
        if len(self.known) < self.size:
            self.known[value] = email
        return email


# --- row parsers: CSV text → typed values → accounts.services.*_clean ---------------------------

def _typed(job: ImportRun, raw: dict[str, str], spec: dict[str, Callable[[str], Any]]) -> tuple[dict[str, Any], list]:
    """Each field of `spec` that the row has, converted (numbers times the user's multiplier)."""
    data: dict[str, Any] = {}
    # A NUL byte (\x00) is a row error here, never a database error later.
    problems: list[tuple[str, str]] = [(name, parsing.NUL_REASON) for name, value in raw.items() if "\x00" in value]
    for name, convert in spec.items():
        if name in raw and "\x00" not in raw[name]:
            try:
                data[name] = job.scaled(name, convert(raw[name]))
            except ValueError as exc:
                problems.append((name, str(exc)))
    return data, problems


def _clean(fn: Callable[..., dict[str, Any]], data: dict[str, Any], problems: list, **options: Any) -> dict[str, Any]:
    try:
        clean = fn(data=data, **options)
    except rules.InvalidRecord as exc:
        problems += [(p.field, p.reason) for p in exc.problems if p.field not in {f for f, _ in problems}]
        raise RowProblems(problems) from exc
    if problems:
        raise RowProblems(problems)
    return clean


def _text(value: str) -> str:
    return value.strip()


def _amount(value: str) -> Decimal | None:
    return parsing.parse_amount(value)[0]


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def _employees(value: str) -> Decimal | None:
    # A number first, so that a multiplier applies; whole once multiplied (_parse_account).
    try:
        return parsing.parse_amount(value)[0]
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a whole number") from exc


def _parse_account(job: ImportRun, raw: dict[str, str]) -> dict[str, Any]:
    data, problems = _typed(job, raw, {
        "external_id": _text, "name": _text, "domain": _text, "industry": _text, "employees": _employees,
        "annual_revenue": _amount, "country": _text, "tier": _text, "is_target": parsing.parse_bool,
    })
    if data.get("is_target") is None:
        data.pop("is_target", None)
    employees = data.get("employees")
    if employees is not None:
        if employees == employees.to_integral_value():
            data["employees"] = int(employees)
        else:
            problems.append(("employees", f"{raw['employees']!r} is not a whole number"))
            del data["employees"]
    if job.preset != "native" and data.get("domain"):
        # A CRM's Website is free text; when it is no usable domain the account is kept without one
        # (reported as a warning) rather than rejecting the file. A native `domain` column must be right.
        try:
            rules.validate_domain(data["domain"])
        except ValueError as exc:
            job.warn(job.line, "domain", f"{exc}; stored without a domain")
            data["domain"] = None
        if job.line in job.dropped_domains:
            data["domain"] = None
    clean = _clean(rules.account_clean, data, problems)
    owner = rules.normalise_email(raw.get("owner_email"))
    if owner is not None:
        try:
            validate_email(owner)
        except ValidationError as exc:
            raise RowProblems([("owner_email", f"{raw['owner_email']!r} is not an email address")]) from exc
    return {"fields": clean, "owner_email": owner, "owner_given": "owner_email" in raw,
            "segments": _split(raw.get("segments", ""))}


def _account_of(job: ImportRun, raw: dict[str, str], kind: str) -> tuple[AccountKey | None, str]:
    """How the row names its account — (key, field), the first of id, domain, name it gives —
    or (None, the first account field the file maps). A Salesforce CLI `@AccountRefN` needs the
    data plan to mean anything."""
    account_ref = raw.get("account_external_id", "").strip()
    if account_ref.startswith("@") and job.refs.plan is None:
        raise parsing.FileRejected(
            f"Column {job.column('account_external_id')!r} holds Salesforce CLI data-plan references "
            f"({account_ref}) instead of account Ids. Import it from the command line with "
            "--data-plan PATH/TO/…-data-plan.json (the plan's Account records resolve @AccountRefN to the N-th "
            f"account), or export the {kind} with their Account Id."
        )
    try:
        domain = rules.validate_domain(raw.get("account_domain"))
    except ValueError as exc:
        raise RowProblems([("account_domain", str(exc))]) from exc
    key = references.account_key(external_id=account_ref, domain=domain, name=raw.get("account_name", "").strip())
    if key is None:
        return None, next((f for f in presets.ACCOUNT_REFS if f in raw), "account_external_id")
    field = {"external_id": "account_external_id", "domain": "account_domain", "name": "account_name"}[key[0]]
    return key, field


def _account_text(raw: dict[str, str], field: str) -> str:
    """The account as the row wrote it, for messages."""
    return raw.get(field, "").strip()


def _parse_contact(job: ImportRun, raw: dict[str, str]) -> dict[str, Any]:
    data, problems = _typed(job, raw, {
        "external_id": _text, "email": _text, "first_name": _text, "last_name": _text, "title": _text,
        "role": _text, "department": _text, "seniority": _text, "phone": _text, "opted_out": parsing.parse_bool,
    })
    if data.get("opted_out") is None:
        data.pop("opted_out", None)
    if not any(data.get(f) for f in ("email", "external_id", "first_name", "last_name")):
        raise presets.Skip("line without a contact (a report's account-only line)")
    clean = _clean(rules.contact_clean, data, problems, picklists=job.picklists)
    key, field = _account_of(job, raw, "contacts")
    return {"fields": clean, "account_key": key, "account_field": field, "account_text": _account_text(raw, field)}


def _parse_program(job: ImportRun, raw: dict[str, str]) -> dict[str, Any]:
    tz = job.tz
    data, problems = _typed(job, raw, {
        "external_id": _text, "name": _text, "channel": lambda v: presets.map_channel(v.strip(), job.preset),
        "start_date": lambda v: parsing.parse_date(v, tz), "end_date": lambda v: parsing.parse_date(v, tz),
        "cost": _amount, "success_kinds": _split,
    })
    clean = _clean(rules.program_clean, data, problems)
    return {"fields": clean, "segment": raw.get("segment", "").strip()}


def _parse_opportunity(job: ImportRun, raw: dict[str, str]) -> dict[str, Any]:
    tz = job.tz
    data, problems = _typed(job, raw, {
        "external_id": _text, "name": _text, "currency": _text, "stage": _text,
        "type": lambda v: presets.map_opportunity_type(v.strip(), job.preset),
        "created_at": lambda v: parsing.parse_datetime(v, tz), "closed_at": lambda v: parsing.parse_datetime(v, tz),
        "is_closed": parsing.parse_bool, "is_won": parsing.parse_bool,
    })
    # Like every optional column: a file without one leaves the stored amounts alone.
    if "amount" in raw:
        try:
            amount, currency = parsing.parse_amount(raw["amount"])
            data["amount"] = amount
            if currency and not data.get("currency"):
                data["currency"] = currency
        except ValueError as exc:
            problems.append(("amount", str(exc)))
    if "close_date" in raw:
        # A CRM's close date is the expected one while the deal is open: it becomes closed_at only once closed.
        try:
            close = parsing.parse_datetime(raw["close_date"], tz)
        except ValueError as exc:
            problems.append(("close_date", str(exc)))
            close = None
        closed = data.get("is_closed")
        if closed is None:
            closed = job.picklists.stage_outcome(data.get("stage")) != "open"
        data["closed_at"] = close if closed else None
    if not data.get("name") and data.get("external_id"):
        data["name"] = data["external_id"]  # a CRM export without deal names: named by its id
    key, field = None, "account_external_id"
    try:
        key, field = _account_of(job, raw, "opportunities")
        if key is None:
            problems.insert(0, (field, "is required: an opportunity names its account by account_external_id, "
                                       "account_domain or account_name"))
    except RowProblems as exc:
        problems[:0] = exc.problems
    clean = _clean(rules.opportunity_clean, data, problems, picklists=job.picklists)
    return {"fields": clean, "account_key": key, "account_field": field, "account_text": _account_text(raw, field)}


def _parse_target(job: ImportRun, raw: dict[str, str]) -> dict[str, Any]:
    """A target-list row: which account (id, domain or name), and optionally its tier and a segment."""
    problems = []
    tier = None
    if raw.get("tier", "").strip():
        try:
            tier = rules.account_clean(data={"tier": raw["tier"]}, partial=True)["tier"]
        except rules.InvalidRecord as exc:
            problems += [(p.field, p.reason) for p in exc.problems]
    try:
        domain = rules.validate_domain(raw.get("domain"))
    except ValueError as exc:
        problems.append(("domain", str(exc)))
        domain = None
    key = references.account_key(external_id=raw.get("external_id", "").strip(), domain=domain,
                                 name=raw.get("name", "").strip())
    if key is None and not problems:
        problems.append((next((f for f in ("external_id", "domain", "name") if f in raw), "name"),
                         "is blank: a target row names its account by external_id, domain or name"))
    if problems:
        raise RowProblems(problems)
    return {"account_key": key, "account_text": raw.get(key[0], "").strip(), "tier": tier,
            "segment": raw.get("segment", "").strip(),
            "label": raw.get("name") or raw.get("domain") or raw.get("external_id")}


_STAGE_CHANGE_LENGTHS = {"external_id": 150, "opportunity_external_id": 100, "stage": 100, "source": 50}


def _moment(job: ImportRun, value: str) -> dt.datetime | None:
    """A history row's moment: any date the import reads, or epoch milliseconds (HubSpot's API)."""
    text = value.strip()
    if text.isdigit() and len(text) >= 12:
        return dt.datetime.fromtimestamp(int(text) / 1000, tz=dt.UTC)
    return parsing.parse_datetime(text, job.tz)


def _parse_stage_change(job: ImportRun, raw: dict[str, str]) -> dict[str, Any]:
    """A stage-history row: the opportunity (by external id) entered `stage` at `entered_at`.

    Without an id of its own (HubSpot) the row is keyed by the opportunity's id and the moment,
    so a re-import matches the rows it wrote before (sales.models.OpportunityStageChange).
    """
    if not presets.is_stage_row(raw):
        raise presets.Skip(f"history of {raw['property'].strip()} (not the deal stage)")
    data, problems = _typed(job, raw, {
        "external_id": _text, "opportunity_external_id": _text, "stage": lambda v: presets.stage_label(v, job.preset),
        "entered_at": lambda v: _moment(job, v), "source": _text, "is_deleted": parsing.parse_bool,
    })
    if data.pop("is_deleted", None):
        raise presets.Skip("deleted history row")
    for name, reason in (("opportunity_external_id", "is blank: which opportunity (its external id)"),
                         ("stage", "is blank: the stage the opportunity entered"),
                         ("entered_at", "is blank: when the opportunity entered the stage")):
        if not data.get(name) and not any(f == name for f, _ in problems):
            problems.append((name, reason))
    problems += [(name, f"is longer than {limit} characters") for name, limit in _STAGE_CHANGE_LENGTHS.items()
                 if len(data.get(name) or "") > limit]
    if problems:
        raise RowProblems(problems)
    opportunity = data["opportunity_external_id"]
    entered_at = data["entered_at"]
    fields = {
        "stage": data["stage"], "entered_at": entered_at,
        "source": data.get("source") or (job.preset if job.preset != "native" else "csv"),
        "external_id": data.get("external_id") or f"{opportunity}@{entered_at.astimezone(dt.UTC).isoformat()}",
    }
    return {"fields": fields, "opportunity_external_id": opportunity}


PARSERS: dict[str, Callable[[ImportRun, dict[str, str]], dict[str, Any]]] = {
    "accounts": _parse_account, "contacts": _parse_contact, "programs": _parse_program,
    "opportunities": _parse_opportunity, "targets": _parse_target, "stage_history": _parse_stage_change,
}


# --- references: accounts by external id, data-plan refs, name, email domain ---------------------

class References:
    """Accounts by the keys rows give (accounts.references), plus a data plan's @AccountRefN."""

    def __init__(self, *, data_plan: Path | None) -> None:
        self.plan = _load_plan(data_plan) if data_plan else None

    def resolve(self, keys: set[AccountKey]) -> references.Resolved:
        planned = {value for how, value in keys if how == "external_id" and value.startswith("@")}
        resolved = references.resolve(k for k in keys if k[1] not in planned or k[0] != "external_id")
        for ref, pk in self._planned(planned).items():
            resolved.ids[("external_id", ref)] = pk
        return resolved

    def _planned(self, planned: set[str]) -> dict[str, int]:
        """@AccountRefN → account id, through the plan's account records (their domain, else name)."""
        found: dict[str, int] = {}
        if planned and self.plan is not None:
            domains = {r: self.plan[r[1:]][0] for r in planned if r[1:] in self.plan and self.plan[r[1:]][0]}
            names = {r: self.plan[r[1:]][1] for r in planned if r[1:] in self.plan}
            by_domain = dict(Account.objects.filter(domain__in=set(domains.values())).values_list("domain", "id"))
            by_name = dict(Account.objects.filter(name__in=set(names.values())).values_list("name", "id"))
            for ref in planned:
                pk = by_domain.get(domains.get(ref)) or by_name.get(names.get(ref))
                if pk:
                    found[ref] = pk
        return found


def _load_plan(path: Path) -> dict[str, tuple[str | None, str]]:
    """AccountRefN → (domain, name) from a Salesforce CLI data plan's Account record files."""
    try:
        plan = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, json.JSONDecodeError) as exc:
        raise parsing.FileRejected(f"Cannot read the data plan {path}: {exc}") from exc
    prefix = Path(path).name.removesuffix("data-plan.json")
    refs: dict[str, tuple[str | None, str]] = {}
    for step in plan if isinstance(plan, list) else []:
        if step.get("sobject") != "Account":
            continue
        for name in step.get("files", []):
            # The plan names "Accounts.json"; copies are often saved with the plan's prefix.
            candidates = [Path(path).parent / name, Path(path).parent / f"{prefix}{name}"]
            file = next((c for c in candidates if c.exists()), None)
            if file is None:
                raise parsing.FileRejected(f"The data plan names {name}, which is not next to it.")
            for record in json.loads(file.read_text(encoding="utf-8-sig")).get("records", []):
                ref = record.get("attributes", {}).get("referenceId")
                try:
                    domain = rules.validate_domain(record.get("website") or record.get("Website"))
                except ValueError:
                    domain = None
                if ref:
                    refs[ref] = (domain, record.get("name") or record.get("Name") or "")
    return refs


