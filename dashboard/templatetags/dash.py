"""Number formatting and the ⓘ definition tooltip shared by every dashboard template.

Labels and definitions come from the registry, metrics.figures, filled from the current
settings (read once per request by dashboard.definitions).
"""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts.models import Contact
from accounts.roles import can_see_contact_details, contact_name
from dashboard.definitions import described, metric_settings
from metrics import figures
from metrics.models import JourneyStage

register = template.Library()

Number = int | float | Decimal | None


def _described(context: template.Context, name: str) -> figures.Described:
    return described(context.get("request"))[name]


@register.simple_tag(takes_context=True)
def info(context: template.Context, name: str) -> str:
    """A small ⓘ whose hover text is the figure's definition, linking to the definitions page."""
    d = _described(context, name)
    return format_html(
        # A styled "i" rather than the ⓘ character, which some system fonts lack.
        '<a class="info" href="{}#{}" title="{}" aria-label="Definition of {}: {}">i</a>',
        reverse("dashboard:definitions"),
        name,
        d.text,
        d.label,
        d.text,
    )


@register.simple_tag(takes_context=True)
def label(context: template.Context, name: str) -> str:
    return _described(context, name).label


@register.simple_tag(takes_context=True)
def definition(context: template.Context, name: str) -> str:
    return _described(context, name).text


@register.simple_tag(takes_context=True)
def window_days(context: template.Context, window: str) -> int:
    """The length in days of a window of METRICS.md (W90, W30, P30, W7, B21) in the current settings."""
    setting = {name: setting for name, setting, _ in figures.WINDOWS}[window]
    return getattr(metric_settings(context.get("request")), setting)


@register.filter
def figure(value: object, name: str) -> str:
    """A figure's value in the registry's page format for it (a share as a percentage, …)."""
    fmt, _, digits = figures.FIGURES[name].page_format.partition(":")
    if fmt == "yesno":
        return "–" if value is None else ("yes" if value else "no")
    if fmt == "stage":
        return "–" if value is None else str(JourneyStage(value).label)
    formatter = {"num": num, "pct": pct, "money": money}[fmt]
    return formatter(value, int(digits)) if digits else formatter(value)


@register.filter
def pct(value: Number, digits: int = 0) -> str:
    """A share 0–1 as a percentage; "–" when undefined (e.g. focus with no successes)."""
    if value is None:
        return "–"
    return f"{float(value) * 100:.{digits}f} %"


@register.filter
def num(value: Number, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{float(value):,.{digits}f}"


@register.filter
def money(value: Number) -> str:
    """Whole currency units with thousands separators; compact (k / M) above a million."""
    if value is None:
        return "–"
    v = float(value)
    if abs(v) >= 1_000_000:
        return f"{v / 1_000_000:,.1f} M"
    return f"{v:,.0f}"


@register.filter
def signed(value: Number, digits: int = 0) -> str:
    if value is None:
        return "–"
    v = float(value)
    text = f"{v:+,.{digits}f}"
    return "±0" if text.lstrip("+-").strip("0.,") == "" else text.replace("-", "−")


@register.filter
def get(mapping: dict, key: object) -> object:
    return mapping.get(key) if mapping else None


@register.simple_tag(takes_context=True)
def hidden_query(context, exclude: str = "as_of,page") -> str:
    """Hidden inputs carrying the current query string, so a small form (the date picker) keeps the filters."""
    request = context["request"]
    skip = set(exclude.split(","))
    return format_html_join(
        "", '<input type="hidden" name="{}" value="{}">',
        ((k, v) for k, values in request.GET.lists() if k not in skip for v in values),
    )


@register.simple_tag(takes_context=True)
def query_with(context, **changes: object) -> str:
    """The current query string with some parameters replaced (None or "" drops one)."""
    query = context["request"].GET.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value not in (None, ""):
            query[key] = str(value)
    return "?" + query.urlencode() if query else "?"


@register.filter
def attr(obj: object, name: str) -> object:
    return getattr(obj, name, None)


@register.simple_tag(takes_context=True)
def person(context: template.Context, contact: Contact) -> str:
    """A contact's name as the pages show it. Without a first or last name, the email stands in
    only for roles that may see emails (accounts.roles.can_see_contact_details); for others,
    "Contact #id": an executive never reads an address off a name."""
    return person_name(context, contact.first_name, contact.last_name, contact.email, contact.pk)


@register.simple_tag(takes_context=True)
def person_name(context: template.Context, first: str | None, last: str | None, email: str | None,
                pk: object) -> str:
    """{% person %} from the values of a contact (a .values() row)."""
    request = context.get("request")
    return contact_name(first, last, email, pk, emails=request is not None and can_see_contact_details(request.user))
