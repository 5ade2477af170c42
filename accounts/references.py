"""How a row names its account: by CRM id, by domain, or by name (exact, case-insensitive).

Shared by every import kind (contacts, opportunities, touchpoints, target lists) so that an
account is found the same way everywhere. A row names its account by the first of the three it
gives; a name that several accounts share is ambiguous and matches none (the row error lists
the candidates).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models.functions import Lower

from accounts.models import Account

class FoldedLower(Lower):
    """lower() that folds every script on SQLite too (accounts.apps registers unicode_lower)."""

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="unicode_lower", **extra)


def sql_lower(vendor: str) -> str:
    """The SQL function raw queries use to fold names (see FoldedLower)."""
    return "unicode_lower" if vendor == "sqlite" else "lower"


# (how, value): ("external_id", "0015…"), ("domain", "acme.com") or ("name", "acme corp") — names lower-cased.
AccountKey = tuple[str, str]
CANDIDATES_SHOWN = 5


def account_key(*, external_id: str | None, domain: str | None, name: str | None) -> AccountKey | None:
    """The key a row gives for its account; `domain` must already be normalised."""
    if external_id:
        return ("external_id", external_id)
    if domain:
        return ("domain", domain)
    if name:
        return ("name", name.lower())
    return None


@dataclass(frozen=True)
class Resolved:
    """Account ids found, and the names that several accounts share (with up to 5 of them)."""

    ids: dict[AccountKey, int]
    ambiguous: dict[AccountKey, list[Account]]

    def reason(self, key: AccountKey, as_written: str | None = None) -> str:
        """Why `key` found no account, for a row error (a name as the row wrote it)."""
        how, value = key
        if key in self.ambiguous:
            return ambiguous_reason(as_written or value, self.ambiguous[key])
        if how == "external_id":
            return f"unknown account {value}"
        if how == "domain":
            return f"no account has the domain {value}"
        return f"no account is named {as_written or value!r}"


NAME_ANOTHER_WAY = "name the account by account_external_id or account_domain instead"


def ambiguous_reason(name: str, candidates: list[Account], hint: str = NAME_ANOTHER_WAY) -> str:
    shown = "; ".join(
        f"{a.name} (id {a.external_id or '-'}, domain {a.domain or '-'})" for a in candidates[:CANDIDATES_SHOWN]
    )
    more = len(candidates) - CANDIDATES_SHOWN
    return (f"the name {name!r} matches {len(candidates)} accounts: {shown}{f' and {more} more' if more > 0 else ''}; "
            f"{hint}")


def resolve(keys: Iterable[AccountKey]) -> Resolved:
    """Account ids for a batch of keys: three queries at most, whatever the batch size."""
    wanted: dict[str, set[str]] = {"external_id": set(), "domain": set(), "name": set()}
    for how, value in keys:
        wanted[how].add(value)
    ids: dict[AccountKey, int] = {}
    ambiguous: dict[AccountKey, list[Account]] = {}
    if wanted["external_id"]:
        for ext, pk in Account.objects.filter(external_id__in=wanted["external_id"]).values_list("external_id", "id"):
            ids[("external_id", ext)] = pk
    if wanted["domain"]:
        for domain, pk in Account.objects.filter(domain__in=wanted["domain"]).values_list("domain", "id"):
            ids[("domain", domain)] = pk
    if wanted["name"]:
        by_name: dict[str, list[Account]] = {}
        found = (Account.objects.annotate(lname=FoldedLower("name")).filter(lname__in=wanted["name"])
                 .only("id", "name", "external_id", "domain").order_by("id"))
        for account in found:
            by_name.setdefault(account.name.lower(), []).append(account)
        for lname, accounts in by_name.items():
            if len(accounts) == 1:
                ids[("name", lname)] = accounts[0].pk
            else:
                ambiguous[("name", lname)] = accounts
    return Resolved(ids=ids, ambiguous=ambiguous)
