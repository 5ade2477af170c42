"""The Alerts page (rules, follows, preferences, the history of what was sent), the rule form, the
Follow button's endpoint, the weekly summary page and the unsubscribe link. Views read through
alerts.selectors and write through alerts.services."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from abm_dashboard.broker import BrokerUnavailable, broker_available
from accounts.models import Account, Segment
from accounts.roles import can_manage_data
from alerts import selectors, services, tasks
from alerts.forms import RuleForm
from alerts.messages import EVENT_ORDER
from alerts.models import AlertRule, Delivery
from alerts.summary import weekly_summary
from alerts.tokens import read_unsubscribe_token
from metrics.selectors import latest_published_day, published_range

HISTORY_PER_PAGE = 50


def _is_htmx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")


def _back(request: HttpRequest, default: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = default
    return redirect(target)


def _day(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    manage = can_manage_data(user)
    everyone = manage and request.GET.get("who") == "all"
    page = Paginator(selectors.history(user=user, everyone=everyone), HISTORY_PER_PAGE).get_page(
        request.GET.get("page")
    )
    # Mine first, then by recipient; each one's rules in the digest's order.
    rules = sorted(
        selectors.visible_rules(user=user),
        key=lambda r: (r.owner_id != user.pk, r.owner_id, EVENT_ORDER.index(r.event), r.pk),
    )
    context: dict[str, Any] = {
        "page": page,
        "everyone": everyone,
        "can_manage": manage,
        "rules": rules,
        "has_own_rules": any(r.owner_id == user.pk for r in rules),
        "follows": list(selectors.follows(user=user)),
        "prefs": selectors.preferences(user=user),
        "latest_day": latest_published_day(),
    }
    partial = _is_htmx(request) and request.headers.get("HX-Target") == "history"
    response = render(request, "alerts/_history.html" if partial else "alerts/home.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = request.user
    manage = can_manage_data(user)
    rule = get_object_or_404(AlertRule, pk=pk) if pk else AlertRule()
    if pk and not selectors.can_edit_rule(user=user, rule=rule):
        return HttpResponseForbidden("You can edit your own alert rules only.")
    initial = {}
    if not pk:
        # "Alert on this segment" links pass the scope and the segment.
        initial = {k: request.GET[k] for k in ("scope", "segment", "event") if request.GET.get(k)}
    form = RuleForm(request.POST or None, instance=rule, user=user, can_manage=manage, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = services.rule_save(rule=form.save(commit=False), actor=user)
        messages.success(request, f"Saved the rule “{saved.title}”.")
        return redirect("alerts:home")
    return render(request, "alerts/rule_form.html", {"form": form, "rule": rule if pk else None})


@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=pk)
    if not selectors.can_edit_rule(user=request.user, rule=rule):
        return HttpResponseForbidden("You can delete your own alert rules only.")
    title = rule.title
    services.rule_delete(rule=rule)
    messages.success(request, f"Deleted the rule “{title}”.")
    return redirect("alerts:home")


@require_POST
def rules_defaults(request: HttpRequest) -> HttpResponse:
    created = services.rules_create_defaults(user=request.user)
    if created:
        messages.success(request, f"Added {len(created)} rules over your accounts and what you follow.")
    return redirect("alerts:home")


@require_POST
def follow(request: HttpRequest) -> HttpResponse:
    """The Follow button (htmx: answers with the button in its new state; without htmx: back)."""
    account = segment = None
    if request.POST.get("account", "").isdigit():
        account = get_object_or_404(Account, pk=int(request.POST["account"]))
    elif request.POST.get("segment", "").isdigit():
        segment = get_object_or_404(Segment, pk=int(request.POST["segment"]))
    else:
        raise Http404("Nothing to follow")
    following = services.follow_set(
        user=request.user, following=request.POST.get("follow") == "1", account=account, segment=segment
    )
    if _is_htmx(request):
        return render(request, "alerts/_follow_button.html",
                      {"account": account, "segment": segment, "following": following,
                       "next": request.POST.get("next", "")})
    return _back(request, reverse("alerts:home"))


@require_POST
def preferences(request: HttpRequest) -> HttpResponse:
    services.preferences_update(
        user=request.user,
        daily_digest=request.POST.get("daily_digest") == "on",
        weekly_summary=request.POST.get("weekly_summary") == "on",
    )
    messages.success(request, "Saved your email preferences.")
    return redirect("alerts:home")


@require_POST
def send_now(request: HttpRequest) -> HttpResponse:
    """Marketing ops and admins: evaluate and send the latest published day's alerts now (the
    same as after the nightly run; what was sent already is not sent again)."""
    if not can_manage_data(request.user):
        return HttpResponseForbidden("Only marketing ops and admins can send alerts by hand.")
    day = latest_published_day()
    if day is None:
        messages.warning(request, "No published day yet: alerts follow the first complete metrics run.")
        return redirect("alerts:home")
    if not broker_available():
        raise BrokerUnavailable()
    result = tasks.send_alerts.delay(day.isoformat())
    # In-process (no broker) the task is done already and says what it did.
    messages.success(request, result.result if result.ready() else f"Sending the alerts of {day}.")
    return redirect(reverse("alerts:home") + "?who=all")


@require_GET
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = selectors.visible_delivery(user=request.user, pk=pk)
    if delivery is None:
        raise Http404("No such delivery")
    context: dict[str, Any] = {"d": delivery, "can_manage": can_manage_data(request.user)}
    if delivery.kind == Delivery.Kind.WEBHOOK:
        context["body"] = json.dumps(delivery.payload, indent=2, ensure_ascii=False)
    return render(request, "alerts/delivery.html", context)


@require_POST
def delivery_retry(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = selectors.visible_delivery(user=request.user, pk=pk)
    if delivery is None:
        raise Http404("No such delivery")
    if services.delivery_retry(delivery=delivery):
        messages.success(request, "Sending it again.")
    else:
        messages.warning(request, "Only a failed delivery with an address can be sent again.")
    return redirect("alerts:delivery", pk=pk)


@require_GET
def weekly(request: HttpRequest) -> HttpResponse:
    """The weekly executive summary of a published day, as a page that prints cleanly."""
    found = published_range(on_or_before=_day(request.GET.get("as_of")))
    day = found.on_or_before or found.latest
    if day is None:
        return render(request, "alerts/weekly.html", {"s": None})
    return render(request, "alerts/weekly.html", {"s": weekly_summary(as_of=day), "day": day, "range": found})


# No session, no CSRF token: the signed token is all the link carries, so a mail client's
# one-click POST (RFC 8058) works as well as the page's button.
@login_not_required
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks for confirmation (link scanners open links); POST unsubscribes."""
    found = read_unsubscribe_token(token)
    if found is None:
        return render(request, "alerts/unsubscribe.html", {"invalid": True}, status=400)
    user_id, kind = found
    what = "weekly summary" if kind == "weekly" else "daily alert digest"
    if request.method == "POST":
        user = services.preferences_unsubscribe(user_id=user_id, kind=kind)
        if user is None:
            return render(request, "alerts/unsubscribe.html", {"invalid": True}, status=400)
        return render(request, "alerts/unsubscribe.html", {"done": True, "what": what, "email": user.email})
    user = selectors.user_email(user_id=user_id)
    if user is None:
        return render(request, "alerts/unsubscribe.html", {"invalid": True}, status=400)
    return render(request, "alerts/unsubscribe.html", {"what": what, "email": user, "token": token})
