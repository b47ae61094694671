from django.db import migrations, models


class Migration(migrations.Migration):
    """Dynamic groups (issue 20): a nullable rule; a new column the old code never reads."""

    dependencies = [("directory", "0003_keyset_indexes")]

    operations = [
        migrations.AddField(
            model_name="group",
            name="rule",
            field=models.JSONField(blank=True, null=True, verbose_name="rule"),
        ),
    ]
