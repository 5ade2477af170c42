"""An import run: the uploaded file, its progress for the page's progress bar, and its result."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.db import models


def header_signature(header: list[str]) -> str:
    """A header as a profile remembers it: names lower-cased and trimmed, in order."""
    return "\x1f".join(h.strip().lower() for h in header)


class ImportProfile(models.Model):
    """A saved column mapping (imports.mapping.UserMapping as JSON) for one kind and one header.

    Chosen by itself when a file of the same kind arrives with the same header; picked by name
    from the command line (`import_csv … --profile NAME`).
    """

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20)
    preset = models.CharField(max_length=20, default="auto")
    header = models.JSONField(default=list, help_text="The column names of the file it was made for.")
    signature = models.TextField(editable=False)
    mapping = models.JSONField(default=dict, help_text='{"map": {...}, "set": {...}, "multiply": {...}}')
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["kind", "signature"], name="import_profile_kind_header")]

    def __str__(self) -> str:
        return self.name


class ImportJob(models.Model):
    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded (preview)"
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=20)
    preset = models.CharField(max_length=20, default="auto")
    dry_run = models.BooleanField(default=False)
    timezone = models.CharField(max_length=64, default="UTC")
    encoding = models.CharField(max_length=40, blank=True, help_text="Picked by the user; blank: detected")
    # The mapping step's choices (imports.mapping.UserMapping JSON) and the profile they were saved as.
    mapping = models.JSONField(default=dict, blank=True)
    profile = models.ForeignKey(ImportProfile, null=True, blank=True, on_delete=models.SET_NULL)
    on_error = models.CharField(max_length=10, default="fail", help_text="fail: all or nothing; skip: keep valid rows")
    rejected_file = models.FileField(upload_to="imports/rejected/%Y/%m/%d/", blank=True)
    # Relative to MEDIA_ROOT; the worker streams it from disk.
    file = models.FileField(upload_to="imports/%Y/%m/%d/")
    original_name = models.CharField(max_length=255)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    phase = models.CharField(max_length=20, blank=True, help_text="validate or write")
    progress = models.FloatField(default=0, help_text="0–1 over both phases")
    # imports.services.ImportResult.to_dict(): counts, mapping, the first errors and their total.
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, help_text="An unexpected failure (a bug, a dead worker), not bad input")
    # Uploads (and their rejected rows) are deleted after IMPORT_RETENTION_DAYS; the job stays as history.
    files_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} import of {self.original_name} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.REJECTED, self.Status.FAILED)

    @property
    def percent(self) -> int:
        return round(100 * self.progress)

    # The import writes inside one transaction, and no other connection sees a row updated in it
    # before the commit: a running job's progress goes through the cache (Redis when workers run
    # elsewhere), which the page reads.
    def _progress_key(self) -> str:
        return f"imports:progress:{self.pk}"

    def report_progress(self, phase: str, progress: float) -> None:
        # The time is the heartbeat imports.housekeeping.import_jobs_sweep reads to find a dead worker.
        cache.set(self._progress_key(), (phase, progress, time.time()), timeout=24 * 3600)

    def clear_progress(self) -> None:
        cache.delete(self._progress_key())

    def last_heartbeat(self) -> float | None:
        live = cache.get(self._progress_key())
        return live[2] if live else None

    def with_live_progress(self) -> ImportJob:
        """This job, with the progress its running import reported last."""
        if self.status == self.Status.RUNNING and (live := cache.get(self._progress_key())):
            self.phase, self.progress = live[0], live[1]
        return self
