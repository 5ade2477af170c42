from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_account_name_lower_index"),
    ]

    operations = []
