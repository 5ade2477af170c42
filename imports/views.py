"""The import page: upload → preview with the detected mapping → run with a progress bar → summary."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import can_manage_data
from imports.forms import UploadForm
from imports.models import ImportJob
from imports.jobs import import_job_start, import_job_upload
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
                                timezone=data["timezone"], upload=data["file"], user=request.user)
        return redirect("imports:job", pk=job.pk)
    jobs = ImportJob.objects.select_related("created_by")[:10]
    return render(request, "imports/import.html", {"form": form, "jobs": jobs})


@_managers_only
@require_GET
def job_page(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    preview = None
    if job.status == ImportJob.Status.UPLOADED:
        preview = preview_csv(kind=job.kind, path=Path(job.file.path), preset=job.preset, rows=PREVIEW_ROWS)
    return render(request, "imports/job.html", {"job": job, "preview": preview})


@_managers_only
@require_POST
def job_run(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    import_job_start(job=job)
    return redirect("imports:job", pk=job.pk)


@_managers_only
@require_GET
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar (polled by htmx until the job finishes), then the summary and errors."""
    job = get_object_or_404(ImportJob, pk=pk).with_live_progress()
    return render(request, "imports/_progress.html", {"job": job})
