"""The data-quality page: each problem that stops the figures from being right, with its records
and the fix. Marketing ops and admins only, like the import page whose files fix most of them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET

from accounts.models import Role
from accounts.roles import can_manage_data
from metrics.models import MetricSettings
from quality import selectors
from quality.problems import PROBLEMS, Problem


@dataclass(frozen=True)
class _Row:
    url: str
    label: str
    details: tuple[str, ...]


@dataclass(frozen=True)
class _GroupRow:
    name: str
    rows: list[_Row]
    more: int


@dataclass(frozen=True)
class _Item:
    problem: Problem
    finding: selectors.Finding
    count: str
    also: str
    why: SafeString
    fix: SafeString
    rows: list[_Row]
    groups: list[_GroupRow]


def _url(record: selectors.Record) -> str:
    """Accounts open on their dashboard page; everything else on its admin change page."""
    if record.model == "account":
        return reverse("dashboard:account_detail", args=[record.pk])
    return reverse(f"admin:accounts_{record.model}_change", args=[record.pk])


def _rows(records: tuple[selectors.Record, ...]) -> list[_Row]:
    return [_Row(url=_url(r), label=r.label, details=r.details) for r in records]


def _counted(n: int, words: tuple[str, str]) -> str:
    return f"{n:,} {words[0] if n == 1 else words[1]}"


def _item(finding: selectors.Finding, *, required_roles: str) -> _Item:
    problem = PROBLEMS[finding.key]
    # The texts are trusted constants; format_html escapes what is filled in.
    return _Item(
        problem=problem,
        finding=finding,
        count=_counted(finding.count, problem.unit),
        also=_counted(finding.also, problem.also) if problem.also and finding.also is not None else "",
        why=format_html(problem.why, required_roles=required_roles),
        fix=format_html(problem.fix, required_roles=required_roles),
        rows=_rows(finding.records),
        groups=[_GroupRow(name=g.name, rows=_rows(g.records), more=g.more) for g in finding.groups],
    )


def _role_names(roles: list[str]) -> str:
    labels = dict(Role.choices)
    return ", ".join(str(labels.get(r, r)).lower() for r in roles) or "none"


@require_GET
def data_quality(request: HttpRequest) -> HttpResponse:
    if not can_manage_data(request.user):
        raise PermissionDenied("The data-quality page is for marketing ops and admins.")
    required_roles = list(MetricSettings.load().required_roles)
    today = timezone.now().astimezone(dt.timezone.utc).date()
    findings = selectors.data_quality_findings(today=today, required_roles=required_roles)
    items = [_item(f, required_roles=_role_names(required_roles)) for f in findings]
    context = {
        "problems": [i for i in items if not i.finding.ok],
        "passed": [i for i in items if i.finding.ok],
        "checks": len(items),
        "today": today,
        "records_shown": selectors.RECORDS_SHOWN,
    }
    return render(request, "quality/data_quality.html", context)
