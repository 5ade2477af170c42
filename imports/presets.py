"""Column names of real exports, per preset and kind, and the value maps that go with them.

A header matches an alias case-insensitively, ignoring spaces and underscores, and ignoring an
"Object:" prefix ("Account: Account Name" matches "Account Name"; when two headers differ only
by prefix, the one whose object is the kind being imported wins: "Contact: Phone" over
"Account: Phone" for contacts). Aliases are listed in order of preference; for a field with
several matching columns the first non-blank value in that order is used (Salesforce activities:
ActivityDateTime, else ActivityDate).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from accounts.models import DEFAULT_SUCCESS_KINDS, Channel, TouchpointKind

KINDS = ("accounts", "contacts", "programs", "opportunities", "touchpoints", "targets", "stage_history")
PRESETS = ("native", "salesforce", "hubspot", "marketo")

# Objects whose prefix ("Contact: Email") marks a column as the kind's own.
KIND_OBJECTS = {
    "accounts": {"account", "company"},
    "contacts": {"contact", "lead"},
    "programs": {"campaign", "program"},
    "opportunities": {"opportunity", "deal"},
    "touchpoints": {"activity", "task", "event", "campaignmember"},
    "targets": {"account", "company"},
    "stage_history": {"opportunityhistory", "opportunity", "deal"},
}

# How a row names its account: by CRM id, by domain, or by name (exact, case-insensitive).
ACCOUNT_REFS = ("account_external_id", "account_domain", "account_name")

NATIVE: dict[str, tuple[str, ...]] = {
    "accounts": ("external_id", "name", "domain", "industry", "employees", "annual_revenue", "country", "owner_email",
                 "tier", "is_target", "segments"),
    "contacts": ("external_id", *ACCOUNT_REFS, "email", "first_name", "last_name", "title", "role",
                 "department", "seniority", "phone", "opted_out"),
    "programs": ("external_id", "name", "channel", "start_date", "end_date", "cost", "segment", "success_kinds"),
    # close_date: a CRM's close date, expected while the deal is open; it becomes closed_at once closed.
    "opportunities": ("external_id", *ACCOUNT_REFS, "name", "amount", "currency", "stage", "type",
                      "created_at", "closed_at", "close_date", "is_closed", "is_won"),
    # contact_external_id is our addition: activity exports name the person by CRM id, not email.
    # performed_by: the email of the rep who made the call, sent the email or held the meeting.
    "touchpoints": ("external_id", "source", "kind", "occurred_at", *ACCOUNT_REFS, "contact_email",
                    "contact_external_id", "program_external_id", "minutes", "score", "performed_by"),
    # A target list: which accounts (any one of the three keys), and optionally their tier and a segment.
    "targets": ("external_id", "domain", "name", "tier", "segment"),
    # An opportunity's stage history (sales.models.OpportunityStageChange): which opportunity (by its
    # external id), the stage it entered, and when. external_id: the history row's own id, when the
    # source has one; source: where it came from (the preset's name when blank).
    "stage_history": ("external_id", "opportunity_external_id", "stage", "entered_at", "source"),
}

# Column sets a file must have, per kind: each entry is a group of fields of which one must be mapped.
# Accounts without an external id or a domain are keyed by their name.
REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "accounts": (("name",),),
    "contacts": (("email", "external_id"),),
    "programs": (("name",), ("channel",)),
    # An opportunity without a name column is named by its external id.
    "opportunities": (("external_id",), ACCOUNT_REFS, ("created_at",)),
    "touchpoints": (("external_id",), ("occurred_at",), (*ACCOUNT_REFS, "contact_email", "contact_external_id")),
    "targets": (("external_id", "domain", "name"),),
    "stage_history": (("opportunity_external_id",), ("stage",), ("entered_at",)),
}

# Presets fill in a touchpoint's source (the preset's name) and kind (from activity types); native files say them.
_NATIVE_TOUCHPOINT_REQUIRED = (("source",), ("kind",))

_SF: dict[str, dict[str, list[str]]] = {
    "accounts": {
        "external_id": ["Id", "Account ID", "Account: Account ID", "AccountId"],
        "name": ["Name", "Account Name"],
        "domain": ["Website", "Domain"],
        "industry": ["Industry"],
        "employees": ["NumberOfEmployees", "Employees"],
        "annual_revenue": ["AnnualRevenue"],
        "country": ["BillingCountry", "Country"],
        "owner_email": ["Owner Email", "Account Owner Email", "OwnerEmail"],
        "tier": ["Tier__c", "Tier", "Account Tier"],
        "is_target": ["Target_Account__c", "Is_Target__c", "Target Account", "IsTarget"],
    },
    "contacts": {
        "external_id": ["Id", "Contact ID", "ContactId", "Lead ID"],
        "account_external_id": ["AccountId", "Account ID"],
        "account_name": ["Account Name", "Account: Account Name", "Company"],
        "email": ["Email"],
        "first_name": ["FirstName", "First Name"],
        "last_name": ["LastName", "Last Name"],
        "title": ["Title"],
        "role": ["Role", "Buying_Role__c", "Contact Role"],
        "department": ["Department"],
        "phone": ["Phone", "MobilePhone"],
        "opted_out": ["HasOptedOutOfEmail", "Email Opt Out"],
    },
    "programs": {
        "external_id": ["Id", "Campaign ID", "CampaignId"],
        "name": ["Name", "Campaign Name"],
        "channel": ["Type", "Campaign Type"],
        "start_date": ["StartDate", "Start Date"],
        "end_date": ["EndDate", "End Date"],
        "cost": ["ActualCost", "Actual Cost", "BudgetedCost", "Budgeted Cost"],
    },
    "opportunities": {
        "external_id": ["Id", "Opportunity ID", "OpportunityId"],
        "account_external_id": ["AccountId", "Account ID"],
        "name": ["Name", "Opportunity Name"],
        "amount": ["Amount"],
        "currency": ["CurrencyIsoCode", "Opportunity Currency", "Currency"],
        "stage": ["StageName", "Stage"],
        "type": ["Type", "Opportunity Type"],
        "created_at": ["CreatedDate", "Created Date"],
        "close_date": ["CloseDate", "Close Date"],
        "is_closed": ["IsClosed", "Closed"],
        "is_won": ["IsWon", "Won"],
    },
    "touchpoints": {
        "external_id": ["Id", "Activity ID", "Task ID", "Event ID", "CampaignMember ID"],
        "account_external_id": ["AccountId", "Account ID"],
        "contact_external_id": ["WhoId", "ContactId", "Contact ID", "LeadId", "Lead ID"],
        "contact_email": ["Email", "Contact Email"],
        "program_external_id": ["CampaignId", "Campaign ID"],
        "occurred_at": ["ActivityDateTime", "StartDateTime", "FirstRespondedDate", "ActivityDate", "CreatedDate"],
        "activity_type": ["Type", "Activity Type"],
        "subtype": ["TaskSubtype", "EventSubtype"],
        "status": ["Status"],
        "responded": ["HasResponded"],
        "minutes": ["DurationInMinutes"],
        "duration_seconds": ["CallDurationInSeconds"],
        # The task's or event's owner (the rep), by email: a report's "Assigned" column or a SOQL
        # export of Owner.Email. (Fivetran's owner_id is a user id, not an email: not mapped.)
        "performed_by": ["Owner Email", "OwnerEmail", "Owner.Email", "Assigned To Email", "Assigned Email"],
        "call_disposition": ["CallDisposition", "Call Result"],
    },
}

_HUBSPOT: dict[str, dict[str, list[str]]] = {
    "accounts": {
        "external_id": ["Record ID", "Company ID", "id", "company_id"],
        "name": ["Company name", "Name", "property_name"],
        "domain": ["Company Domain Name", "Website URL", "property_domain", "property_website", "Domain"],
        "industry": ["Industry", "property_industry"],
        "employees": ["Number of Employees", "property_numberofemployees"],
        "annual_revenue": ["Annual Revenue", "property_annualrevenue"],
        "country": ["Country/Region", "Country", "property_country"],
        "owner_email": ["Owner Email", "Company owner email"],
        "tier": ["ICP Tier", "Ideal customer profile tier", "property_hs_ideal_customer_profile", "Tier"],
        "is_target": ["Target Account", "property_hs_is_target_account", "Is target account"],
    },
    "contacts": {
        "external_id": ["Record ID", "Contact ID", "id", "vid"],
        "account_external_id": ["Associated Company IDs (Primary)", "Associated Company ID", "Associated Company IDs",
                                "property_associatedcompanyid", "associatedcompanyid"],
        "account_name": ["Company Name", "Company", "property_company"],
        "email": ["Email", "property_email"],
        "first_name": ["First Name", "property_firstname"],
        "last_name": ["Last Name", "property_lastname"],
        "title": ["Job Title", "property_jobtitle"],
        "role": ["Buying Role", "property_hs_buying_role"],
        "department": ["Department", "property_department"],
        "seniority": ["Seniority", "property_hs_seniority"],
        "phone": ["Phone Number", "property_phone"],
        "opted_out": ["Unsubscribed from all email", "property_hs_email_optout"],
    },
    "programs": {
        "external_id": ["Campaign ID", "Record ID", "id"],
        "name": ["Campaign name", "Name", "property_name"],
        "channel": ["Campaign type", "Channel", "Type"],
        "start_date": ["Start date", "property_hs_start_date"],
        "end_date": ["End date", "property_hs_end_date"],
        "cost": ["Actual spend", "Budget", "property_hs_budget_items_sum_amount"],
    },
    "opportunities": {
        "external_id": ["Record ID", "Deal ID", "deal_id", "id"],
        "account_external_id": ["Associated Company IDs (Primary)", "Associated Company ID", "Associated Company IDs",
                                "company_id"],
        "name": ["Deal Name", "property_dealname"],
        "amount": ["Amount", "property_amount"],
        "currency": ["Currency", "Deal currency code", "property_deal_currency_code"],
        "stage": ["Deal Stage", "property_dealstage", "deal_pipeline_stage_id", "dealstage"],
        "type": ["Deal Type", "property_dealtype"],
        "created_at": ["Create Date", "property_createdate", "createdate"],
        "close_date": ["Close Date", "property_closedate", "closedate"],
        "is_closed": ["Is Closed", "property_hs_is_closed"],
        "is_won": ["Is Closed Won", "property_hs_is_closed_won"],
    },
    "touchpoints": {
        "external_id": ["id", "conversion_id", "engagement_id", "Activity ID", "Record ID"],
        "account_external_id": ["company_id", "Associated Company ID", "Associated Company IDs (Primary)"],
        "contact_email": ["recipient", "Email", "Contact email"],
        "contact_external_id": ["contact_id", "Contact ID", "Associated Contact ID"],
        "occurred_at": ["created", "timestamp", "start_time", "property_hs_timestamp", "Activity date", "Create Date"],
        "activity_type": ["type", "Activity type"],
        "form_id": ["form_id", "Form ID"],
        "end_time": ["end_time"],
    },
}

_MARKETO: dict[str, dict[str, list[str]]] = {
    "accounts": {
        "external_id": ["externalCompanyId", "Company ID", "id"],
        "name": ["company", "Company Name", "name"],
        "domain": ["website", "domain"],
        "industry": ["industry"],
        "employees": ["numberOfEmployees"],
        "annual_revenue": ["annualRevenue"],
        "country": ["billingCountry", "country"],
    },
    "contacts": {
        "external_id": ["id", "Id", "leadId", "Lead ID", "Marketo ID"],
        "account_external_id": ["externalCompanyId", "sfdcAccountId"],
        "account_name": ["company", "Company Name"],
        "email": ["email", "Email Address"],
        "first_name": ["firstName", "First Name"],
        "last_name": ["lastName", "Last Name"],
        "title": ["title", "Job Title"],
        "department": ["department"],
        "phone": ["phone", "Phone Number"],
        "opted_out": ["unsubscribed"],
    },
    "programs": {
        "external_id": ["id", "Program ID"],
        "name": ["name", "Program Name"],
        "channel": ["channel"],
        "start_date": ["startDate"],
        "end_date": ["endDate"],
        "cost": ["cost", "Period Cost"],
    },
    "opportunities": {
        "external_id": ["externalOpportunityId", "id"],
        "account_external_id": ["externalCompanyId"],
        "name": ["name", "Opportunity Name"],
        "amount": ["amount"],
        "stage": ["stage"],
        "type": ["type"],
        "created_at": ["externalCreatedDate", "createdAt"],
        "close_date": ["closeDate"],
        "is_closed": ["isClosed"],
        "is_won": ["isWon"],
    },
    "touchpoints": {
        "external_id": ["marketoGUID", "id", "Activity ID"],
        "contact_external_id": ["leadId", "Lead ID"],
        "contact_email": ["email"],
        "occurred_at": ["activityDate", "Activity Date"],
        "activity_type": ["activityTypeId", "Activity Type ID", "Activity Type"],
        "program_id_attr": ["primaryAttributeValueId"],
        "attributes": ["attributes"],
        "status": ["New Status", "new_status"],
    },
}


def _native(kind: str) -> dict[str, list[str]]:
    return {name: [name] for name in NATIVE[kind]}


# Target lists are short hand-made files: any of these spellings, whatever the preset.
_TARGETS = {
    "external_id": ["external_id", "Id", "Account ID", "AccountId", "Record ID", "Company ID", "CRM ID"],
    "domain": ["domain", "Website", "Company Domain Name", "Web site", "URL"],
    "name": ["name", "Account", "Account Name", "Company", "Company name", "Organisation", "Organization"],
    "tier": ["tier", "Account Tier", "ICP Tier", "Priority"],
    "segment": ["segment", "Segment", "List", "Campaign"],
}
for _preset in (_SF, _HUBSPOT, _MARKETO):
    _preset["targets"] = _TARGETS

# Stage history. Salesforce: the OpportunityHistory object (a Data Loader or SOQL export: Id,
# OpportunityId, CreatedDate, StageName; IsDeleted rows skipped), the "Opportunity History"
# report (Opportunity ID, To Stage, Edit Date) and sync tools' snake_case. Its rows also record
# changes of amount or close date with the stage unchanged: the analysis counts only changes of
# stage (sales.trends.stage_entries). HubSpot: deal-stage history as Fivetran lands it
# (deal_property_history: deal_id, timestamp, name, value — rows of other properties are skipped —
# or deal_stage: deal_id, date_entered, value) or a property-history export (Deal ID, Timestamp,
# Deal Stage). HubSpot rows have no id of their own: the deal's id and the moment stand for one.
# Marketo holds no opportunity history.
_SF["stage_history"] = {
    "external_id": ["Id", "Opportunity History ID", "History ID"],
    "opportunity_external_id": ["OpportunityId", "Opportunity ID", "opportunity_id"],
    "stage": ["StageName", "Stage Name", "To Stage", "Stage", "stage_name"],
    "entered_at": ["CreatedDate", "Created Date", "Edit Date", "created_date"],
    "is_deleted": ["IsDeleted", "Deleted", "is_deleted"],
}
_HUBSPOT["stage_history"] = {
    "opportunity_external_id": ["deal_id", "Deal ID", "dealId", "Record ID"],
    "stage": ["Deal Stage", "dealstage", "value"],
    "entered_at": ["date_entered", "timestamp", "Date entered", "Timestamp", "Date"],
    "property": ["name", "Property name", "Property"],
}
_MARKETO["stage_history"] = {}

# HubSpot's default sales pipeline writes its stages by internal id: shown by their labels.
# (closedwon and closedlost are the stage picklist's won and lost already.)
_HUBSPOT_STAGES = {
    "appointmentscheduled": "Appointment scheduled", "qualifiedtobuy": "Qualified to buy",
    "presentationscheduled": "Presentation scheduled", "decisionmakerboughtin": "Decision maker bought-in",
    "contractsent": "Contract sent", "closedwon": "Closed won", "closedlost": "Closed lost",
}


def stage_label(value: str, preset: str) -> str:
    """A history row's stage as the page shows it: HubSpot's default internal ids by their labels."""
    if preset == "hubspot":
        return _HUBSPOT_STAGES.get(value.strip().lower(), value.strip())
    return value.strip()


def is_stage_row(row: Mapping[str, str]) -> bool:
    """False for a history row that is not about the stage (HubSpot's other deal properties)."""
    prop = re.sub(r"[^a-z]", "", row.get("property", "").lower())
    return prop in ("", "dealstage")

ALIASES: dict[str, dict[str, dict[str, list[str]]]] = {
    "native": {kind: _native(kind) for kind in KINDS},
    "salesforce": _SF,
    "hubspot": _HUBSPOT,
    "marketo": _MARKETO,
}
ALIASES["native"]["targets"] = _TARGETS
# Sync tools (Fivetran, Airbyte) land the same objects with snake_case API names: "annual_revenue",
# "number_of_employees", "stage_name", "is_won". Header matching ignores underscores, so most map
# already; these are the ones whose spelling differs.
_SF["opportunities"]["stage"].append("stage_name")
_SF["opportunities"]["close_date"].append("close_date")
_SF["touchpoints"]["contact_external_id"].insert(0, "who_id")
_SF["touchpoints"]["occurred_at"][0:0] = ["activity_date_time", "start_date_time"]
_SF["touchpoints"]["subtype"] += ["task_subtype", "event_subtype"]
_SF["touchpoints"]["duration_seconds"].append("call_duration_in_seconds")
_MARKETO["touchpoints"]["contact_external_id"].insert(0, "lead_id")
_MARKETO["touchpoints"]["occurred_at"].insert(0, "activity_date")
_MARKETO["touchpoints"]["activity_type"].insert(0, "activity_type_id")
_MARKETO["touchpoints"]["program_id_attr"].append("primary_attribute_value_id")


def header_key(header: str) -> tuple[str, str | None]:
    """'Account: Account Name' → ('accountname', 'account'); 'number_of_employees' → ('numberofemployees', None)."""
    text = re.sub(r"[\s_]+", "", header.replace("\ufeff", "").lower())
    if ":" in text:
        prefix, bare = text.rsplit(":", 1)
        return bare, prefix
    return text, None


@dataclass
class ColumnMapping:
    """Which columns feed which field: field → column indexes in order of preference."""

    preset: str
    columns: dict[str, list[int]]
    header: list[str]
    missing: list[tuple[str, ...]] = field(default_factory=list)
    # From a user mapping (imports.mapping): field → constant text, field → multiplier.
    constants: dict[str, str] = field(default_factory=dict)
    multipliers: dict[str, Decimal] = field(default_factory=dict)

    @property
    def mapped_headers(self) -> dict[str, list[str]]:
        return {name: [self.header[i] for i in idx] for name, idx in self.columns.items()}

    @property
    def unmapped(self) -> list[str]:
        used = {i for idx in self.columns.values() for i in idx}
        return [h for i, h in enumerate(self.header) if i not in used]


def map_columns(header: list[str], kind: str, preset: str) -> ColumnMapping:
    keys = [header_key(h) for h in header]
    own = KIND_OBJECTS[kind]
    columns: dict[str, list[int]] = {}
    taken: set[int] = set()
    for name, aliases in ALIASES[preset][kind].items():
        found: list[int] = []
        for alias in aliases:
            bare, prefix = header_key(alias)
            matches = [
                i for i, (hbare, hprefix) in enumerate(keys)
                if i not in taken and i not in found and hbare == bare and (prefix is None or hprefix == prefix)
            ]
            # "Contact: Phone" before an unprefixed "Phone" before "Account: Phone" for contacts.
            matches.sort(key=lambda i: 0 if keys[i][1] in own else 1 if keys[i][1] is None else 2)
            found.extend(matches[:1])
        if found:
            columns[name] = found
            taken.update(found)
    mapping = ColumnMapping(preset=preset, columns=columns, header=header)
    mapping.missing = missing_fields(mapping, kind)
    return mapping


def missing_fields(mapping: ColumnMapping, kind: str) -> list[tuple[str, ...]]:
    """The required groups that neither a column nor a constant fills."""
    required = REQUIRED[kind]
    if (mapping.preset, kind) == ("native", "touchpoints"):
        required += _NATIVE_TOUCHPOINT_REQUIRED
    given = set(mapping.columns) | set(mapping.constants)
    return [group for group in required if not given & set(group)]


def mappable_fields(kind: str) -> set[str]:
    """Every field a column can feed for `kind`: ours, plus the fields the presets read (activity types…)."""
    return {*NATIVE[kind], *(name for preset in PRESETS for name in ALIASES[preset][kind])}


def choose_mapping(header: list[str], kind: str, preset: str) -> ColumnMapping:
    """The preset asked for, or with preset 'auto' the one that maps the required columns and most others."""
    if preset != "auto":
        return map_columns(header, kind, preset)
    return best_of([map_columns(header, kind, p) for p in PRESETS])


def best_of(candidates: list[ColumnMapping]) -> ColumnMapping:
    return max(candidates, key=lambda m: (not m.missing, len(m.columns), m.preset == "native"))


# --- value maps ----------------------------------------------------------------------------------

class Skip(Exception):
    """A row that is valid but not ours to import (an email send, an operational program); counted."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_CHANNELS = {
    "email": "email", "emailcampaign": "email", "emailnurture": "email", "nurture": "email", "emailsend": "email",
    "emailblast": "email", "newsletter": "email",
    "webinar": "webinar", "virtualevent": "webinar", "onlineevent": "webinar", "eventwithwebinar": "webinar",
    "event": "event", "tradeshow": "event", "conference": "event", "fieldevent": "event", "roadshow": "event",
    "liveevent": "event", "seminarconference": "event", "seminar": "event",
    "paidsocial": "paid_social", "social": "paid_social", "socialmedia": "paid_social", "linkedinads": "paid_social",
    "display": "display", "onlineadvertising": "display", "advertisement": "display", "bannerads": "display",
    "paidsearch": "display", "ppc": "display",
    "content": "content", "contentsyndication": "content", "whitepaper": "content",
    "directmail": "direct_mail",
    "sdroutreach": "sdr_outreach", "telemarketing": "sdr_outreach", "outbound": "sdr_outreach",
    "web": "web", "webrequest": "web", "website": "web", "webform": "web",
}
_NOT_MARKETING_CHANNELS = {"operational"}


def map_channel(value: str, preset: str) -> str:
    if preset == "native":
        return value
    key = re.sub(r"[^a-z]", "", value.lower())
    if key in _NOT_MARKETING_CHANNELS:
        raise Skip(f"{value} programs are not marketing programs")
    return _CHANNELS.get(key, value)


_OPP_TYPES = {
    "new": "new", "newbusiness": "new", "newcustomer": "new",
    "renewal": "renewal", "existingcustomerreplacement": "renewal", "existingcustomerdowngrade": "renewal",
    "existingbusiness": "upsell", "existingcustomerupgrade": "upsell", "upsell": "upsell", "upgrade": "upsell",
    "expansion": "upsell", "crosssell": "upsell",
}


def map_opportunity_type(value: str, preset: str) -> str:
    if preset == "native":
        return value
    return _OPP_TYPES.get(re.sub(r"[^a-z]", "", value.lower()), value)


# Marketo activity types (REST API ids and their names). Engagement types map to a kind; the
# rest are skipped and counted under their name.
_MARKETO_KINDS = {
    "1": TouchpointKind.WEB_VISIT, "visitwebpage": TouchpointKind.WEB_VISIT,
    "2": TouchpointKind.FORM_FILL, "filloutform": TouchpointKind.FORM_FILL,
    # A clicked link on a Marketo landing page is a page view on our site, so it counts as a visit.
    "3": TouchpointKind.WEB_VISIT, "clicklink": TouchpointKind.WEB_VISIT,
    "10": TouchpointKind.EMAIL_OPEN, "openemail": TouchpointKind.EMAIL_OPEN,
    "11": TouchpointKind.EMAIL_CLICK, "clickemail": TouchpointKind.EMAIL_CLICK,
    "attendevent": TouchpointKind.EVENT_ATTENDED,
}
_MARKETO_SKIPPED = {
    "6": "Send Email", "sendemail": "Send Email", "7": "Email Delivered", "emaildelivered": "Email Delivered",
    "8": "Email Bounced", "emailbounced": "Email Bounced", "9": "Unsubscribe Email", "12": "New Lead",
    "13": "Change Data Value", "22": "Change Score", "46": "Interesting Moment",
}
_PROGRESSION = {"104", "changestatusinprogression"}


@dataclass
class KindContext:
    """What kind resolution needs from the database: program channels by external id."""

    program_channel: Callable[[str], str | None]


def touchpoint_kind(preset: str, row: Mapping[str, str], ctx: KindContext) -> tuple[str, dict[str, str]]:
    """The touchpoint kind of one row, plus fields the preset fills in (program, minutes).

    Raises Skip for rows that are not engagement.
    """
    if preset == "native":
        return row.get("kind", ""), {}
    if preset == "marketo":
        return _marketo_kind(row, ctx)
    if preset == "hubspot":
        return _hubspot_kind(row)
    return _salesforce_kind(row, ctx)


def _marketo_kind(row: Mapping[str, str], ctx: KindContext) -> tuple[str, dict[str, str]]:
    raw = row.get("activity_type", "").strip()
    key = re.sub(r"[^a-z0-9]", "", raw.lower())
    if key in _MARKETO_KINDS:
        return _MARKETO_KINDS[key], {}
    if key in _PROGRESSION:
        status = row.get("status", "")
        attributes = row.get("attributes", "")
        if not status and attributes:
            try:
                parsed = json.loads(attributes)
            except json.JSONDecodeError:
                parsed = {}
            if isinstance(parsed, list):  # the REST API's [{"name": …, "value": …}] shape
                parsed = {a.get("name"): a.get("value") for a in parsed if isinstance(a, dict)}
            status = str(parsed.get("New Status") or parsed.get("newStatus") or "") if isinstance(parsed, dict) else ""
        program = row.get("program_id_attr", "").strip()
        extra = {"program_external_id": program} if program else {}
        normal = status.strip().lower()
        if normal.startswith("attended"):
            channel = ctx.program_channel(program) if program else None
            kind = TouchpointKind.WEBINAR_ATTENDED if channel == Channel.WEBINAR else TouchpointKind.EVENT_ATTENDED
            return kind, extra
        if normal.startswith("registered"):
            return TouchpointKind.EVENT_REGISTERED, extra
        raise Skip(f"Change Status in Progression to {status or 'no status'!r}")
    name = _MARKETO_SKIPPED.get(key) or (f"activity type {raw}" if raw else "no activity type")
    raise Skip(f"Marketo {name} (not engagement)")


_HUBSPOT_EMAIL = {"open": TouchpointKind.EMAIL_OPEN, "click": TouchpointKind.EMAIL_CLICK}


def _hubspot_kind(row: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    if row.get("form_id"):
        return TouchpointKind.FORM_FILL, {}
    kind = row.get("activity_type", "").strip().lower()
    if kind in _HUBSPOT_EMAIL:
        return _HUBSPOT_EMAIL[kind], {}
    if kind == "call":
        return TouchpointKind.CALL_CONNECTED, {}
    if kind == "meeting" or (not kind and row.get("end_time")):
        return TouchpointKind.MEETING, {"end_time": row.get("end_time", "")}
    raise Skip(f"HubSpot {kind.upper() or 'untyped'} event (not engagement)")


_NOT_CONNECTED = re.compile(r"no answer|voice ?mail|left (a )?message|busy|not? connect|wrong number|unreachable",
                            re.IGNORECASE)


def _salesforce_kind(row: Mapping[str, str], ctx: KindContext) -> tuple[str, dict[str, str]]:
    status = row.get("status", "").strip().lower()
    program = row.get("program_external_id", "").strip()
    if program and ("status" in row or "responded" in row) and "activity_type" not in row:
        # A CampaignMember: attendance by the campaign's channel, a response counts as its success.
        channel = ctx.program_channel(program)
        if "attend" in status:
            return (TouchpointKind.WEBINAR_ATTENDED if channel == Channel.WEBINAR else TouchpointKind.EVENT_ATTENDED), {}
        if "regist" in status:
            return TouchpointKind.EVENT_REGISTERED, {}
        if status == "responded" or row.get("responded", "").strip().lower() in ("true", "1", "yes"):
            kinds = DEFAULT_SUCCESS_KINDS.get(channel or "", [])
            if kinds:
                return kinds[0], {}
        raise Skip(f"Salesforce campaign member status {row.get('status') or 'blank'!r} (not engagement)")
    subtype = row.get("subtype", "").strip().lower()
    activity = row.get("activity_type", "").strip().lower()
    if subtype == "call" or activity == "call":
        # A call whose logged result says nobody answered is an attempt (connect rates need them).
        if _NOT_CONNECTED.search(row.get("call_disposition", "")):
            return TouchpointKind.CALL_ATTEMPT, {}
        return TouchpointKind.CALL_CONNECTED, {}
    if activity == "meeting" or (subtype == "event" and activity in ("", "meeting")):
        return TouchpointKind.MEETING, {}
    if subtype == "email" or activity == "email":
        # An email the rep sent: sales activity, worth no engagement minutes.
        return TouchpointKind.SALES_EMAIL, {}
    raise Skip(f"Salesforce {subtype or 'activity'} of type {row.get('activity_type') or 'blank'!r} (not engagement)")
