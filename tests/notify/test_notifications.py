"""Mail notifications with a real SMTP server (aiosmtpd): the copy of a received SMS (its
text, the sender, the one-click unsubscribe headers), grouping, "only my conversations", the
one-click stop, 500 SMS received while the server refuses connections (none lost), a campaign
finished, a gateway down."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from smsdesk.accounts.models import User
from smsdesk.mail import delivery
from smsdesk.mail.models import MailStop, OutgoingMail
from smsdesk.messaging import campaigns, receiving
from smsdesk.messaging.models import GatewayState
from smsdesk.messaging.sending import create_campaign
from smsdesk.notify import copies, notices
from smsdesk.notify.models import PendingCopy
from tests.mail.smtp import SMTPServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _now_grouping(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_EMAIL_COPY_GROUP_SECONDS = 0
    settings.SMSDESK_EMAIL_FROM = "Accueil <sms@example.org>"
    settings.SMSDESK_BASE_URL = "https://sms.example.org"
    GatewayState.objects.get_or_create(name="simulator", defaults={"kind": "simulator"})


def _receive(sender: str, text: str) -> None:
    receiving.receive_inbound(
        gateway="simulator", sender=sender, text=text, received_at=timezone.now()
    )


def _user(name: str, copies_: str, email: str = "", role: str = "operator") -> User:
    return User.objects.create_user(
        name,
        password="correct horse 42",
        email=email or f"{name}@example.org",
        email_copies=copies_,
        role=role,
    )


def _send_all() -> int:
    copies.flush()
    return delivery.run_due()


def test_a_real_smtp_server_gets_the_copy_with_a_one_click_stop(smtp_server: SMTPServer) -> None:
    _user("ana", "all")
    _receive("+33612345678", "Bonjour, je serai là à 14 h ✓")
    assert _send_all() == 1
    [msg] = smtp_server.inbox.messages
    assert smtp_server.inbox.envelopes[0] == ("sms@example.org", ["ana@example.org"])
    assert msg["From"] == "Accueil <sms@example.org>"
    assert "+33612345678" in msg["Subject"]
    text = msg.get_body(("plain",)).get_content()
    assert "Bonjour, je serai là à 14 h ✓" in text
    assert "+33612345678" in text
    html = msg.get_body(("html",)).get_content()
    assert "Bonjour, je serai là à 14 h ✓" in html
    assert "<img" not in html  # no tracking pixel
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(https://sms\.example\.org(/mail/stop/\S+/))>", msg["List-Unsubscribe"])
    assert url is not None
    # the mail client's one-click POST: no login, no CSRF token
    answer = Client(enforce_csrf_checks=True).post(
        url.group(2), "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert answer.status_code == 200
    assert MailStop.objects.filter(address="ana@example.org", kind="inbound_copy").exists()
    _receive("+33612345678", "encore")
    assert _send_all() == 0
    assert len(smtp_server.inbox.messages) == 1


def test_a_get_of_the_stop_link_does_not_act_and_a_forged_one_is_refused(
    smtp_server: SMTPServer,
) -> None:
    _user("ana", "all")
    _receive("+33612345678", "x")
    _send_all()
    path = re.search(r"/mail/stop/\S+/", smtp_server.inbox.messages[0]["List-Unsubscribe"]).group(0)  # type: ignore[union-attr]
    assert Client().get(path).status_code == 200
    assert not MailStop.objects.exists()
    assert Client().post(path[:-5] + "AAAA/").status_code == 404
    assert not MailStop.objects.exists()


def test_many_sms_at_once_are_one_mail(smtp_server: SMTPServer) -> None:
    _user("ana", "all")
    for i in range(7):
        _receive("+3361234567" + str(i), f"message {i}")
    assert _send_all() == 1
    [msg] = smtp_server.inbox.messages
    text = msg.get_body(("plain",)).get_content()
    assert all(f"message {i}" in text for i in range(7))
    assert "7 SMS reçus" in msg["Subject"]


def test_only_my_conversations(smtp_server: SMTPServer) -> None:
    bob = _user("bob", "mine")
    _user("zoe", "none")
    create_campaign(author=bob, body="Votre RDV est confirmé", to=["+33611111111"])
    _receive("+33611111111", "merci")  # bob wrote to this number
    _receive("+33622222222", "inconnu")  # nobody did
    assert _send_all() == 1
    [msg] = smtp_server.inbox.messages
    assert msg["To"] == "bob@example.org"
    assert "merci" in msg.get_body(("plain",)).get_content()
    assert "inconnu" not in msg.get_body(("plain",)).get_content()


def test_extra_addresses_and_the_language(settings, smtp_server: SMTPServer) -> None:
    settings.SMSDESK_EMAIL_COPIES_TO = ["accueil@example.org"]
    User.objects.create_user("en", email="en@example.org", email_copies="all", language="en")
    _receive("+33612345678", "hello")
    assert _send_all() == 2
    by_to = {str(m["To"]): m for m in smtp_server.inbox.messages}
    assert "From +33612345678" in by_to["en@example.org"].get_body(("plain",)).get_content()
    assert "De +33612345678" in by_to["accueil@example.org"].get_body(("plain",)).get_content()


def test_500_sms_while_the_server_refuses_connections_none_lost() -> None:
    _user("ana", "all")
    gone = SMTPServer()
    gone.start()
    port = gone.port
    gone.stop()  # the port now refuses connections
    from django.conf import settings

    settings.SMSDESK_EMAIL_URL = f"smtp://127.0.0.1:{port}"
    for i in range(500):
        _receive(f"+336{i:08d}", f"SMS numéro {i}")
    assert copies.flush() == 5  # 500 copies, 100 per mail
    assert delivery.run_due() == 0
    assert PendingCopy.objects.count() == 0
    assert OutgoingMail.objects.filter(state="pending").count() == 5
    assert delivery.run_due() == 0  # still waiting: nothing given up, nothing sent
    back = SMTPServer(port=port)
    back.start()
    try:
        assert delivery.run_due(now=timezone.now() + timedelta(minutes=5)) == 5
    finally:
        back.stop()
    listed = set()
    for m in back.inbox.messages:
        listed |= set(re.findall(r"SMS numéro (\d+)", m.get_body(("plain",)).get_content()))
    assert listed == {str(i) for i in range(500)}
    assert OutgoingMail.objects.filter(state="sent").count() == 5


def test_a_campaign_finished_is_mailed_to_its_author_once(smtp_server: SMTPServer) -> None:
    bob = _user("bob", "none")
    campaign = create_campaign(
        author=bob, body="Fermeture exceptionnelle lundi", to=["+33611111111"]
    )
    assert notices.campaigns_finished() == 0  # still waiting to be sent
    campaigns.cancel_campaign(campaign.id, by=bob)
    assert notices.campaigns_finished() == 1
    assert notices.campaigns_finished() == 0
    delivery.run_due()
    [msg] = smtp_server.inbox.messages
    assert msg["To"] == "bob@example.org"
    assert "Fermeture exceptionnelle lundi" in msg.get_body(("plain",)).get_content()
    assert msg["List-Unsubscribe"]


def test_a_gateway_down_too_long_is_mailed_to_the_administrators(
    settings, smtp_server: SMTPServer
) -> None:
    settings.SMSDESK_EMAIL_GATEWAY_DOWN_MINUTES = 15
    _user("alice", "none", role="admin")
    _user("bob", "none")
    GatewayState.objects.filter(name="simulator").update(
        down_since=timezone.now() - timedelta(minutes=5), down_reason="no carrier"
    )
    assert notices.gateways_down() == 0
    GatewayState.objects.filter(name="simulator").update(
        down_since=timezone.now() - timedelta(minutes=20)
    )
    assert notices.gateways_down() == 1
    assert notices.gateways_down() == 0
    delivery.run_due()
    [msg] = smtp_server.inbox.messages
    assert msg["To"] == "alice@example.org"
    assert "no carrier" in msg.get_body(("plain",)).get_content()


def test_an_organisations_own_copy_addresses_get_its_sms_only(settings) -> None:  # type: ignore[no-untyped-def]
    from smsdesk.accounts import services
    from smsdesk.accounts.models import Organisation
    from smsdesk.core.tenancy import sole_organisation

    settings.SMSDESK_EMAIL_COPIES_TO = ["platform@example.org"]
    org = sole_organisation()
    admin = _user("alice", "all", role="admin")
    kept = services.set_org_copy_addresses(
        by=admin,
        org=org,
        addresses="accueil@example.org\n, ACCUEIL@example.org\nalice@example.org\n\n",
    )
    assert kept == ["accueil@example.org", "alice@example.org"]
    other = Organisation.objects.create(name="Garage B", slug="b")
    other.copy_addresses = "garage@example.org"
    other.save()
    _receive("+33612345678", "Bonjour")
    copies.flush()
    # alice once (her own copy, not again as a listed address), the shared mailbox, the
    # platform's; never the other organisation's
    assert sorted(OutgoingMail.objects.values_list("to", flat=True)) == [
        "accueil@example.org",
        "alice@example.org",
        "platform@example.org",
    ]


def test_copy_addresses_are_checked_and_for_administrators_only() -> None:
    from smsdesk.accounts import services
    from smsdesk.core.errors import ServiceError
    from smsdesk.core.tenancy import sole_organisation

    org = sole_organisation()
    admin = _user("alice", "none", role="admin")
    bob = _user("bob", "none")
    for bad in (
        "not an address",
        "a@example.org\nb\x00@example.org",
        "\n".join(f"u{i}@example.org" for i in range(11)),
    ):
        with pytest.raises(ServiceError):
            services.set_org_copy_addresses(by=admin, org=org, addresses=bad)
    with pytest.raises(ServiceError):
        services.set_org_copy_addresses(by=bob, org=org, addresses="x@example.org")
    org.refresh_from_db()
    assert org.copy_addresses == ""
    client = Client()
    client.force_login(bob)
    assert (
        client.post("/accounts/users/copies/", {"copy_addresses": "x@example.org"}).status_code
        == 403
    )
    client.force_login(admin)
    answer = client.post("/accounts/users/copies/", {"copy_addresses": "accueil@example.org"})
    assert answer.status_code == 302
    org.refresh_from_db()
    assert org.copy_addresses == "accueil@example.org"
    assert "accueil@example.org" in client.get("/accounts/users/").content.decode()


def test_a_shared_line_down_is_mailed_to_each_of_its_organisations_only(settings) -> None:  # type: ignore[no-untyped-def]
    from smsdesk.accounts.models import LineAssignment, Organisation

    settings.SMSDESK_EMAIL_GATEWAY_DOWN_MINUTES = 15
    first = Organisation.objects.create(name="Cabinet A", slug="a")
    second = Organisation.objects.create(name="Garage B", slug="b")
    third = Organisation.objects.create(name="Notaire C", slug="c")
    for org, name in ((first, "ana"), (second, "bea"), (third, "cyd")):
        User.objects.create_user(
            name,
            password="correct horse 42",
            email=f"{name}@example.org",
            role="admin",
            organisation=org,
        )
    LineAssignment.objects.create(line="simulator", organisation=first, sender="CABINET")
    LineAssignment.objects.create(line="simulator", organisation=second, sender="GARAGE")
    GatewayState.objects.filter(name="simulator").update(
        down_since=timezone.now() - timedelta(minutes=20), down_reason="bind refused"
    )
    assert notices.gateways_down() == 2
    assert sorted(OutgoingMail.objects.values_list("to", flat=True)) == [
        "ana@example.org",
        "bea@example.org",
    ]
