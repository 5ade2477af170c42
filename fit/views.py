"""The Fit page: how well the fit score predicts, what drives it, and look-alikes to target.

Marketing, admins and executives see it; marking look-alikes as targets, editing the rule profile
and retraining are for marketing ops and admins. Marking reuses the account list's confirmation
page (templates/dashboard/account_targets_confirm.html) and accounts.services.account_targets_mark.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from abm_dashboard.broker import BrokerUnavailable, broker_available
from accounts.models import Segment
from accounts.roles import can_manage_data
from accounts.services import InvalidRecord, account_targets_mark
from dashboard.forms import TargetMarkForm
from dashboard.selectors import AsOf
from fit import charts, scoring, selectors, services
from fit.access import can_see_fit
from fit.definitions import described
from fit.forms import FitProfileForm, LookalikeFilterForm
from fit.models import FitMethod, FitProfile, FitRun

LOOKALIKES_PER_PAGE = 25
TOP_EFFECTS = 12  # the contributions table shows the strongest values first; the rest fold away
NOT_ALLOWED = "Only marketing, admins and executives see the Fit page."
MARK_NOT_ALLOWED = "Only marketing ops and admins can change the target accounts."
MARK_ID = "mark_%s"  # the options' ids, distinct from the filters'


def _query(request: HttpRequest) -> str:
    query = request.GET.copy()
    for key in ("page", "run", "count"):
        query.pop(key, None)
    return query.urlencode()


def _with_query(url: str, query: str) -> str:
    return url + ("?" + query if query else "")


@require_GET
def fit(request: HttpRequest) -> HttpResponse:
    if not can_see_fit(request.user):
        return HttpResponseForbidden(NOT_ALLOWED)
    profile = FitProfile.load()
    return _fit_page(request, profile_form=FitProfileForm(initial=services.profile_texts(profile)), profile=profile)


def _fit_page(request: HttpRequest, *, profile_form: FitProfileForm, profile: FitProfile,
              status: int = 200) -> HttpResponse:
    run = selectors.latest_run()
    form = LookalikeFilterForm(request.GET)
    query = _query(request)
    context: dict[str, Any] = {
        "run": run,
        "form": form,
        "query": query,
        "can_manage": can_manage_data(request.user),
        "profile": profile,
        "profile_form": profile_form,
        "definitions": described(),
        "min_deals": settings.FIT_MIN_DEALS,
    }
    if run is not None:
        effects = run.attributes or []
        page = Paginator(selectors.lookalikes(filters=form.filters()), LOOKALIKES_PER_PAGE).get_page(
            request.GET.get("page"))
        context.update(
            is_model=run.method == FitMethod.MODEL,
            distribution_fig=charts.distribution(selectors.distribution(run=run)),
            calibration_fig=charts.calibration(run.calibration) if run.calibration else None,
            top_effects=effects[:TOP_EFFECTS],
            bottom_effects=effects[TOP_EFFECTS:],
            page=page,
            mark_url=_with_query(reverse("fit:mark"), query),
            profile_rows=[
                (f"{scoring.ATTRIBUTE_LABELS[attribute]} {value}", points)
                for attribute, chosen in services.profile_points(profile).items()
                for value, points in sorted(chosen.items(), key=lambda kv: -kv[1])
            ],
        )
    return render(request, "fit/fit.html", context, status=status)


@require_POST
def profile_save(request: HttpRequest) -> HttpResponse:
    """Save the rule profile; while the profile scores the accounts, rescore them with it."""
    if not can_manage_data(request.user):
        return HttpResponseForbidden("Only marketing ops and admins can edit the rule profile.")
    form = FitProfileForm(request.POST)
    form.is_valid()
    try:
        services.fit_profile_update(texts=form.cleaned_data, user=request.user)
    except InvalidRecord as exc:
        for problem in exc.problems:
            form.add_error(problem.field if problem.field in form.fields else None, problem.reason)
        return _fit_page(request, profile_form=form, profile=FitProfile.load(), status=400)
    messages.success(request, "Rule profile saved.")
    run = selectors.latest_run()
    if run is None or run.method == FitMethod.RULES:
        _queue_training(request, "Rescoring the accounts with the new profile")
    return redirect("fit:fit")


@require_POST
def train(request: HttpRequest) -> HttpResponse:
    """Retrain now (as the nightly run does)."""
    if not can_manage_data(request.user):
        return HttpResponseForbidden("Only marketing ops and admins can retrain the fit score.")
    _queue_training(request, "Retraining the fit score")
    return redirect("fit:fit")


def _queue_training(request: HttpRequest, what: str) -> None:
    from fit.tasks import train_fit

    if not broker_available():
        raise BrokerUnavailable()  # a 503 saying so (abm_dashboard.middleware)
    transaction.on_commit(lambda: train_fit.delay())
    messages.info(request, f"{what}: the page shows the new scores when it is done.")


# ---------------------------------------------------------------------------- marking look-alikes


def _mark_page(request: HttpRequest, *, options: TargetMarkForm, run: FitRun, status: int = 200) -> HttpResponse:
    filters = LookalikeFilterForm(request.GET).filters()
    total = selectors.lookalike_accounts(filters=filters).count()
    query = _query(request)
    # What was counted rides in the apply URL, so the apply step can tell whether it still holds.
    counted = QueryDict(query, mutable=True)
    counted["run"], counted["count"] = str(run.pk), str(total)
    context = {
        "unmark": False,
        # The confirmation names the day of the list: here, the day the scores were computed.
        "as_of": AsOf(run.as_of, None, None),
        "described": [("Scored by", f"the fit run of {run.as_of:%Y-%m-%d}"), *filters.described()],
        "total": total,
        "targets": 0,
        "others": total,
        "options": options,
        "segment_names": list(Segment.objects.values_list("name", flat=True)),
        "apply_url": _with_query(reverse("fit:mark_apply"), counted.urlencode()),
        "list_url": _with_query(reverse("fit:fit"), query),
        "running": False,
        "can_start": False,
    }
    return render(request, "dashboard/account_targets_confirm.html", context, status=status)


def _no_scores(request: HttpRequest) -> HttpResponse:
    messages.warning(request, "There are no fit scores yet, so no look-alikes to mark.")
    return redirect("fit:fit")


@require_GET
def mark(request: HttpRequest) -> HttpResponse:
    """ "Mark 42 accounts as targets?" for the look-alike filters, with the tier and segment options."""
    if not can_manage_data(request.user):
        return HttpResponseForbidden(MARK_NOT_ALLOWED)
    run = selectors.latest_run()
    if run is None:
        return _no_scores(request)
    return _mark_page(request, options=TargetMarkForm(auto_id=MARK_ID), run=run)


@require_POST
def mark_apply(request: HttpRequest) -> HttpResponse:
    """Mark the look-alikes the confirmation counted. If the scores were recomputed or the count
    changed since (another run, another user's mark), nothing changes and the new count is asked
    for again."""
    if not can_manage_data(request.user):
        return HttpResponseForbidden(MARK_NOT_ALLOWED)
    run = selectors.latest_run()
    if run is None:
        return _no_scores(request)
    options = TargetMarkForm(request.POST, auto_id=MARK_ID)
    if not options.is_valid():
        return _mark_page(request, options=options, run=run, status=400)
    accounts = selectors.lookalike_accounts(filters=LookalikeFilterForm(request.GET).filters())
    with transaction.atomic():
        total = accounts.count()
        if request.GET.get("run") != str(run.pk) or request.GET.get("count") != str(total):
            messages.warning(request, "The look-alikes changed since they were counted (the scores were recomputed, "
                                      "or some became targets): nothing was marked. Check the new count and "
                                      "confirm again.")
            return _mark_page(request, options=options, run=run, status=409)
        try:
            changed = account_targets_mark(accounts=accounts, tier=options.cleaned_data["tier"],
                                           segment=options.cleaned_data["segment"] or None)
        except InvalidRecord as exc:
            for problem in exc.problems:
                options.add_error(problem.field if problem.field in options.fields else None, problem.reason)
            return _mark_page(request, options=options, run=run, status=400)
    messages.success(request, f"Marked {changed:,} look-alike account{'s' if changed != 1 else ''} as "
                              f"target{'s' if changed != 1 else ''}.")
    messages.info(request, "The metrics show the change after the next metrics run.")
    return redirect(reverse("fit:fit") + "#lookalikes")
