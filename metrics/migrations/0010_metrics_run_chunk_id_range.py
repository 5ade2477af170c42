# A run's chunk is a range of account ids (lo … hi) instead of a list of them (issue 13): the
# families read `account_id BETWEEN lo AND hi`, one range of the account-leading indexes.

from django.db import migrations, models


def ranges_from_id_lists(apps, schema_editor):
    """Chunks stored before: their list's first and last id bound the same accounts (a run cut
    the lists from the ids in id order)."""
    MetricsRunChunk = apps.get_model("metrics", "MetricsRunChunk")
    for chunk in MetricsRunChunk.objects.only("account_ids"):
        ids = chunk.account_ids or [0]
        chunk.lo, chunk.hi, chunk.accounts = min(ids), max(ids), len(chunk.account_ids or [])
        chunk.save(update_fields=["lo", "hi", "accounts"])


def id_lists_from_ranges(apps, schema_editor):
    Account = apps.get_model("accounts", "Account")
    MetricsRunChunk = apps.get_model("metrics", "MetricsRunChunk")
    for chunk in MetricsRunChunk.objects.only("lo", "hi"):
        chunk.account_ids = list(
            Account.objects.filter(id__gte=chunk.lo, id__lte=chunk.hi).order_by("id").values_list("id", flat=True)
        )
        chunk.save(update_fields=["account_ids"])


class Migration(migrations.Migration):

    dependencies = [
        ('metrics', '0009_influence_evidence'),
    ]

    operations = [
        migrations.AddField(
            model_name='metricsrunchunk',
            name='lo',
            field=models.PositiveBigIntegerField(default=0, help_text='The first account id of the chunk'),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='metricsrunchunk',
            name='hi',
            field=models.PositiveBigIntegerField(default=0, help_text='The last account id of the chunk (included)'),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='metricsrunchunk',
            name='accounts',
            field=models.PositiveIntegerField(default=0, help_text='Accounts in the range when the run started'),
            preserve_default=False,
        ),
        migrations.RunPython(ranges_from_id_lists, id_lists_from_ranges),
        # So that undoing the removal can add the column back to existing rows (then refilled).
        migrations.AlterField(
            model_name='metricsrunchunk',
            name='account_ids',
            field=models.JSONField(default=list, help_text='The accounts of the chunk, fixed when the run starts'),
        ),
        migrations.RemoveField(
            model_name='metricsrunchunk',
            name='account_ids',
        ),
    ]
