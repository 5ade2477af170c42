"""Pass 1 checks that need the database or the whole file: duplicate keys and conflicts with stored rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from accounts import references
from accounts.models import Account, Contact, Opportunity, Segment

if TYPE_CHECKING:
    from imports.services import ImportRun


class _Checks:
    """Duplicate keys inside the file and conflicts with stored rows, batch by batch."""

    def __init__(self, job: ImportRun) -> None:
        self.job = job
        self.seen: dict[tuple[str, str], int] = {}

    def duplicate(self, line: int, key: tuple[str, str]) -> int | None:
        first = self.seen.get(key)
        if first is None:
            self.seen[key] = line
        return first

    def check(self, batch: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, str, str]]:
        return self.batch_errors(batch)

    def batch_errors(self, batch: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, str, str]]:
        raise NotImplementedError

    def keys(self, line: int, fields: dict[str, Any], names: tuple[str, ...]) -> list[tuple[int, str, str]]:
        errors = []
        for name in names:
            value = fields.get(name)
            if value:
                first = self.duplicate(line, (name, str(value).lower()))
                if first is not None:
                    errors.append((line, name, f"duplicate {name} {value!r}: already in row {first}"))
        return errors

    def account_refs(self, batch: list[tuple[int, dict[str, Any]]], *,
                     unknown_names_ok: bool = False) -> list[tuple[int, str, str]]:
        """Rows whose account key finds no account, or an ambiguous name. With `unknown_names_ok`
        (contacts) a name that matches no account is not an error: the email's domain is tried."""
        resolved = self.job.refs.resolve({r["account_key"] for _, r in batch if r.get("account_key")})
        errors = []
        for line, r in batch:
            key = r.get("account_key")
            if key is None or key in resolved.ids:
                continue
            if unknown_names_ok and key[0] == "name" and key not in resolved.ambiguous:
                continue
            errors.append((line, r["account_field"], resolved.reason(key, as_written=r.get("account_text"))))
        return errors


class _AccountChecks(_Checks):
    """In presets a website shared with an earlier row or another stored account is dropped (a
    warning), because CRM websites are not unique; in native files it is an error."""

    def __init__(self, job: ImportRun) -> None:
        super().__init__(job)
        self.by_name: dict[tuple[str, str], dict[str, Any]] = {}

    def batch_errors(self, batch):
        errors = []
        lenient = self.job.preset != "native"
        name_keyed = []
        for line, r in batch:
            fields = r["fields"]
            errors += self.keys(line, fields, ("external_id",) if lenient else ("external_id", "domain"))
            if lenient and fields.get("domain"):
                first = self.duplicate(line, ("domain", fields["domain"]))
                if first is not None:
                    self.drop(line, f"website {fields['domain']} is also row {first}'s")
            if not fields.get("external_id") and not fields.get("domain"):
                # Keyed by its name. Report exports repeat the account on every contact line:
                # identical repeats are skipped.
                key = ("name", fields["name"].lower())
                name_keyed.append((line, key))
                first = self.duplicate(line, key)
                if first is None:
                    self.by_name[key] = fields
                elif self.by_name[key] == fields:
                    self.job.repeated_rows.add(line)
                    self.job.skipped["repeats an earlier row of the same account"] += 1
                else:
                    errors.append((line, "name", f"duplicate name {fields['name']!r} with other values: "
                                                 f"already in row {first}"))
        ambiguous = self.job.refs.resolve({key for _, key in name_keyed}).ambiguous
        by_line = dict(batch)
        errors += [(line, "name", references.ambiguous_reason(
            by_line[line]["fields"]["name"], ambiguous[key],
            hint="give the row an external_id or a domain to tell them apart")) for line, key in name_keyed
            if key in ambiguous]
        conflicts = stored_conflicts(Account, batch, "domain")
        if lenient:
            for line, _, reason in conflicts:
                self.drop(line, reason)
            return errors
        return errors + conflicts

    def drop(self, line: int, reason: str) -> None:
        self.job.dropped_domains.add(line)
        self.job.warn(line, "domain", f"{reason}; stored without a domain")


