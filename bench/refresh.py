"""Time the metrics refresh an import of new touches triggers, run synchronously (bench only).

Run by bench/run.py after importing touches on the as-of day for 1 % of the accounts (with the
refresh queued to a broker nobody reads, then dropped): this process runs the task the import
queued — metrics.tasks.refresh_pending, which takes the import's waiting refresh request (those
accounts' snapshots of the days their touches change, and those days' rollups) — and prints the
seconds it took as JSON. Django's start-up is not counted: a worker is already running when an
import queues its refresh.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "abm_dashboard.settings")

import django  # noqa: E402

django.setup()

from accounts.models import Touchpoint  # noqa: E402
from metrics import tasks  # noqa: E402


def main(as_of: str) -> None:
    account_ids = sorted(
        Touchpoint.objects.filter(source="bench-refresh").values_list("account_id", flat=True).distinct()
    )
    if not account_ids:
        raise SystemExit("no bench-refresh touches: import them first")
    started = time.perf_counter()
    if hasattr(tasks, "refresh_pending"):  # the import recorded a refresh request: the queued task takes it
        days = tasks.refresh_pending.apply().get()
    else:
        days = tasks.refresh_accounts_task.apply(args=(account_ids, as_of)).get()
    seconds = time.perf_counter() - started
    if not days:
        raise SystemExit(f"nothing refreshed: is {as_of} computed and published?")
    print(json.dumps({"seconds": seconds, "accounts": len(account_ids), "days": days}))


if __name__ == "__main__":
    main(sys.argv[1])
