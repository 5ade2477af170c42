"""The facts: accounts, the people at them, programs, touchpoints and opportunities.

Computed metrics never live here; they are in metrics.models (snapshots).
Normalisation (lower-cased domains and emails) happens in accounts.services before a row is
written, so every write path (import, API, demo data, admin) stores the same shape; a contact's
seniority level is resolved by Contact.save() (and by the bulk writers themselves).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


class Tier(models.IntegerChoices):
    TIER_1 = 1, "Tier 1"
    TIER_2 = 2, "Tier 2"
    TIER_3 = 3, "Tier 3"


class Account(models.Model):
    name = models.CharField(max_length=255)
    # Normalised by accounts.services.normalise_domain: lower case, no scheme, no "www.", no path.
    domain = models.CharField(max_length=255, null=True, blank=True, unique=True)
    industry = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    country = models.CharField(max_length=100, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
        help_text="The sales rep who owns the account.",
    )
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, null=True, blank=True)
    is_target = models.BooleanField(default=False, db_index=True)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True, help_text="CRM id")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["owner", "is_target"]),
            # Rows that name their account by name (accounts.references) and the data-quality
            # duplicate check compare lower(name) (PostgreSQL; SQLite folds with unicode_lower()).
            models.Index(Lower("name"), name="account_name_lower"),
        ]

    def __str__(self) -> str:
        return self.name


class Segment(models.Model):
    """A named set of accounts. Membership is static; `saved_filter` records how it was built."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    accounts = models.ManyToManyField(Account, related_name="segments", blank=True)
    saved_filter = models.JSONField(
        default=dict,
        blank=True,
        help_text='Optional account filter this segment was built from, e.g. {"industry": "Software", "tier": 1}.',
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    """Buying-committee roles."""

    DECISION_MAKER = "decision_maker", "Decision maker"
    ECONOMIC_BUYER = "economic_buyer", "Economic buyer"
    CHAMPION = "champion", "Champion"
    INFLUENCER = "influencer", "Influencer"
    TECHNICAL_EVALUATOR = "technical_evaluator", "Technical evaluator"
    END_USER = "end_user", "End user"
    BLOCKER = "blocker", "Blocker"
    # Known to the account but in no buying-committee role we track: fills no required role.
    OTHER = "other", "Other"


class Seniority(models.TextChoices):
    CXO = "cxo", "C-level"
    VP = "vp", "VP"
    DIRECTOR = "director", "Director"
    MANAGER = "manager", "Manager"
    OTHER = "other", "Other"


_VP = re.compile(r"vice president|\bvp\b", re.IGNORECASE)
# "chief", a C?O word (CEO, CFO, CMO, CTO…), "founder" or "president". "Vice president" is
# caught by the VP rule first, as METRICS.md orders the rules.
_CXO = re.compile(r"chief|\bc[a-z]o\b|founder|president", re.IGNORECASE)
_DIRECTOR = re.compile(r"director|head of", re.IGNORECASE)
_MANAGER = re.compile(r"manager", re.IGNORECASE)


def resolve_seniority(*, seniority: str | None, title: str | None) -> str:
    """The seniority the metrics weight by: the source's field when it names one, else the title's.

    >>> resolve_seniority(seniority="", title="SVP, Vice President of Sales")
    'vp'
    >>> resolve_seniority(seniority=None, title="Co-Founder & CEO")
    'cxo'
    """
    if seniority and seniority in Seniority.values:
        return seniority
    title = title or ""
    for pattern, level in (
        (_VP, Seniority.VP),
        (_CXO, Seniority.CXO),
        (_DIRECTOR, Seniority.DIRECTOR),
        (_MANAGER, Seniority.MANAGER),
    ):
        if pattern.search(title):
            return str(level)
    return str(Seniority.OTHER)


class Contact(models.Model):
    # Null only for a contact whose email domain matched no account on import: kept and reported,
    # never silently dropped, and left out of every account metric until it is assigned.
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE, related_name="contacts")
    email = models.EmailField(max_length=254, null=True, blank=True, unique=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=255, blank=True)
    role = models.CharField(max_length=30, choices=Role.choices, blank=True)
    department = models.CharField(max_length=100, blank=True)
    # As the source gave it (blank when it gave none).
    seniority = models.CharField(max_length=20, choices=Seniority.choices, blank=True)
    # The seniority metrics use: `seniority` if given, else derived from the title
    # (accounts.services.resolve_seniority, METRICS.md rules). Stored so that the nightly
    # aggregates join on a plain column instead of matching titles per touchpoint.
    seniority_level = models.CharField(max_length=20, choices=Seniority.choices, default=Seniority.OTHER)
    phone = models.CharField(max_length=50, blank=True)
    opted_out = models.BooleanField(default=False)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            # Emails are stored lower-cased; this also rejects a differently-cased duplicate
            # written by a path that skipped normalisation.
            models.UniqueConstraint(Lower("email"), name="contact_email_ci_unique"),
        ]

    def save(self, *args, **kwargs) -> None:
        # Whatever wrote the contact (import, API, admin, plain ORM), the level the metrics
        # weight by follows its seniority and title. (bulk_create skips save(): its callers,
        # the import and the demo data, set it themselves.)
        self.seniority_level = resolve_seniority(seniority=self.seniority, title=self.title)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"seniority", "title"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "seniority_level"}
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.email or f"Contact {self.pk}"


