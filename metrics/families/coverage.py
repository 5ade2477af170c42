"""Coverage — do we know enough of the right people? (METRICS.md §1)

Contacts have no history, so coverage counts the contacts known now, whatever the as-of date.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Case, Count, IntegerField, Q, Value, When

from accounts.models import Account, Role
from metrics.models import MetricSettings

# The account fields whose presence makes a complete profile.
PROFILE_FIELDS: tuple[str, ...] = ("domain", "industry", "employees", "annual_revenue", "country", "owner")


def _present(field: str) -> Case:
    """1 when the account field holds a value (text fields: not blank), else 0."""
    # `> ''` is false for both NULL and the empty string.
    condition = Q(**{f"{field}__gt": ""}) if field in ("domain", "industry", "country") else Q(**{f"{field}__isnull": False})
    return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


def coverage_rows(*, as_of: date, account_ids: list[int], cfg: MetricSettings) -> dict[int, dict[str, Any]]:
    """One query: the accounts LEFT JOIN their contacts, grouped by account."""
    required = list(cfg.required_roles)
    # Positive conditions only: a negated condition across the contacts join would become a subquery.
    reachable = Q(contacts__email__gt="") | Q(contacts__phone__gt="")
    filled = sum((_present(f) for f in PROFILE_FIELDS[1:]), _present(PROFILE_FIELDS[0]))
    rows = (
        Account.objects.filter(id__in=account_ids)
        .order_by()
        .annotate(
            n_contacts=Count("contacts"),
            n_reachable=Count("contacts", filter=reachable & Q(contacts__opted_out=False)),
            # Opted-out contacts still cover their role: we know them.
            n_roles=Count("contacts__role", distinct=True, filter=Q(contacts__role__in=required)),
            n_decision_makers=Count("contacts", filter=Q(contacts__role=Role.DECISION_MAKER)),
            n_filled=filled,
        )
        .values("id", "n_contacts", "n_reachable", "n_roles", "n_decision_makers", "n_filled")
    )
    result: dict[int, dict[str, Any]] = {}
    for row in rows:
        # With no required roles configured nothing is missing: coverage is complete.
        role_coverage = row["n_roles"] / len(required) if required else 1.0
        result[row["id"]] = {
            "contacts": row["n_contacts"],
            "reachable_contacts": row["n_reachable"],
            "roles_covered": row["n_roles"],
            "role_coverage": role_coverage,
            "profile_completeness": row["n_filled"] / len(PROFILE_FIELDS),
            "covered": role_coverage >= cfg.covered_min_role_coverage
            and row["n_reachable"] >= cfg.covered_min_reachable_contacts,
            "has_decision_maker": row["n_decision_makers"] > 0,
        }
    return result
