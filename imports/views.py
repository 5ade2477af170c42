"""The import page: upload → map the columns (live preview) → run with a progress bar → summary."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from abm_dashboard.broker import BrokerUnavailable
from accounts.roles import can_manage_data
from imports import mapping as user_mapping
from imports import presets
from imports.forms import UploadForm, mapping_fields, mapping_from_post
from imports.jobs import import_job_configure, import_job_start, import_job_upload
from imports.models import ImportJob
from imports.parsing import FileRejected
from imports.profiles import file_header, profile_for_header, profile_mapping
from imports.services import preview_csv

PREVIEW_ROWS = 10


def _managers_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_manage_data(request.user):
            raise PermissionDenied("Import is for marketing ops and admins.")
        return view(request, *args, **kwargs)

    return wrapped


@_managers_only
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        job = import_job_upload(kind=data["kind"], preset=data["preset"], dry_run=data["dry_run"],
                                timezone=data["timezone"], upload=data["file"], user=request.user,
                                encoding=data["encoding"])
        return redirect("imports:job", pk=job.pk)
    jobs = ImportJob.objects.select_related("created_by")[:10]
    return render(request, "imports/import.html", {"form": form, "jobs": jobs,
                                                   "retention_days": settings.IMPORT_RETENTION_DAYS})


def _initial_mapping(job: ImportJob) -> tuple[user_mapping.UserMapping | None, str]:
    """What the mapping step starts from: this job's own choices, else the profile saved for the
    file's header, else nothing (the preset's guess and close names fill the form)."""
    if job.mapping:
        return user_mapping.UserMapping.from_json(job.mapping), job.profile.name if job.profile else ""
    try:
        profile = profile_for_header(kind=job.kind, header=file_header(Path(job.file.path), job.encoding or None))
    except FileRejected:
        return None, ""
    return (profile_mapping(profile), profile.name) if profile else (None, "")


def _mapping_rows(job: ImportJob, preview: Any, user: user_mapping.UserMapping | None) -> list[dict[str, Any]]:
    """One row per field for the form: the chosen column, the constant, the multiplier, an example."""
    chosen = user_mapping.suggest(preview.header, job.kind, _Columns(preview))
    if user:
        chosen = {**chosen, **user.map}
    first = preview.rows[0] if preview.rows else []
    rows = []
    required = {f for group in presets.REQUIRED[job.kind] for f in group}
    for name in mapping_fields(job.kind, job.preset):
        column = (chosen.get(name) or [""])[0]
        idx = preview.header.index(column) if column in preview.header else None
        rows.append({
            "field": name, "column": column, "required": name in required,
            "constant": (user.set.get(name, "") if user else preview.constants.get(name, "")),
            "multiplier": str(user.multiply.get(name, "")) if user else "",
            "numeric": name in user_mapping.NUMERIC_FIELDS,
            "example": first[idx] if idx is not None and idx < len(first) else "",
        })
    return rows


class _Columns:
    """A preview's mapping in the shape suggest() reads (field → column indexes over the header)."""

    def __init__(self, preview: Any) -> None:
        self.header = preview.header
        self.columns = preview.columns


@_managers_only
@require_GET
def job_page(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("profile"), pk=pk)
    context: dict[str, Any] = {"job": job}
    if job.status == ImportJob.Status.UPLOADED and not job.files_deleted_at:
        context.update(_mapping_context(job))
    return render(request, "imports/job.html", context)


