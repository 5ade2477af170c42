"""The Fit page's tooltips, the attribute labels, and who sees the page."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import Account
from fit import access, scoring
from fit.definitions import DEFINITIONS
from fit.models import FitScore

register = template.Library()


@register.simple_tag(takes_context=True)
def fit_info(context: template.Context, name: str) -> str:
    """A small ⓘ with the definition as hover text, linking to the Fit page's Definitions (for
    whoever sees that page; for the others, the hover text alone)."""
    label, text = DEFINITIONS[name]
    text = text.format(min=settings.FIT_MIN_DEALS)
    request = context.get("request")
    if request is None or not access.can_see_fit(request.user):
        return format_html('<a class="info" title="{}" aria-label="Definition of {}: {}">i</a>', text, label, text)
    return format_html('<a class="info" href="{}#def-{}" title="{}" aria-label="Definition of {}: {}">i</a>',
                       reverse("fit:fit"), name, text, label, text)


@register.filter
def attribute_label(attribute: str) -> str:
    return scoring.ATTRIBUTE_LABELS.get(attribute, attribute)


@register.filter
def can_see_fit(user: AbstractBaseUser | AnonymousUser) -> bool:
    return access.can_see_fit(user)


@register.filter
def contribution(c: dict) -> str:
    """ "Industry Software +18" """
    points = int(c["points"])
    sign = "+" if points > 0 else ("−" if points < 0 else "±")
    return f"{scoring.ATTRIBUTE_LABELS.get(c['attribute'], c['attribute'])} {c['value']}: {sign}{abs(points)}"


@register.filter
def top_contributions(contributions: list[dict], n: int = 3) -> list[dict]:
    """The `n` largest contributions that move the score (stored largest first)."""
    return [c for c in contributions or [] if c.get("points")][:n]


@register.simple_tag
def account_fit(account: Account) -> FitScore | None:
    """The account's fit score with its run, in one query (None before the first fit run)."""
    return FitScore.objects.select_related("run").filter(account=account).first()
