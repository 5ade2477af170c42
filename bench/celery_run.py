"""Start the nightly task through the broker and wait until its MetricsRun is done (bench only)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "abm_dashboard.settings")

import django  # noqa: E402

django.setup()

from metrics.models import MetricsRun  # noqa: E402
from metrics.tasks import compute_snapshots  # noqa: E402


def main(as_of: str) -> None:
    MetricsRun.objects.filter(as_of=as_of).delete()
    compute_snapshots.delay(as_of)
    while True:
        run = MetricsRun.objects.filter(as_of=as_of).first()
        if run and run.status == MetricsRun.Status.DONE:
            return
        if run and run.status == MetricsRun.Status.FAILED:
            raise SystemExit(f"metrics run failed: {run.error}")
        time.sleep(0.2)


if __name__ == "__main__":
    main(sys.argv[1])
