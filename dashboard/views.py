"""Dashboard pages. Each view reads through dashboard.selectors and hands figures from
dashboard.charts to its template; none computes a metric.

htmx requests (HX-Request header) get only the fragment they swap; a history restore gets
the whole page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings as django_settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from abm_dashboard.broker import BrokerUnavailable, broker_available
from accounts.models import Account, Channel, Contact, Program, Segment
from accounts.roles import EXECUTIVE, can_manage_data, can_see_contact_details, user_groups
from accounts.services import InvalidRecord, account_targets_mark, account_targets_unmark
from dashboard import charts, people, people_charts, selectors
from dashboard.definitions import metric_settings
from dashboard.forms import AccountFilterForm, TargetMarkForm, parse_date
from metrics import exports, figures
from metrics import selectors as metric_selectors
from metrics.families import influence as influence_family
from metrics.models import AttributionModel, MetricSettings, MetricsRun
from metrics.selectors import last_complete_day

ACCOUNTS_PER_PAGE = 50
PROGRAMS_PER_PAGE = 50
REACHED_PER_PAGE = 25
MY_ACCOUNTS_PER_PAGE = 50
RECENT_TOUCHES_PER_PAGE = 30


def _is_htmx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, partial: str | None = None
) -> HttpResponse:
    response = render(request, partial if partial and _is_htmx(request) else template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _as_of(request: HttpRequest) -> selectors.AsOf:
    return selectors.resolve_as_of(parse_date(request.GET.get("as_of")))


def _no_metrics(request: HttpRequest, title: str, **extra: Any) -> HttpResponse:
    """The empty state every metric page shows before the first metrics run."""
    return render(request, "dashboard/no_metrics.html", {"title": title, **_run_context(request), **extra})


def _int(value: str | None, default: int = 1) -> int:
    try:
        return max(int(value or default), 1)
    except ValueError:
        return default


# ---------------------------------------------------------------------------- account list


@require_GET
def account_list(request: HttpRequest) -> HttpResponse:
    as_of = _as_of(request)
    if as_of.day is None:
        # Imported CRM accounts carry no target flag: marking them before the first run saves a rerun.
        marks = reverse("dashboard:account_targets_mark") if can_manage_data(request.user) else ""
        return _no_metrics(request, "Accounts", targets_url=marks)
    form = AccountFilterForm(request.GET)
    sort = form.sort_order()
    rows = selectors.account_snapshots(as_of=as_of.day, filters=form.filters(), sort=sort)
    page = Paginator(rows, ACCOUNTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "as_of": as_of,
        "form": form,
        "page": page,
        "sort": sort,
        "sort_key": sort.lstrip("-"),
        "query": query.urlencode(),
        "export_url": reverse("dashboard:account_export") + ("?" + query.urlencode() if query else ""),
    }
    return _render(request, "dashboard/account_list.html", context, partial="dashboard/_account_results.html")


@require_GET
def account_export(request: HttpRequest) -> HttpResponse:
    """The filtered, sorted account list of the day as CSV, streamed (no page limit)."""
    as_of = _as_of(request)
    if as_of.day is None:
        return _no_metrics(request, "Accounts")
    form = AccountFilterForm(request.GET)
    qs = selectors.account_snapshots(as_of=as_of.day, filters=form.filters(), sort=form.sort_order())
    # The same table as `export_metrics --level account`: same columns, order and encodings.
    table = exports.ACCOUNT_TABLE
    response = StreamingHttpResponse(
        exports.csv_lines(table.columns, table.rows(qs)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="accounts-{as_of.day.isoformat()}.csv"'
    return response


# ---------------------------------------------------------------------------- marking target accounts
# Both act on exactly the accounts the list shows for the query string's filters and day
# (selectors.filtered_accounts); a GET page names the count, a POST to …/apply/ with the same
# query string does it and returns to the list.


# The options' ids, distinct from the filter fields' (id_tier, id_segment…) on the same page.
MARK_ID = "mark_%s"


def _list_query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _with_query(url: str, query: str) -> str:
    return url + ("?" + query if query else "")


def _targets_as_of(request: HttpRequest) -> selectors.AsOf:
    # The confirmation posts the day it counted, so a run finishing in between changes nothing.
    return selectors.resolve_as_of(parse_date(request.POST.get("as_of") or request.GET.get("as_of")))


def _targets_page(request: HttpRequest, *, unmark: bool, options: TargetMarkForm, status: int = 200) -> HttpResponse:
    as_of = _targets_as_of(request)
    filters = AccountFilterForm(request.GET)
    accounts = selectors.filtered_accounts(as_of=as_of.day, filters=filters.filters())
    total, targets = selectors.target_counts(accounts=accounts)
    query = _list_query(request)
    name = "account_targets_unmark" if unmark else "account_targets_mark"
    context = {
        "unmark": unmark,
        "as_of": as_of,
        "filters": filters,
        "described": filters.described(),
        "total": total,
        "targets": targets,
        "others": total - targets,
        "options": options,
        "segment_names": [] if unmark else list(Segment.objects.values_list("name", flat=True)),
        "apply_url": _with_query(reverse(f"dashboard:{name}_apply"), query),
        "list_url": _with_query(reverse("dashboard:account_list"), query),
        **_run_context(request),
    }
    return render(request, "dashboard/account_targets_confirm.html", context, status=status)


def _count(n: int, one: str, many: str) -> str:
    return f"1 {one}" if n == 1 else f"{n:,} {many}"


@require_GET
def account_targets_confirm(request: HttpRequest, *, unmark: bool) -> HttpResponse:
    """ "Mark 1,234 accounts as targets?" for the list's filters, with the tier and segment options."""
    if not can_manage_data(request.user):
        return HttpResponseForbidden("Only marketing ops and admins can change the target accounts.")
    return _targets_page(request, unmark=unmark, options=TargetMarkForm(auto_id=MARK_ID))


