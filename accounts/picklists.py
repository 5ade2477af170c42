"""CRM picklist values mapped to ours: contact roles and opportunity stages.

Built in: Salesforce's standard contact-role picklist and HubSpot's buying roles (METRICS.md:
Business User → end_user, Evaluator and Technical Buyer → technical_evaluator, Economic Decision
Maker and Executive Sponsor → economic_buyer, Budget Holder → economic_buyer, Legal and
Compliance → other…), and the usual spellings of won and lost stages. An admin adds a company's
own labels as PicklistSynonym rows, which take precedence over the built-ins. Values are matched
ignoring case, spaces and punctuation ("Budget Holder" = "BUDGET_HOLDER" = "budget-holder").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from accounts.models import PicklistSynonym, Role

OUTCOMES = ("won", "lost", "open")

BUILT_IN_ROLES: dict[str, str] = {
    # Salesforce's standard OpportunityContactRole / contact-role picklist
    "Business User": Role.END_USER,
    "Decision Maker": Role.DECISION_MAKER,
    "Economic Buyer": Role.ECONOMIC_BUYER,
    "Economic Decision Maker": Role.ECONOMIC_BUYER,
    "Evaluator": Role.TECHNICAL_EVALUATOR,
    "Executive Sponsor": Role.ECONOMIC_BUYER,
    "Influencer": Role.INFLUENCER,
    "Technical Buyer": Role.TECHNICAL_EVALUATOR,
    "Other": Role.OTHER,
    # HubSpot's buying roles (labels; the internal values differ only in case and underscores)
    "Blocker": Role.BLOCKER,
    "Budget Holder": Role.ECONOMIC_BUYER,
    "Champion": Role.CHAMPION,
    "End User": Role.END_USER,
    "Legal and Compliance": Role.OTHER,
}

BUILT_IN_STAGES: dict[str, str] = {
    "Closed Won": "won", "Won": "won", "Closed/Won": "won", "closedwon": "won", "Closed Win": "won", "Win": "won",
    "Closed Lost": "lost", "Lost": "lost", "Closed/Lost": "lost", "closedlost": "lost", "Closed Lose": "lost",
    "Closed Not Won": "lost", "Closed Dead": "lost", "Dead": "lost",
}


def picklist_key(value: str | None) -> str:
    """'Budget Holder', 'BUDGET_HOLDER', 'budget-holder' → 'budgetholder'."""
    return re.sub(r"[^a-z0-9]", "", (value or "").lower())


@dataclass(frozen=True)
class Picklists:
    """Key → our value, per field: the built-ins with the admin's synonyms laid over them."""

    roles: dict[str, str] = field(default_factory=dict)
    stages: dict[str, str] = field(default_factory=dict)
    # The admin's role labels, for accepted_roles(): read with the synonyms, not once per bad row.
    role_labels: tuple[str, ...] = ()

    @classmethod
    def built_in(cls) -> Picklists:
        roles = {picklist_key(v): v for v in Role.values}
        roles |= {picklist_key(label): str(v) for label, v in BUILT_IN_ROLES.items()}
        return cls(roles=roles, stages={picklist_key(label): v for label, v in BUILT_IN_STAGES.items()})

    @classmethod
    def load(cls) -> Picklists:
        """The built-ins plus the admin's synonyms (one query); an import loads them once."""
        base = cls.built_in()
        labels = []
        for kind, key, value, label in PicklistSynonym.objects.values_list("field", "key", "value", "label"):
            (base.roles if kind == PicklistSynonym.Field.ROLE else base.stages)[key] = value
            if kind == PicklistSynonym.Field.ROLE:
                labels.append(label)
        return cls(roles=base.roles, stages=base.stages, role_labels=tuple(labels))

    def role(self, value: str) -> str | None:
        return self.roles.get(picklist_key(value))

    def stage_outcome(self, stage: str | None) -> str:
        """'won', 'lost' or 'open' (any stage that is not a known won or lost one is open)."""
        return self.stages.get(picklist_key(stage), "open")

    def accepted_roles(self) -> str:
        """For an error message: our roles, then the synonyms the import understands."""
        synonyms = sorted({*BUILT_IN_ROLES, *self.role_labels})
        return f"{', '.join(Role.values)} (or a CRM label: {', '.join(synonyms)})"
