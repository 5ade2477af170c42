import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0005_account_name_lower_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="OpportunityStageChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("stage", models.CharField(max_length=100)),
                ("entered_at", models.DateTimeField()),
                ("source", models.CharField(help_text="Where it came from: salesforce, hubspot, demo…", max_length=50)),
                ("external_id", models.CharField(max_length=150)),
                (
                    "opportunity",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="stage_changes",
                        to="accounts.opportunity",
                    ),
                ),
            ],
            options={
                "ordering": ["opportunity_id", "entered_at", "id"],
                "indexes": [
                    models.Index(fields=["opportunity", "entered_at"], name="stage_change_opportunity_time"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("source", "external_id"), name="stage_change_source_external_id_unique"
                    ),
                ],
            },
        ),
    ]
