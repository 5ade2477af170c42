"""Readers now show a day only when its MetricsRun is DONE (issue 11). Bring existing data in line:

- a day with snapshots but no run row (an older install, or rows written by hand) is published
  when its rollups are there too (the target-list SegmentSnapshot and the InfluenceSummary, which
  a run writes last); without them the day stays unpublished and the nightly run fills it;
- a run left running or pending by the old code has no chunk rows to resume from: it is marked
  failed, so the day stays unpublished until it is computed again;
- a run that counted a redelivered chunk twice (151/150) is brought back to its total.
"""

from django.db import migrations
from django.db.models import F
from django.utils import timezone


def publish_complete_days(apps, schema_editor) -> None:
    MetricsRun = apps.get_model("metrics", "MetricsRun")
    AccountSnapshot = apps.get_model("metrics", "AccountSnapshot")
    SegmentSnapshot = apps.get_model("metrics", "SegmentSnapshot")
    InfluenceSummary = apps.get_model("metrics", "InfluenceSummary")

    known = set(MetricsRun.objects.values_list("as_of", flat=True))
    with_rollups = set(SegmentSnapshot.objects.filter(segment=None).values_list("as_of", flat=True)) & set(
        InfluenceSummary.objects.values_list("as_of", flat=True)
    )
    days = set(AccountSnapshot.objects.order_by().values_list("as_of", flat=True).distinct())
    MetricsRun.objects.bulk_create(
        [MetricsRun(as_of=day, status="done", error="") for day in sorted((days & with_rollups) - known)]
    )
    MetricsRun.objects.filter(status__in=("pending", "running")).update(
        status="failed",
        finished_at=timezone.now(),
        error="Interrupted by an upgrade (issue 11); the nightly run computes the day again.",
    )
    MetricsRun.objects.filter(chunks_done__gt=F("chunks_total")).update(chunks_done=F("chunks_total"))


class Migration(migrations.Migration):
    dependencies = [("metrics", "0006_runs_chunks_and_settings_validators")]

    operations = [migrations.RunPython(publish_complete_days, migrations.RunPython.noop)]
