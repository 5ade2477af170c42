"""{% my_sales_activity rep day %}: a rep's own sales activity, for /me/ (sales/activity_me.html)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.contrib.auth.models import AbstractBaseUser

from sales.views_activity import my_activity_context

register = template.Library()


@register.inclusion_tag("sales/activity_me.html", takes_context=True)
def my_sales_activity(context: template.Context, rep: AbstractBaseUser, day: dt.date) -> dict[str, Any]:
    return {"request": context.get("request"), "rep": rep, "as_of_day": day,
            **my_activity_context(rep=rep, as_of=day)}
