from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0011_influence_summary_plural"),
    ]

    operations = [
        migrations.AddField(
            model_name="metricsrun",
            name="refreshed_at",
            field=models.DateTimeField(
                blank=True, help_text="Last partial refresh after new touches (blank: none since the full run)", null=True
            ),
        ),
        migrations.AddField(
            model_name="metricsrun",
            name="refreshed_accounts",
            field=models.PositiveIntegerField(default=0, help_text="Accounts recomputed by that refresh"),
        ),
    ]
