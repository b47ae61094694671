"""Each migration is known to be safe, or not, to apply while the previous version serves
(docs/production.md "Upgrades"): a new one the rule flags must be listed, after a look."""

from __future__ import annotations

from django.db.migrations.loader import MigrationLoader

from smsdesk.core.schema import NEEDS_STOP, REVIEWED_SAFE, unsafe_operations


def ours() -> dict:  # type: ignore[type-arg]
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return {k: m for k, m in loader.disk_migrations.items() if m.__module__.startswith("smsdesk.")}


def test_every_flagged_migration_is_listed_once_and_nothing_else_is() -> None:
    flagged = {key for key, migration in ours().items() if unsafe_operations(migration)}
    unlisted = flagged - set(NEEDS_STOP) - set(REVIEWED_SAFE)
    assert not unlisted, (
        f"{sorted(unlisted)}: may break the running old version; add them to NEEDS_STOP "
        "(and docs/production.md's table) or, once read, to REVIEWED_SAFE with why"
    )
    assert set(NEEDS_STOP) | set(REVIEWED_SAFE) <= flagged  # no stale entry
    assert not set(NEEDS_STOP) & set(REVIEWED_SAFE)


def test_the_rule_sees_a_not_null_column_and_lets_a_nullable_one_pass() -> None:
    migrations = ours()
    assert unsafe_operations(migrations[("messaging", "0006_campaign_tag")]) == [
        "NOT NULL campaign.tag"
    ]
    assert unsafe_operations(migrations[("messaging", "0011_campaign_request_id")]) == []
    assert unsafe_operations(migrations[("worker", "0002_gateway_store")]) == ["DeleteModel"]


def test_the_documentation_lists_the_migrations_that_need_a_stop() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs/production.md").read_text()
    for app, name in NEEDS_STOP:
        assert f"`{app}.{name}`" in doc, f"{app}.{name} missing from docs/production.md"