class PicklistSynonym(models.Model):
    """A source's picklist value and ours: a CRM's contact role or opportunity stage, mapped.

    Built-in synonyms (Salesforce's and HubSpot's standard values) live in accounts.picklists;
    rows here add to them or override them, so an admin teaches the import a company's own labels.
    """

    class Field(models.TextChoices):
        ROLE = "role", "Contact role"
        STAGE = "stage", "Opportunity stage"

    field = models.CharField(max_length=10, choices=Field.choices)
    label = models.CharField(max_length=100, help_text="The value as the source writes it, e.g. 'Budget Holder'.")
    # Matched ignoring case, spaces and punctuation (accounts.picklists.picklist_key).
    key = models.CharField(max_length=100, editable=False)
    value = models.CharField(
        max_length=30,
        help_text="Ours: a role (decision_maker, economic_buyer, champion, influencer, technical_evaluator, "
                  "end_user, blocker, other) or, for a stage, won / lost / open.",
    )

    class Meta:
        ordering = ["field", "label"]
        constraints = [models.UniqueConstraint(fields=["field", "key"], name="picklist_synonym_unique")]

    def __str__(self) -> str:
        return f"{self.get_field_display()}: {self.label} → {self.value}"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    WEBINAR = "webinar", "Webinar"
    EVENT = "event", "Event"
    PAID_SOCIAL = "paid_social", "Paid social"
    DISPLAY = "display", "Display"
    CONTENT = "content", "Content"
    DIRECT_MAIL = "direct_mail", "Direct mail"
    SDR_OUTREACH = "sdr_outreach", "SDR outreach"
    WEB = "web", "Web"


class TouchpointKind(models.TextChoices):
    EMAIL_OPEN = "email_open", "Email open"
    EMAIL_CLICK = "email_click", "Email click"
    WEB_VISIT = "web_visit", "Web visit"
    FORM_FILL = "form_fill", "Form fill"
    CONTENT_DOWNLOAD = "content_download", "Content download"
    EVENT_REGISTERED = "event_registered", "Event registration"
    EVENT_ATTENDED = "event_attended", "Event attended"
    WEBINAR_ATTENDED = "webinar_attended", "Webinar attended"
    AD_IMPRESSION = "ad_impression", "Ad impression"
    AD_CLICK = "ad_click", "Ad click"
    MEETING = "meeting", "Meeting"
    CALL_CONNECTED = "call_connected", "Call connected"
    SALES_EMAIL_REPLY = "sales_email_reply", "Sales email reply"
    SOCIAL_ENGAGEMENT = "social_engagement", "Social engagement"
    PRODUCT_USAGE = "product_usage", "Product usage"
    DIRECT_MAIL_RESPONSE = "direct_mail_response", "Direct mail response"
    NPS_RESPONSE = "nps_response", "NPS response"
    # Outbound rep actions (sales activity): something we did, not time the account spent with
    # us, so no engagement minutes and no awareness; their replies and connects are the kinds above.
    CALL_ATTEMPT = "call_attempt", "Call attempt (not connected)"
    SALES_EMAIL = "sales_email", "Sales email sent"


# The outbound rep actions above: never weighted with engagement minutes (MetricSettings refuses a weight).
REP_ACTION_KINDS = frozenset({TouchpointKind.CALL_ATTEMPT, TouchpointKind.SALES_EMAIL})


