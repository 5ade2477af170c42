"""Coverage — do we know enough of the right people? (METRICS.md §1)

Per account, from its contacts as they are now (contacts have no history, so coverage is the
same whatever the as-of date):

- contacts; reachable_contacts = contacts with an email or a phone who have not opted out;
- roles_covered = required roles (`required_roles`) held by at least one contact, opted-out
  contacts included (we know them); role_coverage = roles_covered / number of required roles
  (1 with none required);
- profile_completeness = share filled of domain, industry, employees, annual_revenue, country,
  owner;
- covered = role_coverage ≥ covered_min_role_coverage (0.6) and reachable_contacts ≥
  covered_min_reachable_contacts (3); has_decision_maker for the segment rollup.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from accounts.models import Account, Contact, Role
from metrics.families.common import FamilySQL, Params, id_filter, table
from metrics.models import MetricSettings

# The account fields whose presence makes a complete profile; text fields count when not blank.
PROFILE_FIELDS: tuple[str, ...] = ("domain", "industry", "employees", "annual_revenue", "country", "owner")
_TEXT_FIELDS = ("domain", "industry", "country")

EMPTY: dict[str, Any] = {
    "contacts": 0,
    "reachable_contacts": 0,
    "roles_covered": 0,
    "role_coverage": 0.0,
    "profile_completeness": 0.0,
    "covered": False,
    "has_decision_maker": False,
}


def _present(field: str) -> str:
    """1 when the account field holds a value; `> ''` is false for both NULL and ''."""
    column = f"a.{field}" if field in _TEXT_FIELDS else f"a.{Account._meta.get_field(field).column}"
    condition = f"{column} > ''" if field in _TEXT_FIELDS else f"{column} IS NOT NULL"
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


def coverage_rows(*, as_of: date, account_ids: Sequence[int], cfg: MetricSettings) -> FamilySQL:
    """Every account of the chunk (the base row of each snapshot), LEFT JOIN its contacts,
    grouped by account. Ratios are float divisions of the counts, as in Python.

    Index: the account primary key for the range, accounts_contact's account_id index for the
    join (2,000 accounts have ~40,000 contacts).
    """
    required = list(cfg.required_roles)
    inner = Params()
    # Nothing required, nothing missing: complete.
    roles_covered = f"COUNT(DISTINCT CASE WHEN c.role IN ({inner.each(required)}) THEN c.role END)" if required else "0"
    counts = f"""
        SELECT a.id AS account_id,
               COUNT(c.id) AS contacts,
               COUNT(CASE WHEN (c.email > '' OR c.phone > '') AND NOT c.opted_out THEN 1 END) AS reachable_contacts,
               {roles_covered} AS roles_covered,
               COUNT(CASE WHEN c.role = {inner(Role.DECISION_MAKER.value)} THEN 1 END) > 0 AS has_decision_maker,
               {" + ".join(_present(field) for field in PROFILE_FIELDS)} AS filled
        FROM {table(Account)} a LEFT JOIN {table(Contact)} c ON c.account_id = a.id
        WHERE {id_filter("a.id", account_ids, inner)}
        GROUP BY a.id
    """
    outer = Params()
    role_coverage = f"CAST(roles_covered AS DOUBLE PRECISION) / {len(required)}" if required else "1.0"
    sql = f"""
        SELECT account_id, contacts, reachable_contacts, roles_covered,
               {role_coverage} AS role_coverage,
               CAST(filled AS DOUBLE PRECISION) / {len(PROFILE_FIELDS)} AS profile_completeness,
               {role_coverage} >= {outer(cfg.covered_min_role_coverage)}
                   AND reachable_contacts >= {outer(cfg.covered_min_reachable_contacts)} AS covered,
               has_decision_maker
        FROM ({counts}) coverage
    """
    return FamilySQL(sql, (*outer, *inner), EMPTY)
