# After 0007 has brought over-counted runs back to their total (redelivered chunks counted twice).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('metrics', '0007_publish_complete_days'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='metricsrun',
            constraint=models.CheckConstraint(condition=models.Q(('chunks_done__lte', models.F('chunks_total'))), name='metrics_run_done_within_total'),
        ),
    ]
