from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0011_influence_summary_plural"),
    ]

    operations = []