@require_POST
def account_targets_apply(request: HttpRequest, *, unmark: bool) -> HttpResponse:
    if not can_manage_data(request.user):
        return HttpResponseForbidden("Only marketing ops and admins can change the target accounts.")
    options = TargetMarkForm(request.POST, auto_id=MARK_ID)
    if not options.is_valid():
        return _targets_page(request, unmark=unmark, options=options, status=400)
    as_of = _targets_as_of(request)
    accounts = selectors.filtered_accounts(as_of=as_of.day, filters=AccountFilterForm(request.GET).filters())
    total = accounts.count()  # before the change: the filters may select by target or tier
    if unmark:
        changed = account_targets_unmark(accounts=accounts)
        text = (f"Unmarked {_count(changed, 'target account', 'target accounts')} "
                f"({_count(total - changed, 'other was not a target', 'others were not targets')}).")
    else:
        try:
            changed = account_targets_mark(accounts=accounts, tier=options.cleaned_data["tier"],
                                           segment=options.cleaned_data["segment"] or None)
        except InvalidRecord as exc:
            for problem in exc.problems:
                options.add_error(problem.field if problem.field in options.fields else None, problem.reason)
            return _targets_page(request, unmark=unmark, options=options, status=400)
        text = (f"Marked {_count(changed, 'account as a target', 'accounts as targets')} "
                f"({_count(total - changed, 'already was', 'already were')}).")
    messages.success(request, text)
    run = _run_context(request)
    if options.cleaned_data["recompute"] and not run["running"] and _start_metrics_run():
        messages.info(request, "Today's metrics are being computed; the figures show the change when the run is done.")
    else:
        messages.info(request, "The metrics show the change after the next metrics run.")
    return redirect(_with_query(reverse("dashboard:account_list"), _list_query(request)))


# ---------------------------------------------------------------------------- account health

TILES = (
    ("coverage", "Coverage", "role_coverage"),
    ("awareness", "Awareness", "aware_contacts"),
    ("engagement", "Engagement", "minutes_90d"),
    ("reach", "Reach", "programs_reached"),
    ("influence", "Influence", "influenced_pipeline"),
)


@require_GET
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account.objects.select_related("owner"), pk=pk)
    as_of = _as_of(request)
    if as_of.day is None:
        return _no_metrics(request, account.name)
    settings = metric_settings(request)  # one read, shared with the page's tooltips
    health = selectors.account_health(account=account, as_of=as_of.day, settings=settings)
    show_details = can_see_contact_details(request.user)
    missing_roles = people.committee_with_figures(health=health, as_of=as_of.day)
    heatmap = selectors.contact_week_heatmap(
        account=account, as_of=as_of.day, contacts=health.contacts, settings=settings, emails=show_details
    )
    touches, more = selectors.account_timeline(account=account, as_of=as_of.day, page=1)
    tiles = [
        {"family": fam, "title": title, "figure": charts.sparkline(health.history, fam), "metric": metric}
        for fam, title, metric in TILES
    ]
    context = {
        "as_of": as_of,
        "account": account,
        "health": health,
        "s": health.snapshot,
        "tiles": tiles,
        "minutes_fig": charts.minutes_over_time(health.history),
        "kinds_fig": charts.minutes_by_kind(health.history),
        "top_kinds": _top_kinds(health.snapshot),
        "heatmap": heatmap,
        "heatmap_fig": charts.contact_heatmap(heatmap),
        "touches": touches,
        "more": more,
        "next_page": 2,
        "kind_colours": charts.KIND_COLOURS,
        "missing_roles": missing_roles,
        "show_contact_details": show_details,
    }
    return render(request, "dashboard/account_detail.html", context)


