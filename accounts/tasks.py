"""Celery tasks of the accounts app."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from accounts import partitions


@shared_task
def create_touchpoint_partitions(months_ahead: int = 3) -> list[str]:
    """Nightly (beat): this month's and the next months' touchpoint partitions exist before any
    import needs them, and touches that landed in DEFAULT move to their month. Nothing to do on
    SQLite, whose touchpoint table is not partitioned."""
    if not partitions.is_partitioned():
        return []
    with transaction.atomic():
        return partitions.create_ahead(today=timezone.now().date(), months=months_ahead)
