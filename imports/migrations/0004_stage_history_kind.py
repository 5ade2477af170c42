from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0003_files_deleted_at"),
    ]

    operations = []
