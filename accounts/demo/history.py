"""Stage history for the demo opportunities, so the trends page's stage funnel has data.

Each opportunity moves through the demo's open stages (Prospecting → Qualification → Proposal →
Negotiation) in order and, once closed, into Closed Won or Closed Lost at its close moment. A won
deal passes every open stage (one in ten skips Qualification); a lost one is lost after its first,
second, third or fourth stage (earlier more often); an open one has reached its current stage. The
moments between creation and close (or the end of the demo's history) are drawn from a generator
seeded by the demo seed and the opportunity's external id, so the same arguments always write the
same rows, whatever the chunking.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.apps import apps

from accounts.models import Opportunity

from .generator import CLOSED_LOST, CLOSED_WON, OPEN_STAGES

BATCH = 5_000
SOURCE = "demo"


def _moments(rng: random.Random, start: datetime, end: datetime, n: int) -> list[datetime]:
    """`n` moments from `start` (the first is `start` itself) to before `end`, in order."""
    span = max((end - start).total_seconds(), 0.0)
    cuts = sorted(rng.uniform(0.05, 0.95) * span for _ in range(n - 1))
    return [start, *(start + timedelta(seconds=int(c)) for c in cuts)]


def stage_path(*, seed: int, external_id: str, stage: str, is_closed: bool, is_won: bool) -> list[str]:
    """The stages one demo opportunity went through, in order."""
    rng = random.Random(f"{seed}:{external_id}:path")
    if not is_closed:
        reached = OPEN_STAGES.index(stage) + 1 if stage in OPEN_STAGES else 1
        return list(OPEN_STAGES[:reached])
    if is_won:
        path = list(OPEN_STAGES)
        if rng.random() < 0.1:
            path.remove("Qualification")
        return [*path, CLOSED_WON]
    lost_after = rng.choices((1, 2, 3, 4), weights=(4, 3, 2, 1))[0]
    return [*OPEN_STAGES[:lost_after], CLOSED_LOST]


def _changes(*, seed: int, until: datetime, row: tuple[Any, ...]) -> Iterator[dict[str, Any]]:
    pk, external_id, stage, created_at, closed_at, is_closed, is_won = row
    path = stage_path(seed=seed, external_id=external_id or str(pk), stage=stage, is_closed=is_closed, is_won=is_won)
    rng = random.Random(f"{seed}:{external_id or pk}:moments")
    open_path = path[:-1] if is_closed else path
    end = closed_at if is_closed and closed_at else max(until, created_at)
    moments = _moments(rng, created_at, end, len(open_path))
    if is_closed and closed_at:
        moments.append(closed_at)
    for n, (name, moment) in enumerate(zip(path, moments, strict=True)):
        yield {"opportunity_id": pk, "stage": name, "entered_at": moment, "source": SOURCE,
               "external_id": f"{external_id or pk}-h{n + 1}"}


def write_stage_history(*, seed: int, until_epoch: int) -> int:
    """Write the stage history of every stored opportunity (the demo's, just loaded); returns the rows.

    The model is looked up by name: the demo data fills every app's facts, and accounts imports
    no app above it.
    """
    change = apps.get_model("sales", "OpportunityStageChange")
    until = datetime.fromtimestamp(until_epoch, tz=UTC)
    opportunities = (
        Opportunity.objects.order_by("id")
        .values_list("id", "external_id", "stage", "created_at", "closed_at", "is_closed", "is_won")
        .iterator(chunk_size=BATCH)
    )
    batch: list[Any] = []
    written = 0
    for row in opportunities:
        batch.extend(change(**values) for values in _changes(seed=seed, until=until, row=row))
        if len(batch) >= BATCH:
            change.objects.bulk_create(batch)
            written, batch = written + len(batch), []
    change.objects.bulk_create(batch)
    return written + len(batch)
