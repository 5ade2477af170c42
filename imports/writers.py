"""Pass 2: upsert the checked rows in batches (inside the import's transaction)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User

from accounts import references
from accounts import services as rules
from accounts.models import Account, Contact, Opportunity, Program, Segment
from sales.models import OpportunityStageChange

if TYPE_CHECKING:
    from imports.services import ImportRun


# --- pass 2 writers --------------------------------------------------------------------------------

class _Writer:
    model: type
    alternate: str | None = None  # matched on when a row has no stored external id (domain, email, name)
    derived_fields: frozenset[str] = frozenset()

    def __init__(self, job: ImportRun) -> None:
        self.job = job
        self.result = job.result

    def existing(self, batch: list[tuple[int, dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, Any]]:
        exts = {r["fields"]["external_id"] for _, r in batch if r["fields"].get("external_id")}
        by_ext = {o.external_id: o for o in self.model.objects.filter(external_id__in=exts)} if exts else {}
        by_alt: dict[str, Any] = {}
        if self.alternate:
            alts = {r["fields"][self.alternate] for _, r in batch if r["fields"].get(self.alternate)}
            if alts:
                by_alt = {getattr(o, self.alternate): o
                          for o in self.model.objects.filter(**{f"{self.alternate}__in": alts}).order_by("-id")}
        return by_ext, by_alt

    def match(self, fields: dict[str, Any], by_ext: dict[str, Any], by_alt: dict[str, Any]) -> Any:
        ext = fields.get("external_id")
        if ext and ext in by_ext:
            return by_ext[ext]
        if self.alternate and fields.get(self.alternate) in by_alt:
            return by_alt[fields[self.alternate]]
        return None

    def values(self, fields: dict[str, Any], found: Any) -> dict[str, Any]:
        values = dict(fields)
        if found is not None and found.external_id:
            # A record that came from another system first keeps its external id (docs/import.md).
            values["external_id"] = found.external_id
        return values

    def prepare(self, obj: Any) -> None:
        """Set derived fields before comparing and saving (contacts: seniority_level)."""

    def write(self, batch: list[tuple[int, dict[str, Any]]]) -> None:
        by_ext, by_alt = self.existing(batch)
        to_create, to_update, objs, statuses = [], [], [], []
        changed: set[str] = set()
        for _, r in batch:
            found = self.match(r["fields"], by_ext, by_alt)
            values = self.values(self.row_values(r), found)
            if found is None:
                obj = self.model(**values)
                self.prepare(obj)
                to_create.append(obj)
                objs.append(obj)
                statuses.append("created")
                continue
            before = {k: getattr(found, k) for k in (*values, *self.derived_fields)}
            for k, v in values.items():
                setattr(found, k, v)
            self.prepare(found)
            diff = {k for k, v in before.items() if v != getattr(found, k)}
            objs.append(found)
            if diff:
                to_update.append(found)
                changed |= diff
                statuses.append("updated")
            else:
                statuses.append("unchanged")
        if to_create:
            self.model.objects.bulk_create(to_create)
        if to_update:
            stamp = {"updated_at"} if any(f.name == "updated_at" for f in self.model._meta.fields) else set()
            self.model.objects.bulk_update(to_update, sorted(changed | stamp))
        self.after(batch, objs, statuses)
        counts = Counter(statuses)
        self.result.created += counts["created"]
        self.result.updated += counts["updated"]
        self.result.unchanged += counts["unchanged"]

    def row_values(self, r: dict[str, Any]) -> dict[str, Any]:
        return r["fields"]

    def after(self, batch: list[tuple[int, dict[str, Any]]], objs: list[Any], statuses: list[str]) -> None:
        """Related rows written once the batch has ids (account segments)."""

    def finish(self) -> None:
        """Called once after the last batch, inside the transaction."""


class _AccountWriter(_Writer):
    model = Account
    alternate = "domain"

    def existing(self, batch):
        by_ext, by_alt = super().existing(batch)
        # A row with neither id nor a usable domain (a CRM report, a Salesforce sObject tree, a
        # list of company names) is keyed by its name: the one stored account of that name,
        # case-insensitively (pass 1 refused names that several accounts share).
        keys = {("name", r["fields"]["name"].lower()) for _, r in batch
                if not r["fields"].get("external_id") and not r["fields"].get("domain")}
        ids = references.resolve(keys).ids if keys else {}
        self.by_name = {o.name.lower(): o for o in Account.objects.filter(pk__in=ids.values())}
        return by_ext, by_alt

    def match(self, fields, by_ext, by_alt):
        found = super().match(fields, by_ext, by_alt)
        if found is None and not fields.get("external_id") and not fields.get("domain"):
            found = self.by_name.get(fields["name"].lower())
        return found

    def __init__(self, job: ImportRun) -> None:
        super().__init__(job)
        self.owners: dict[str, User] = {}

    def owner(self, email: str) -> User:
        if email not in self.owners:
            user, created = rules.owner_for_email(email=email)
            if created:
                self.result.users_created.append(email)
            self.owners[email] = user
        return self.owners[email]

    def row_values(self, r):
        values = dict(r["fields"])
        if r["owner_given"]:
            values["owner"] = self.owner(r["owner_email"]) if r["owner_email"] else None
        return values

    def after(self, batch, objs, statuses):
        """Segments named in the file are added; an import never removes a membership."""
        wanted = [(i, obj, r["segments"]) for i, ((_, r), obj) in enumerate(zip(batch, objs, strict=True))
                  if r["segments"]]
        if not wanted:
            return
        names = {n for _, _, segs in wanted for n in segs}
        segments = {s.name: s for s in Segment.objects.filter(name__in=names)}
        for name in sorted(names - segments.keys()):
            segments[name] = Segment.objects.create(name=name)
        through = Segment.accounts.through
        have = set(through.objects.filter(account_id__in=[o.pk for _, o, _ in wanted])
                   .values_list("account_id", "segment_id"))
        new = []
        for i, obj, segs in wanted:
            missing = [segments[n].pk for n in segs if (obj.pk, segments[n].pk) not in have]
            new += [through(account_id=obj.pk, segment_id=pk) for pk in missing]
            if missing and statuses[i] == "unchanged":
                statuses[i] = "updated"  # a new membership is a change to the account
        through.objects.bulk_create(new, ignore_conflicts=True)


class _ContactWriter(_Writer):
    model = Contact
    alternate = "email"
    derived_fields = frozenset({"seniority_level"})

    def prepare(self, obj: Contact) -> None:
        obj.seniority_level = rules.resolve_seniority(seniority=obj.seniority, title=obj.title)

    def write(self, batch):
        by_key = self.job.refs.resolve({r["account_key"] for _, r in batch if r["account_key"]}).ids
        domains = {rules.email_domain(r["fields"].get("email")) for _, r in batch} - {None}
        by_domain = dict(Account.objects.filter(domain__in=domains).values_list("domain", "id")) if domains else {}
        for _, r in batch:
            r["account_from_domain"] = False
            if r["account_key"] in by_key:
                pk = by_key[r["account_key"]]
            else:  # no account named, or a name that matches none: the email's domain
                pk = by_domain.get(rules.email_domain(r["fields"].get("email")))
                r["account_from_domain"] = True
            r["fields"] = {**r["fields"], "account_id": pk}
        super().write(batch)

    def row_values(self, r):
        return {**r["fields"], "_account_from_domain": r["account_from_domain"]}

    def values(self, fields, found):
        from_domain = fields.pop("_account_from_domain")
        values = super().values(fields, found)
        # A row that names no account (no column, or a blank cell) leaves a known contact on the
        # account it has, however it got there; only contacts without one are matched by domain.
        if from_domain and found is not None and found.account_id is not None:
            values["account_id"] = found.account_id
        return values

    def after(self, batch, objs, statuses):
        for obj in objs:
            if obj.account_id is None:
                self.result.contacts_unmatched += 1
                if len(self.result.unmatched_examples) < 20:
                    self.result.unmatched_examples.append(obj.email or obj.external_id)


class _ProgramWriter(_Writer):
    model = Program
    alternate = "name"

    def write(self, batch):
        names = {r["segment"] for _, r in batch if r["segment"]}
        self.segment_ids = dict(Segment.objects.filter(name__in=names).values_list("name", "pk"))
        super().write(batch)

    def row_values(self, r):
        values = dict(r["fields"])
        if r["segment"]:
            values["segment_id"] = self.segment_ids[r["segment"]]
        return values

    def existing(self, batch):
        by_ext, by_alt = super().existing(batch)
        # Matching on name is only for programs that have no external id at all.
        return by_ext, {k: v for k, v in by_alt.items() if not v.external_id}


class _OpportunityWriter(_Writer):
    model = Opportunity

    def write(self, batch):
        by_key = self.job.refs.resolve({r["account_key"] for _, r in batch}).ids
        for _, r in batch:
            r["fields"] = {**r["fields"], "account_id": by_key[r["account_key"]]}
            self.job.dated(r["fields"].get("created_at"))
        super().write(batch)


class _TargetWriter:
    """Marks the listed accounts as targets (accounts.services.account_targets_mark), grouped by tier
    and segment; rows whose account was not found are counted and reported, not errors."""

    def __init__(self, job: ImportRun) -> None:
        self.job = job
        self.result = job.result
        self.groups: dict[tuple[int | None, str], set[int]] = {}

    def write(self, batch: list[tuple[int, dict[str, Any]]]) -> None:
        for line, r in batch:
            pk = self.job.resolved_targets.get(r["account_key"])
            if pk is None:
                self.result.not_found += 1
                if len(self.result.not_found_examples) < 20:
                    self.result.not_found_examples.append(r["label"])
                self.job.not_found_lines.add(line)
                continue
            self.groups.setdefault((r["tier"], r["segment"]), set()).add(pk)

    def finish(self) -> None:
        listed = set().union(*self.groups.values()) if self.groups else set()
        already = set(Account.objects.filter(pk__in=listed, is_target=True).values_list("pk", flat=True))
        for (tier, segment), ids in self.groups.items():
            rules.account_targets_mark(accounts=Account.objects.filter(pk__in=ids), tier=tier, segment=segment or None)
        self.result.created = len(listed - already)
        self.result.unchanged = len(listed & already)


class _StageHistoryWriter:
    """Upserts stage-history rows by (source, external id): a re-import of the same file finds
    every row unchanged and writes nothing (sales.models.OpportunityStageChange)."""

    def __init__(self, job: ImportRun) -> None:
        self.job = job
        self.result = job.result

    def write(self, batch: list[tuple[int, dict[str, Any]]]) -> None:
        opportunities = dict(Opportunity.objects.filter(
            external_id__in={r["opportunity_external_id"] for _, r in batch}).values_list("external_id", "id"))
        keys = {(r["fields"]["source"], r["fields"]["external_id"]) for _, r in batch}
        stored = {(c.source, c.external_id): c for c in OpportunityStageChange.objects.filter(
            source__in={s for s, _ in keys}, external_id__in={e for _, e in keys})}
        to_create, to_update = [], []
        for _, r in batch:
            values = {**r["fields"], "opportunity_id": opportunities[r["opportunity_external_id"]]}
            found = stored.get((values["source"], values["external_id"]))
            if found is None:
                to_create.append(OpportunityStageChange(**values))
            elif any(getattr(found, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(found, k, v)
                to_update.append(found)
            else:
                self.result.unchanged += 1
        OpportunityStageChange.objects.bulk_create(to_create)
        OpportunityStageChange.objects.bulk_update(to_update, ["opportunity_id", "stage", "entered_at"])
        self.result.created += len(to_create)
        self.result.updated += len(to_update)

    def finish(self) -> None:
        """Nothing to do once the rows are written."""


WRITERS: dict[str, type[_Writer]] = {
    "accounts": _AccountWriter, "contacts": _ContactWriter, "programs": _ProgramWriter,
    "opportunities": _OpportunityWriter, "targets": _TargetWriter, "stage_history": _StageHistoryWriter,
}


