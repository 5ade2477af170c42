"""{% day_freshness day %}: how fresh a published day's figures are, for the "as of" bar of the pages."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils.html import format_html

from metrics import selectors

register = template.Library()


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


@register.simple_tag
def day_freshness(day: dt.date | None) -> str:
    """"Computed <time> UTC", plus "updated <time> UTC for N new-touch account(s)" when new touches
    were folded in since (metrics.services.refresh_accounts); nothing for a day not published."""
    fresh = selectors.day_freshness(day)
    if fresh is None or fresh.computed_at is None:
        return ""
    if fresh.refreshed_at is None:
        return format_html('<span class="muted freshness">Computed {} UTC.</span>', _utc(fresh.computed_at))
    n = fresh.refreshed_accounts
    return format_html(
        '<span class="muted freshness" title="Touches imported since the day was computed are included: '
        'the accounts they touch and the day\'s rollups were recomputed.">Computed {} UTC; updated {} UTC '
        "with new touches of {} account{}.</span>",
        _utc(fresh.computed_at), _utc(fresh.refreshed_at), n, "" if n == 1 else "s",
    )
