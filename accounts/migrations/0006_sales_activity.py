"""Sales activity (issue 15): the rep who performed a touch, and two outbound rep kinds."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_account_name_lower_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="touchpoint",
            name="performed_by",
            field=models.ForeignKey(
                blank=True, db_index=False, help_text="The sales rep who performed this touch (sales activity).",
                null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="touchpoints_performed",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="touchpoint",
            name="kind",
            field=models.CharField(
                choices=[
                    ("email_open", "Email open"), ("email_click", "Email click"), ("web_visit", "Web visit"),
                    ("form_fill", "Form fill"), ("content_download", "Content download"),
                    ("event_registered", "Event registration"), ("event_attended", "Event attended"),
                    ("webinar_attended", "Webinar attended"), ("ad_impression", "Ad impression"),
                    ("ad_click", "Ad click"), ("meeting", "Meeting"), ("call_connected", "Call connected"),
                    ("sales_email_reply", "Sales email reply"), ("social_engagement", "Social engagement"),
                    ("product_usage", "Product usage"), ("direct_mail_response", "Direct mail response"),
                    ("nps_response", "NPS response"), ("call_attempt", "Call attempt (not connected)"),
                    ("sales_email", "Sales email sent"),
                ],
                max_length=30,
            ),
        ),
        migrations.AddIndex(
            model_name="touchpoint",
            index=models.Index(fields=["performed_by", "occurred_at"], name="touchpoint_performer_time"),
        ),
    ]
