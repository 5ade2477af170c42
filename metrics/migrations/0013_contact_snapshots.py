import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0012_engine_incremental"),
        ("accounts", "0007_touchpoint_partitions"),
    ]

    operations = [
        migrations.CreateModel(
            name="ContactSnapshot",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("as_of", models.DateField()),
                ("minutes_7d", models.FloatField(default=0)),
                ("minutes_30d", models.FloatField(default=0)),
                ("minutes_90d", models.FloatField(default=0)),
                ("minutes_prev_30d", models.FloatField(default=0)),
                (
                    "touches_90d",
                    models.PositiveIntegerField(default=0, help_text="Touches of any kind in W90, zero-weight included"),
                ),
                (
                    "last_touch_at",
                    models.DateTimeField(blank=True, help_text="The latest touch on or before the day", null=True),
                ),
                (
                    "account",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="contact_snapshots",
                        to="accounts.account",
                    ),
                ),
                (
                    "contact",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="snapshots",
                        to="accounts.contact",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["account", "as_of"], name="contact_snap_account_day")],
                "constraints": [
                    models.UniqueConstraint(fields=("contact", "as_of"), name="contact_snapshot_unique_day")
                ],
            },
        ),
    ]
