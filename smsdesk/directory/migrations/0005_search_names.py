"""Folded names (sms/folding.py) that searches compare: "helene" finds Hélène.

Existing contacts and groups get theirs here, in batches; on PostgreSQL a trigram index on
the contacts' column serves `LIKE '%…%'` (the old code does not keep the column: stop it
first, core/schema.py NEEDS_STOP).
"""

from django.db import migrations, models, transaction

from smsdesk.sms.folding import search_form

BATCH = 2000


def _search_name(name: str, first_name: str) -> str:
    # the same as directory.models.search_name_of, frozen here as migrations must be
    if not first_name:
        return search_form(name)
    first, last = search_form(first_name), search_form(name)
    return f"{first} {last} / {last} {first}"


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    Contact = apps.get_model("directory", "Contact")
    Group = apps.get_model("directory", "Group")
    last = 0
    while True:
        rows = list(Contact.objects.filter(id__gt=last).order_by("id")[:BATCH])
        if not rows:
            break
        for c in rows:
            c.search_name = _search_name(c.name, c.first_name)
        Contact.objects.bulk_update(rows, ["search_name"])
        last = rows[-1].id
    groups = list(Group.objects.all())
    for g in groups:
        g.search_name = search_form(g.name)
    Group.objects.bulk_update(groups, ["search_name"], batch_size=BATCH)


def add_trigram_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            schema_editor.execute(
                "CREATE INDEX IF NOT EXISTS contact_search_trgm ON directory_contact "
                "USING gin (search_name gin_trgm_ops)"
            )
    except Exception:  # noqa: BLE001  # no right to create the extension: searches scan
        pass


def drop_trigram_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS contact_search_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0004_group_rule"),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="search_name",
            field=models.TextField(default="", editable=False),
        ),
        migrations.AddField(
            model_name="group",
            name="search_name",
            field=models.TextField(default="", editable=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.RunPython(add_trigram_index, drop_trigram_index),
    ]
