# The stage_history import kind (issue 15) needs no schema change: ImportJob.kind and
# ImportProfile.kind are free CharFields (max 20) checked against imports.presets.KINDS, and the
# history rows live in sales.OpportunityStageChange (sales/migrations/0001_initial.py). Kept so the
# migration numbers handed out for the parallel work stay in order.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0003_files_deleted_at"),
    ]

    operations = []
