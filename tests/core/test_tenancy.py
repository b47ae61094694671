"""core/tenancy.py: every model of the customer apps is an organisation's (OrgOwned) or is
listed here as platform-level with the reason; a query of a customer's data by smsdesk's own
code without `for_org` or `across_orgs` is an error in the tests."""

from __future__ import annotations

import pytest
from django.apps import apps

from smsdesk.core import tenancy
from smsdesk.messaging.models import Message

CUSTOMER_APPS = {"accounts", "messaging", "directory", "optout", "calls", "dashboard", "api"}
CUSTOMER_APPS |= {"worker", "core", "ops", "tenants"}

# Models that are not one organisation's, and why. A new model must be OrgOwned or land
# here with its reason, else this test fails.
PLATFORM_LEVEL = {
    "accounts.Organisation": "the organisations themselves",
    "accounts.User": "belongs to one organisation (a FK, scoped by accounts' services), or to "
    "none for a platform administrator",
    "accounts.LineAssignment": "the provider's assignment of its lines",
    "accounts.LoginSession": "a browser session, found by its key",
    "messaging.GatewayState": "a line's state: a line is the provider's, assigned to one",
    "messaging.OutboxEntry": "the worker's claim queue over every line: ids only, each message "
    "carries its organisation",
    "messaging.MessagePart": "reached only through its message (the worker matches reports by "
    "line and reference); never listed alone",
    "messaging.UnmatchedReport": "a report waiting for its part, by line and reference",
    "messaging.InboundPart": "a part of a long SMS being put together, by line; the message "
    "it becomes is stored in the line's organisation",
    "messaging.CampaignCount": "read only by campaign id, of a campaign read through its "
    "organisation",
    "messaging.CampaignCountDelta": "as CampaignCount (appended by the worker, no FK)",
    "worker.WorkerProcess": "a running worker process",
    "worker.GatewayStoreItem": "a gateway's own memory (the simulated network)",
    "core.FormKey": "a one-time form key, random",
    "core.IdempotencyKey": "keyed by the token that sent it (a token is one organisation's)",
    "accounts.FailedTokenAttempt": "refused tokens counted per address: no organisation known",
    "worker.LineLease": "which worker drives which line: the provider's processes",
    "messaging.Occurrence": "reached only through its recurring send (an organisation's)",
    "messaging.AutoReplyHit": "reached only through its rule (an organisation's)",
    "webhooks.Delivery": "reached through its endpoint (an organisation's); the worker "
    "sends every organisation's",
    "webhooks.Attempt": "reached only through its delivery",
    "audit.Entry": "the audit log: its organisation kept as a plain id (the platform's own acts "
    "have none, and nothing may cascade onto the log); read through audit.services, which "
    "filters by it",
    "audit.Unlock": "a row that lets the retention purge delete old entries in its transaction",
    "accounts.PasswordResetRequest": "reset requests counted per address and IP (the rate "
    "limit), whether or not the address is a user's",
    "messaging.LineUsage": "a line's use per minute and hour for its volume limits: per line, "
    "and a line is the provider's, assigned to one organisation",
    "mail.OutgoingMail": "the platform's mail outbox: each mail to its recipient's address, "
    "sent by the worker",
    "mail.MailStop": "a recipient's one-click stop of a kind of mail, by address",
    "notify.PendingCopy": "a copy of a received SMS waiting to be grouped into a mail, per "
    "user (a user belongs to one organisation); written for the SMS's own organisation's users",
    "notify.Notice": "which platform notices were sent once (a line down, a campaign finished), "
    "by kind and key",
    "worker.CallbackReceipt": "a provider's callback stored once, by line and provider id, as "
    "UnmatchedReport; what it records belongs to the line's organisation",
}


def _label(model: type) -> str:
    return f"{model._meta.app_label}.{model.__name__}"


def test_every_customer_model_is_an_organisations_or_listed() -> None:
    unaccounted = [
        _label(m)
        for m in apps.get_models()
        if m._meta.app_label in CUSTOMER_APPS
        and not m._meta.auto_created
        and not tenancy.is_org_owned(m)
        and _label(m) not in PLATFORM_LEVEL
    ]
    assert unaccounted == [], (
        "make these models core.tenancy.OrgOwned, or list them in PLATFORM_LEVEL with why"
    )
    stale = [name for name in PLATFORM_LEVEL if tenancy.is_org_owned(apps.get_model(name))]
    assert stale == []


def test_every_customer_model_has_an_index_led_by_its_organisation() -> None:
    for model in apps.get_models():
        if not tenancy.is_org_owned(model):
            continue
        meta = model._meta
        leading = [i.fields[0].lstrip("-") for i in meta.indexes]
        leading += [c.fields[0] for c in meta.constraints if getattr(c, "fields", None)]
        assert "organisation" in leading, _label(model)


@pytest.mark.django_db
def test_a_query_without_its_organisation_is_an_error_in_product_code() -> None:
    qs = tenancy.OrgManager()
    qs.model = Message
    query = qs.get_queryset()
    query._origin = "smsdesk/somewhere.py:1"  # as if built by smsdesk's own code
    with pytest.raises(tenancy.UnscopedQuery):
        list(query)
    with pytest.raises(tenancy.UnscopedQuery):
        query.filter(peer="+33612345678").count()
    with pytest.raises(tenancy.UnscopedQuery):
        query.exists()
    with pytest.raises(tenancy.UnscopedQuery):
        query.update(body="x")
    org = tenancy.sole_organisation()
    assert list(query.for_org(org)) == []
    assert query.across_orgs().count() == 0
    assert query.for_org(org).filter(peer="x").exists() is False  # chained: still scoped


@pytest.mark.django_db
def test_in_production_it_is_logged_not_raised(settings, caplog) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_STRICT_TENANCY = False
    qs = tenancy.OrgManager()
    qs.model = Message
    query = qs.get_queryset()
    query._origin = "smsdesk/somewhere.py:1"
    assert list(query) == []
    assert "unscoped query" in caplog.text and "smsdesk/somewhere.py:1" in caplog.text


@pytest.mark.django_db
def test_for_org_requires_one() -> None:
    with pytest.raises(tenancy.OrganisationRequired):
        Message.objects.for_org(None)


@pytest.mark.django_db
def test_with_two_organisations_a_service_must_be_told_which() -> None:
    from smsdesk.accounts.models import Organisation
    from smsdesk.messaging import filters

    tenancy.sole_organisation()
    Organisation.objects.create(name="B", slug="b")
    with pytest.raises(tenancy.OrganisationRequired):
        filters.message_list()