# Which touchpoint kinds count as a program's success when the program names none (METRICS.md §4).
DEFAULT_SUCCESS_KINDS: dict[str, list[str]] = {
    Channel.EMAIL: [TouchpointKind.EMAIL_CLICK],
    Channel.WEBINAR: [TouchpointKind.WEBINAR_ATTENDED],
    Channel.EVENT: [TouchpointKind.EVENT_ATTENDED],
    Channel.PAID_SOCIAL: [TouchpointKind.AD_CLICK],
    Channel.DISPLAY: [TouchpointKind.AD_CLICK],
    Channel.CONTENT: [TouchpointKind.CONTENT_DOWNLOAD, TouchpointKind.FORM_FILL],
    Channel.DIRECT_MAIL: [TouchpointKind.DIRECT_MAIL_RESPONSE],
    Channel.SDR_OUTREACH: [
        TouchpointKind.MEETING,
        TouchpointKind.CALL_CONNECTED,
        TouchpointKind.SALES_EMAIL_REPLY,
    ],
    Channel.WEB: [TouchpointKind.FORM_FILL],
}


class Program(models.Model):
    """A marketing or sales program (campaign)."""

    name = models.CharField(max_length=255)
    channel = models.CharField(max_length=20, choices=Channel.choices, db_index=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    cost = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    segment = models.ForeignKey(
        Segment,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="programs",
        help_text="When set, target reach is measured against this segment's target accounts.",
    )
    # Empty means "the channel's defaults" (DEFAULT_SUCCESS_KINDS); see effective_success_kinds.
    success_kinds = models.JSONField(default=list, blank=True)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start_date", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_success_kinds(self) -> list[str]:
        return list(self.success_kinds) or [str(k) for k in DEFAULT_SUCCESS_KINDS.get(self.channel, [])]


class Touchpoint(models.Model):
    """One interaction of an account (and maybe a known contact) with us."""

    # No single-column indexes on the foreign keys: the (…, occurred_at) indexes below lead with
    # them and serve every lookup, and each extra index slows the bulk loads (imports, demo data).
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="touchpoints", db_index=False)
    # Null for anonymous traffic matched to the account by IP or domain: it still counts.
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="touchpoints", db_index=False
    )
    program = models.ForeignKey(
        Program, null=True, blank=True, on_delete=models.SET_NULL, related_name="touchpoints", db_index=False
    )
    kind = models.CharField(max_length=30, choices=TouchpointKind.choices)
    occurred_at = models.DateTimeField()
    minutes = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True, help_text="Actual duration, when the source gave one."
    )
    score = models.SmallIntegerField(null=True, blank=True, help_text="E.g. an NPS score 0–10.")
    source = models.CharField(max_length=50, help_text="Where it came from: salesforce, hubspot, marketo, api, demo…")
    external_id = models.CharField(max_length=150)
    # The rep who made the call, sent the email or held the meeting, when the source says so.
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="touchpoints_performed",
        db_index=False, help_text="The sales rep who performed this touch (sales activity).",
    )

    class Meta:
        constraints = [
            # A re-import of the same activity never counts twice.
            models.UniqueConstraint(fields=["source", "external_id"], name="touchpoint_source_external_id_unique"),
        ]
        indexes = [
            # Every per-account window aggregate (metrics families) and the account timeline.
            models.Index(fields=["account", "occurred_at"], name="touchpoint_account_time"),
            # Program reach and attribution.
            models.Index(fields=["program", "occurred_at"], name="touchpoint_program_time"),
            # The heatmap and "newly engaged contacts".
            models.Index(fields=["contact", "occurred_at"], name="touchpoint_contact_time"),
            # Sales activity per rep and day (sales.activity).
            models.Index(fields=["performed_by", "occurred_at"], name="touchpoint_performer_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.occurred_at:%Y-%m-%d}"


class OpportunityType(models.TextChoices):
    NEW = "new", "New business"
    RENEWAL = "renewal", "Renewal"
    UPSELL = "upsell", "Upsell"


class Opportunity(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="opportunities")
    name = models.CharField(max_length=255)
    amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD")
    stage = models.CharField(max_length=100, blank=True)
    type = models.CharField(max_length=10, choices=OpportunityType.choices, default=OpportunityType.NEW)
    # When the opportunity was created in the CRM (a fact, not the row's insert time).
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    is_closed = models.BooleanField(default=False)
    is_won = models.BooleanField(default=False)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "opportunities"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["account", "created_at"], name="opportunity_account_created"),
            models.Index(fields=["closed_at"], name="opportunity_closed"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_won=False) | models.Q(is_closed=True), name="opportunity_won_implies_closed"
            ),
            models.CheckConstraint(
                condition=models.Q(is_closed=False) | models.Q(closed_at__isnull=False),
                name="opportunity_closed_has_date",
            ),
        ]

    def __str__(self) -> str:
        return self.name