def _mapping_context(job: ImportJob, user: user_mapping.UserMapping | None = None, error: str = "",
                     profile_name: str = "", on_error: str | None = None) -> dict[str, Any]:
    initial, profile = (user, profile_name) if user is not None else _initial_mapping(job)
    preview = preview_csv(kind=job.kind, path=Path(job.file.path), preset=job.preset, rows=PREVIEW_ROWS,
                          mapping=initial, encoding=job.encoding or None)
    if preview.file_error and initial is not None:
        # A saved (or posted) mapping that does not fit this file: start from the preset's guess instead.
        error, initial, profile = error or preview.file_error, None, ""
        preview = preview_csv(kind=job.kind, path=Path(job.file.path), preset=job.preset, rows=PREVIEW_ROWS,
                              encoding=job.encoding or None)
    if preview.file_error:
        return {"preview": preview, "rows": [], "mapping_error": error}
    rows = _mapping_rows(job, preview, initial)
    if initial is None:
        # The stored-rows preview shows what the form proposes (the preset's guess plus close names).
        proposed = user_mapping.UserMapping(map={r["field"]: [r["column"]] if r["column"] else [] for r in rows})
        preview = preview_csv(kind=job.kind, path=Path(job.file.path), preset=job.preset, rows=PREVIEW_ROWS,
                              mapping=proposed, encoding=job.encoding or None)
    return {
        "preview": preview, "rows": rows, "error": preview.file_error,
        "profile_name": profile or f"{job.kind} from {Path(job.original_name).stem}"[:120],
        "profile_found": bool(profile) and user is None, "mapping_error": error,
        "on_error": on_error or job.on_error,
    }


@_managers_only
@require_POST
def job_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The live preview of the mapping step (htmx): the first rows as they would be stored."""
    job = get_object_or_404(ImportJob, pk=pk, status=ImportJob.Status.UPLOADED)
    fields = mapping_fields(job.kind, job.preset)
    try:
        user = mapping_from_post(request.POST, fields)
    except FileRejected as exc:
        return render(request, "imports/_mapping_preview.html", {"error": str(exc), "job": job})
    preview = preview_csv(kind=job.kind, path=Path(job.file.path), preset=job.preset, rows=PREVIEW_ROWS,
                          mapping=user, encoding=job.encoding or None)
    return render(request, "imports/_mapping_preview.html", {"preview": preview, "job": job,
                                                             "error": preview.file_error})


@_managers_only
@require_POST
def job_run(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    if job.status != ImportJob.Status.UPLOADED:
        return redirect("imports:job", pk=job.pk)
    fields = mapping_fields(job.kind, job.preset)
    on_error = request.POST.get("on_error", "fail")
    profile_name = request.POST.get("profile_name", "").strip()
    user = None
    try:
        user = mapping_from_post(request.POST, fields) if "map__" + fields[0] in request.POST else None
        import_job_configure(job=job, mapping=user, on_error=on_error, profile_name=profile_name, user=request.user)
    except FileRejected as exc:
        # The form comes back with the user's own choices, to correct the one at fault.
        context = {"job": job, **_mapping_context(job, user=user, error=str(exc), profile_name=profile_name,
                                                  on_error=on_error)}
        return render(request, "imports/job.html", context, status=400)
    try:
        import_job_start(job=job)
    except BrokerUnavailable as exc:
        context = {"job": job, **_mapping_context(job, user=user, error=str(exc), profile_name=profile_name,
                                                  on_error=on_error)}
        return render(request, "imports/job.html", context, status=503)
    return redirect("imports:job", pk=job.pk)


@_managers_only
@require_GET
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar (polled by htmx until the job finishes), then the summary and errors."""
    job = get_object_or_404(ImportJob, pk=pk).with_live_progress()
    return render(request, "imports/_progress.html", {"job": job})


@_managers_only
@require_GET
def job_rejected(request: HttpRequest, pk: int) -> FileResponse:
    """The rejected rows with their reasons, to fix and import again."""
    job = get_object_or_404(ImportJob, pk=pk)
    if not job.rejected_file or job.files_deleted_at:
        raise Http404("This import has no rejected rows.")
    name = f"{Path(job.original_name).stem}.rejected.csv"
    return FileResponse(job.rejected_file.open("rb"), as_attachment=True, filename=name, content_type="text/csv")