def _top_kinds(snapshot, n: int = 3) -> list[tuple[str, float]]:
    kinds = (snapshot.minutes_by_kind or {}) if snapshot else {}
    ranked = sorted(((k.replace("_", " "), float(v)) for k, v in kinds.items() if v), key=lambda kv: (-kv[1], kv[0]))
    return ranked[:n]


@require_GET
def account_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    """The next page of an account's touchpoint timeline (htmx "load more")."""
    account = get_object_or_404(Account, pk=pk)
    as_of = _as_of(request)
    if as_of.day is None:
        raise Http404("No metrics yet")
    page = _int(request.GET.get("page"), 2)
    touches, more = selectors.account_timeline(account=account, as_of=as_of.day, page=page)
    return render(
        request,
        "dashboard/_timeline_rows.html",
        {"account": account, "as_of": as_of, "touches": touches, "more": more, "next_page": page + 1,
         "kind_colours": charts.KIND_COLOURS},
    )


# ---------------------------------------------------------------------------- people


@require_GET
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A person's figures, minutes over time, touches (paged) and their account's opportunities."""
    contact = get_object_or_404(Contact.objects.select_related("account", "account__owner"), pk=pk)
    as_of = _as_of(request)
    if as_of.day is None:
        return _no_metrics(request, str(contact))
    settings = metric_settings(request)  # one read, shared with the page's tooltips
    page = people.contact_page(contact=contact, as_of=as_of.day, settings=settings)
    context = {
        "as_of": as_of,
        "contact": contact,
        "page": page,
        "s": page.snapshot,
        "minutes_fig": people_charts.contact_minutes_over_time(page.history),
        "touches": Paginator(people.contact_touches(contact=contact, as_of=as_of.day),
                             people.CONTACT_TOUCHES_PER_PAGE).get_page(request.GET.get("page")),
        "show_contact_details": can_see_contact_details(request.user),
        "kind_colours": charts.KIND_COLOURS,
        "cxo_multiplier": float(settings.seniority_multipliers.get("cxo", 1.0)),
    }
    return render(request, "dashboard/contact_detail.html", context)


@require_GET
def call_list(request: HttpRequest) -> HttpResponse:
    """The rep's call list as CSV (people.CALL_LIST_COLUMNS): the people of their target accounts
    who have not opted out. Only for roles that may see emails and phones; how many opted-out
    people were left out is in the file name and the X-Left-Out-Opted-Out header."""
    if not can_see_contact_details(request.user):
        return HttpResponseForbidden("The call list holds emails and phones, which your role does not see.")
    rep = _picked_rep(request)
    as_of = _as_of(request)
    if as_of.day is None:
        raise Http404("No metrics yet")
    left_out = people.call_list_left_out(rep=rep)
    rows = people.call_list_rows(rep=rep, as_of=as_of.day)
    response = StreamingHttpResponse(exports.csv_lines(people.CALL_LIST_COLUMNS, rows), content_type="text/csv")
    note = f"-{left_out}-opted-out-left-out" if left_out else ""
    response["Content-Disposition"] = f'attachment; filename="call-list-{rep.username}-{as_of.day:%Y-%m-%d}{note}.csv"'
    response["X-Left-Out-Opted-Out"] = str(left_out)
    return response


# ---------------------------------------------------------------------------- segments


@require_GET
def segment_list(request: HttpRequest) -> HttpResponse:
    as_of = _as_of(request)
    if as_of.day is None:
        return _no_metrics(request, "Segments")
    return render(
        request, "dashboard/segment_list.html", {"as_of": as_of, "rows": selectors.segment_list(as_of=as_of.day)}
    )


@require_GET
def segment_detail(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    key = str(pk) if pk is not None else selectors.TARGET_KEY
    as_of = _as_of(request)
    if as_of.day is None:
        return _no_metrics(request, "Segment")
    view = selectors.get_segment_view(key=key, as_of=as_of.day)
    if view is None:
        raise Http404("No such segment")
    compare_key = request.GET.get("compare", "")
    other = selectors.get_segment_view(key=compare_key, as_of=as_of.day) if compare_key and compare_key != key else None
    context: dict[str, Any] = {
        "as_of": as_of,
        "view": view,
        "s": view.snapshot,
        "other": other,
        "o": other.snapshot if other else None,
        "choices": [(k, n) for k, n in selectors.segment_choices() if k != key],
        "compare_key": compare_key,
        "histogram_fig": charts.minutes_histogram(view.histogram),
        "trend_fig": charts.segment_trend(view.history) if view.history else None,
        "funnel_fig": charts.funnel(view.snapshot) if view.snapshot else None,
        "flags": selectors.segment_flag_counts(view.snapshot) if view.snapshot else {},
        "accounts_url": reverse("dashboard:account_list") + f"?segment={key}&as_of={as_of.day.isoformat()}",
    }
    if other and other.snapshot and view.snapshot:
        context["compare_fig"] = charts.funnel_compare(view.name, view.snapshot, other.name, other.snapshot)
        context["compare_hist_fig"] = charts.minutes_histogram_compare(
            view.name, view.histogram, other.name, other.histogram
        )
    return render(request, "dashboard/segment_detail.html", context)


# ---------------------------------------------------------------------------- programs

CHART_PROGRAMS = 15


def _attribution_model(request: HttpRequest) -> str:
    model = request.GET.get("model", AttributionModel.LINEAR)
    return model if model in AttributionModel.values else AttributionModel.LINEAR


@require_GET
def program_list(request: HttpRequest) -> HttpResponse:
    """Reach, focus and waste, and what the programs returned for their cost under one attribution
    model, by channel and by program (of one channel, with ?channel=)."""
    as_of = _as_of(request)
    if as_of.day is None:
        return _no_metrics(request, "Programs")
    channel = request.GET.get("channel", "")
    if channel not in Channel.values:
        channel = ""
    model = _attribution_model(request)
    programs = selectors.program_returns(as_of=as_of.day, model=model, channel=channel)
    rows, sort = selectors.sort_program_rows(programs, request.GET.get("sort", selectors.DEFAULT_PROGRAM_SORT))
    page = Paginator(rows, PROGRAMS_PER_PAGE).get_page(request.GET.get("page"))
    # The charts show the costliest programs whatever the table's order (program_returns is by cost).
    top = [r.snapshot for r in programs[:CHART_PROGRAMS]]
    channels = selectors.channel_snapshots(as_of=as_of.day)
    channel_labels = dict(Channel.choices)
    ch_labels = [str(channel_labels.get(c.channel, c.channel)) for c in channels]
    model_label = AttributionModel(model).label
    context = {
        "as_of": as_of,
        "page": page,
        "sort": sort,
        "sort_key": sort.lstrip("-"),
        "channel": channel,
        "channel_label": channel_labels.get(channel, ""),
        "channel_choices": Channel.choices,
        "channels": list(zip(channels, ch_labels, strict=True)),
        "channel_returns": list(zip(channels, ch_labels, selectors.channel_returns(
            as_of=as_of.day, model=model, channels=channels), strict=True)),
        "model": model,
        "models": selectors.ATTRIBUTION_MODELS,
        "model_label": model_label,
        "single_touch": model in selectors.SINGLE_TOUCH_MODELS,
        "long_window": metric_settings(request).long_window_days,
        "program_count": len(programs),
        "return_fig": charts.cost_vs_pipeline(
            programs, currency=django_settings.REPORTING_CURRENCY
        ) if programs else None,
        "top_count": len(top),
        "program_fig": charts.reach_focus_waste(top, [p.program.name for p in top]) if top else None,
        "program_cost_fig": charts.cost_and_waste(top, [p.program.name for p in top],
                                                  [float(p.program.cost) for p in top]) if top else None,
        "channel_fig": charts.reach_focus_waste(channels, ch_labels) if channels else None,
        "channel_cost_fig": charts.cost_and_waste(channels, ch_labels, [float(c.cost) for c in channels])
        if channels else None,
    }
    return render(request, "dashboard/program_list.html", context)


@require_GET
def program_detail(request: HttpRequest, pk: int) -> HttpResponse:
    program = get_object_or_404(Program.objects.select_related("segment"), pk=pk)
    as_of = _as_of(request)
    if as_of.day is None:
        return _no_metrics(request, program.name)
    history = selectors.program_history(program=program, as_of=as_of.day)
    snapshot = history[-1] if history and history[-1].as_of == as_of.day else None
    reached = Paginator(
        selectors.program_reached_accounts(program=program, as_of=as_of.day), REACHED_PER_PAGE
    ).get_page(request.GET.get("page"))
    context = {
        "as_of": as_of,
        "program": program,
        "s": snapshot,
        "trend_fig": charts.program_trend(history) if history else None,
        "reached": reached,
        "success_kinds": [k.replace("_", " ") for k in program.effective_success_kinds],
    }
    return _render(request, "dashboard/program_detail.html", context, partial="dashboard/_reached_accounts.html")


# ---------------------------------------------------------------------------- my accounts


def _can_pick_rep(user: User) -> bool:
    return can_manage_data(user) or EXECUTIVE in user_groups(user)


def _picked_rep(request: HttpRequest) -> User:
    """The rep whose accounts are shown: the signed-in user, or the one they picked if they may."""
    picked = request.GET.get("rep", "")
    if _can_pick_rep(request.user) and picked.isdigit():
        return get_object_or_404(User, pk=int(picked))
    return request.user


@require_GET
def my_accounts(request: HttpRequest) -> HttpResponse:
    user = request.user
    can_pick = _can_pick_rep(user)
    rep: User = _picked_rep(request)
    as_of = _as_of(request)
    if as_of.day is None:
        return _no_metrics(request, "My accounts")
    settings = metric_settings(request)  # one read, shared with the page's tooltips
    sort = "month" if request.GET.get("sort") == "month" else "week"
    page = Paginator(selectors.rep_snapshots(rep=rep, as_of=as_of.day, sort=sort), MY_ACCOUNTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {
        "as_of": as_of,
        "rep": rep,
        "is_self": rep.pk == user.pk,
        "can_pick": can_pick,
        "reps": list(selectors.reps()) if can_pick else [],
        "sort": sort,
        "page": page,
        "changes": selectors.rep_changes_since_yesterday(rep=rep, as_of=as_of.day),
        "new_contacts": selectors.rep_newly_engaged_contacts(rep=rep, as_of=as_of.day, settings=settings),
        # Every scored touch of the last 7 days, a page at a time (its pager swaps only that section).
        "recent": Paginator(
            selectors.rep_recent_touches(rep=rep, as_of=as_of.day, settings=settings), RECENT_TOUCHES_PER_PAGE
        ).get_page(request.GET.get("recent_page")),
        "yesterday": as_of.day - dt.timedelta(days=1),
        "week_start": as_of.day - dt.timedelta(days=6),
        "kind_colours": charts.KIND_COLOURS,
        "show_contact_details": can_see_contact_details(user),
    }
    if _is_htmx(request) and request.headers.get("HX-Target") == "recent":
        response = render(request, "dashboard/_recent_touches.html", context)
        patch_vary_headers(response, ["HX-Request"])
        return response
    context["who_to_call"] = people.who_to_call(rep=rep, as_of=as_of.day, settings=settings)
    if context["show_contact_details"]:
        context["call_list_left_out"] = people.call_list_left_out(rep=rep)
    return render(request, "dashboard/my_accounts.html", context)


# ---------------------------------------------------------------------------- influence


@require_GET
def influence(request: HttpRequest) -> HttpResponse:
    as_of = _as_of(request)
    if as_of.day is None:
        return _no_metrics(request, "Influence summary")
    model = request.GET.get("model", AttributionModel.LINEAR)
    if model not in AttributionModel.values:
        model = AttributionModel.LINEAR
    by_channel, by_program = selectors.attribution(as_of=as_of.day, model=model)
    context: dict[str, Any] = {
        "as_of": as_of,
        "model": model,
        "models": selectors.ATTRIBUTION_MODELS,
        "model_label": AttributionModel(model).label,
        "by_channel": by_channel,
        "by_program": by_program,
        "channel_fig": charts.attribution_bars(by_channel) if by_channel else None,
        "program_fig": charts.attribution_bars(by_program) if by_program else None,
        "chart_programs": min(len(by_program), 15),
    }
    if _is_htmx(request) and request.headers.get("HX-Target") == "attribution":
        response = render(request, "dashboard/_attribution.html", context)
        patch_vary_headers(response, ["HX-Request"])
        return response
    tables = selectors.outcome_tables(as_of=as_of.day)
    comparisons = selectors.outcome_evidence(as_of=as_of.day, tables=tables)
    summary = selectors.influence_summary(as_of=as_of.day)
    context.update(
        summary=summary,
        settings=MetricSettings.load(),
        tables=tables,
        # Each dimension's table with the evidence for its difference, quartiles first.
        outcome_sections=[
            (dim, title, tables[dim], comparisons.get(dim))
            for dim, title in (
                ("quartile", "Engagement quartiles"),
                ("target", "Target vs non-target accounts"),
                ("engaged", "Engaged vs not engaged accounts"),
                ("control", "Target accounts vs a look-alike control group"),
            )
        ],
        no_quartiles=(
            influence_family.ties_sentence(summary.quartile_ties, summary.closed_opportunities)
            if summary and summary.quartile_ties else ""
        ),
        quartile_figs=[
            (metric, title, charts.outcome_bars(tables["quartile"], metric))
            for metric, (title, _, _) in charts.OUTCOME_METRICS.items()
        ] if tables["quartile"] else [],
    )
    return _render(request, "dashboard/influence.html", context)


# ---------------------------------------------------------------------------- definitions and runs


@require_GET
def definitions(request: HttpRequest) -> HttpResponse:
    """Every figure of the registry, its thresholds and windows as the settings are now."""
    from fit.access import can_see_fit
    from fit.definitions import DEFINITIONS as FIT
    from sales.trends import DEFINITIONS as TRENDS

    settings = metric_settings(request)
    beyond = [
        ("fit", "Fit — which accounts should be targets?", "fit:fit" if can_see_fit(request.user) else "", FIT),
        ("trends", "Trends — is it getting better?", "sales:trends", TRENDS),
    ]
    context = {
        "groups": figures.families(settings), "windows": figures.windows(settings),
        "beyond": [(key, title, url, [(name, *text) for name, text in items.items()])
                   for key, title, url, items in beyond],
    }
    return render(request, "dashboard/definitions.html", context)


def _compute_task():
    """The metrics task, if the metrics app provides it yet (imported lazily: pages must not depend on it)."""
    try:
        from metrics.tasks import compute_snapshots
    except ImportError:
        return None
    return compute_snapshots


def _run_context(request: HttpRequest, *, queued: dt.date | None = None, refused: str = "") -> dict[str, Any]:
    """The progress panel: the run in progress (else the last one), and the button.

    `queued`: a run of that day was just queued and no worker has started it yet; the panel
    polls until one does. `refused`: why the button started nothing.
    """
    run = selectors.latest_metrics_run()
    active = run is not None and run.status in MetricsRun.ACTIVE
    waiting = queued if queued and (run is None or run.as_of != queued) else None
    return {
        "run": run,
        "can_start": can_manage_data(request.user) and _compute_task() is not None,
        "running": active or waiting is not None,
        "queued": waiting,
        "refused": refused,
        "run_day": last_complete_day(),
    }


def _start_metrics_run() -> bool:
    """Queue the run of yesterday (the last complete UTC day), as the compute button does; False
    when the task is missing, the broker is down, or that day is being computed already (the
    task would refuse it: one run per day at a time, enforced in the database)."""
    task = _compute_task()
    if task is None or metric_selectors.active_run(last_complete_day()) is not None or not broker_available():
        return False
    task.delay(last_complete_day().isoformat())
    return True


@require_POST
def metrics_run_start(request: HttpRequest) -> HttpResponse:
    """Start yesterday's metrics run (marketing ops and admins); the page then polls its progress."""
    if not can_manage_data(request.user):
        return HttpResponseForbidden("Only marketing ops and admins can start a metrics run.")
    if _compute_task() is None:
        return HttpResponse("The metrics task is not installed; run `python manage.py compute_metrics`.", status=503)
    if not broker_available():
        raise BrokerUnavailable()  # a 503 saying so (abm_dashboard.middleware), not a hung request
    day = last_complete_day()
    queued, refused = None, ""
    in_progress = metric_selectors.active_run(day)
    if in_progress is not None:
        refused = (
            f"The metrics of {day} are already being computed ({in_progress.chunks_done} of "
            f"{in_progress.chunks_total} chunks done): a day is computed by one run at a time."
        )
    elif _start_metrics_run():
        queued = day
    if _is_htmx(request):
        return render(request, "dashboard/_run_progress.html", _run_context(request, queued=queued, refused=refused))
    if refused:
        messages.warning(request, refused)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("home")
    return redirect(target)


@require_GET
def metrics_run_progress(request: HttpRequest) -> HttpResponse:
    queued = parse_date(request.GET.get("queued"))
    return render(request, "dashboard/_run_progress.html", _run_context(request, queued=queued))
