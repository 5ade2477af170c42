"""Number formatting and the ⓘ definition tooltip shared by every dashboard template."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from dashboard.definitions import DEFINITIONS

register = template.Library()

Number = int | float | Decimal | None


@register.simple_tag
def info(name: str) -> str:
    """A small ⓘ whose hover text is the figure's definition, linking to the definitions page."""
    d = DEFINITIONS[name]
    return format_html(
        # A styled "i" rather than the ⓘ character, which some system fonts lack.
        '<a class="info" href="{}#{}" title="{}" aria-label="Definition of {}: {}">i</a>',
        reverse("dashboard:definitions"),
        name,
        d.text,
        d.label,
        d.text,
    )


@register.simple_tag
def label(name: str) -> str:
    return DEFINITIONS[name].label


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
