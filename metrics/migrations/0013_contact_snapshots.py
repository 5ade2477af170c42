from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0012_engine_incremental"),
        ("accounts", "0007_touchpoint_partitions"),
    ]

    operations = []