class _ContactChecks(_Checks):
    def batch_errors(self, batch):
        errors = []
        for line, r in batch:
            errors += self.keys(line, r["fields"], ("external_id", "email"))
        errors += self.account_refs(batch, unknown_names_ok=True)
        errors += stored_conflicts(Contact, batch, "email")
        return errors


class _ProgramChecks(_Checks):
    def batch_errors(self, batch):
        errors = []
        for line, r in batch:
            errors += self.keys(line, r["fields"], ("external_id",) if r["fields"].get("external_id") else ("name",))
        names = {r["segment"] for _, r in batch if r["segment"]}
        known = set(Segment.objects.filter(name__in=names).values_list("name", flat=True))
        errors += [(line, "segment", f"unknown segment {r['segment']!r}") for line, r in batch
                   if r["segment"] and r["segment"] not in known]
        return errors


class _OpportunityChecks(_Checks):
    def batch_errors(self, batch):
        errors = []
        for line, r in batch:
            errors += self.keys(line, r["fields"], ("external_id",))
        return errors + self.account_refs(batch)


def stored_conflicts(model: type, batch: list[tuple[int, dict[str, Any]]], unique: str) -> list[tuple[int, str, str]]:
    """A row matched by external id whose `unique` value (domain / email) belongs to another stored row."""
    rows = [(line, r["fields"]) for line, r in batch if r["fields"].get("external_id") and r["fields"].get(unique)]
    if not rows:
        return []
    owners = {value: ext for value, ext in model.objects.filter(
        **{f"{unique}__in": {f[unique] for _, f in rows}}).values_list(unique, "external_id")}
    by_ext = set(model.objects.filter(external_id__in={f["external_id"] for _, f in rows})
                 .values_list("external_id", flat=True))
    errors = []
    for line, f in rows:
        owner = owners.get(f[unique], f["external_id"])
        if f["external_id"] in by_ext and owner != f["external_id"]:
            errors.append((line, unique, f"{f[unique]} already belongs to the record with external id {owner}"))
    return errors


class _TargetChecks(_Checks):
    """Ambiguous names are errors; accounts not found are reported, not errors (a target list often
    names companies the CRM does not hold yet)."""

    def batch_errors(self, batch):
        resolved = self.job.refs.resolve({r["account_key"] for _, r in batch})
        self.job.resolved_targets.update(resolved.ids)
        return [(line, r["account_key"][0], resolved.reason(r["account_key"], as_written=r["account_text"]))
                for line, r in batch if r["account_key"] in resolved.ambiguous]


class _StageHistoryChecks(_Checks):
    """A history row's id is unique in the file (per source), and its opportunity is stored."""

    def batch_errors(self, batch):
        errors = []
        for line, r in batch:
            fields = r["fields"]
            first = self.duplicate(line, (fields["source"], fields["external_id"]))
            if first is not None:
                errors.append((line, "external_id", f"duplicate history row {fields['external_id']!r}: "
                                                    f"already in row {first}"))
        wanted = {r["opportunity_external_id"] for _, r in batch}
        known = set(Opportunity.objects.filter(external_id__in=wanted).values_list("external_id", flat=True))
        errors += [(line, "opportunity_external_id",
                    f"no opportunity has the external id {r['opportunity_external_id']!r} "
                    "(import the opportunities first)")
                   for line, r in batch if r["opportunity_external_id"] not in known]
        return errors


BATCH_CHECKS: dict[str, type[_Checks]] = {
    "accounts": _AccountChecks, "contacts": _ContactChecks, "programs": _ProgramChecks,
    "opportunities": _OpportunityChecks, "targets": _TargetChecks, "stage_history": _StageHistoryChecks,
}


