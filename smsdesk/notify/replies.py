"""Reply by email: a mail answering the copy of a received SMS goes out as an SMS.

The copy mailed to a user (copies.py) carries `Reply-To: reply+TOKEN@DOMAIN`. The token
names the organisation, the conversation and the user the copy was sent to, with an HMAC of
the three under the installation's secret key (`salted_hmac`): it cannot be made up, and is
written in lower-case letters and digits only, as mail servers may fold an address's case.
The mail server hands each mail for that address to `smsdesk mail receive` (a pipe alias,
docs/email.md), which calls `receive`:

1. the token is read from the recipient given, else from the mail's Delivered-To,
   X-Original-To, Envelope-To, To and Cc, and checked;
2. the From address must be that user's address (the token is a secret of their mailbox; the
   From a second check), the user still active, in that organisation (itself active), not
   read-only;
3. the text typed above the quoted original (inbound.reply_text) must not be empty;
4. a Message-ID already received from that organisation sends nothing again (a mail server
   that delivers a mail twice);
5. the text is sent as a reply in the discussion, by `sending.create_campaign` exactly as the
   discussion page's reply: the STOP rule, the quotas, the correspondent's line, the
   lifecycle, the audit log apply. A number on the STOP list is refused (nothing stored).

A refusal raises `Refused` (its reason, one line). When the mail came from the user's own
address, the reason is mailed back to them (through the outbox; never to an automatic mail,
never to an address that is not the user's: no backscatter to forged senders).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import override

from smsdesk.accounts import access
from smsdesk.accounts.models import User
from smsdesk.core.errors import ServiceError
from smsdesk.mail import services as mail
from smsdesk.messaging.models import Conversation, Message
from smsdesk.messaging.sending import create_campaign
from smsdesk.notify import inbound
from smsdesk.notify.models import MailReply

SALT = "smsdesk.notify.replies"
LOCAL_PART = "reply"
MAX_BYTES = 10 * 1024 * 1024  # a reply with a photo in its signature still fits
_TOKEN = re.compile(r"([0-9a-z]{1,13})-([0-9a-z]{1,13})-([0-9a-z]{1,13})-([a-z2-7]{24})")
_ADDRESS = re.compile(rf"{LOCAL_PART}\+([0-9a-z-]{{1,80}})@[^@\s]+")


class Refused(Exception):
    def __init__(self, reason: str, *, answer: User | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.answer = answer  # the user to tell why, or None


@dataclass(frozen=True)
class Outcome:
    campaign_id: int | None  # None: the same mail was received before, nothing sent again
    peer: str
    message_id: str


# --- the reply address ----------------------------------------------------------------------


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _mac(ids: str) -> str:
    digest = salted_hmac(SALT, ids, algorithm="sha256").digest()[:15]
    return base64.b32encode(digest).decode().lower()  # 24 letters and digits


def token(*, org_id: int, conversation_id: int, user_id: int) -> str:
    ids = "-".join(_b36(n) for n in (org_id, conversation_id, user_id))
    return f"{ids}-{_mac(ids)}"


def read_token(value: str) -> tuple[int, int, int] | None:
    """(organisation, conversation, user) ids, or None for anything not made by `token`."""
    found = _TOKEN.fullmatch(value.lower())
    if found is None:
        return None
    ids = "-".join(found.group(1, 2, 3))
    if not constant_time_compare(_mac(ids), found.group(4)):
        return None
    org_id, conversation_id, user_id = (int(g, 36) for g in found.group(1, 2, 3))
    if max(org_id, conversation_id, user_id) > 2**63 - 1:  # no row has such an id
        return None
    return org_id, conversation_id, user_id


def domain() -> str:
    return (
        settings.SMSDESK_EMAIL_REPLY_DOMAIN
        or settings.SMSDESK_EMAIL_FROM.rpartition("@")[2].strip("> ")
        or "localhost"
    )


def reply_address(*, org_id: int, conversation_id: int, user_id: int) -> str:
    tok = token(org_id=org_id, conversation_id=conversation_id, user_id=user_id)
    return f"{LOCAL_PART}+{tok}@{domain()}"


def reply_to_of_copies(*, user_id: int | None, messages: list[tuple[int, str]]) -> str | None:
    """The Reply-To of a mail of copies to a user: only when replies by mail are on and every
    SMS of the mail comes from one correspondent (`messages`: (organisation id, peer))."""
    if not settings.SMSDESK_EMAIL_REPLY or user_id is None or len(set(messages)) != 1:
        return None
    org_id, peer = messages[0]
    conversation_id = (
        Conversation.objects.for_org(org_id).filter(peer=peer).values_list("id", flat=True).first()
    )
    if conversation_id is None:
        return None
    return reply_address(org_id=org_id, conversation_id=conversation_id, user_id=user_id)


# --- a mail received ------------------------------------------------------------------------


def _token_of(addresses: list[str] | tuple[str, ...]) -> tuple[int, int, int] | None:
    for address in addresses:
        found = _ADDRESS.fullmatch(address.strip().lower())
        if found is not None:
            return read_token(found.group(1))
    return None


def receive(raw: bytes, *, recipient: str = "") -> Outcome:
    """Send the reply that `raw` (one RFC 822 mail) holds, or raise Refused."""
    try:
        return _receive(raw, recipient=recipient)
    except Refused as refused:
        if refused.answer is not None:
            _answer(refused.answer, refused.reason)
        raise


def _receive(raw: bytes, *, recipient: str) -> Outcome:
    if len(raw) > MAX_BYTES:
        raise Refused(
            _("The mail is too large (more than %(size)d MB).") % {"size": MAX_BYTES >> 20}
        )
    try:
        reply = inbound.parse(raw)
    except inbound.Unreadable:
        raise Refused(_("The mail cannot be read (no sender or no text).")) from None
    ids = _token_of([recipient] if recipient else reply.recipients)
    if ids is None:
        raise Refused(_("The mail is not sent to a valid reply address."))
    org_id, conversation_id, user_id = ids
    user = User.objects.select_related("organisation").filter(id=user_id).first()
    conversation = Conversation.objects.for_org(org_id).filter(id=conversation_id).first()
    if user is None or conversation is None or user.organisation_id != org_id:
        raise Refused(_("This reply address is not valid any more."))
    if not user.email or reply.sender != user.email.lower():
        raise Refused(_("The mail does not come from the address the copy was sent to."))
    if reply.automatic:  # an auto-reply or a bounce: not a person's answer, never answered
        raise Refused(_("An automatic mail is not sent as an SMS."))
    # From here the mail comes from the user's own address: a refusal is answered to it, in
    # their language.
    with override(user.language or settings.LANGUAGE_CODE):
        return _send_reply(reply, user, conversation)


def _send_reply(reply: inbound.Reply, user: User, conversation: Conversation) -> Outcome:
    org = user.organisation
    if not user.is_active or org is None or not org.is_active:
        raise Refused(_("This account cannot send SMS any more."), answer=user)
    if access.is_read_only(user):
        raise Refused(_("A read-only account cannot send SMS."), answer=user)
    if not reply.text:
        raise Refused(_("The reply is empty."), answer=user)
    same = Outcome(campaign_id=None, peer=conversation.peer, message_id=reply.message_id)
    if MailReply.objects.for_org(org).filter(message_id=reply.message_id).exists():
        return same
    try:
        with transaction.atomic():
            kept = MailReply.objects.create(
                organisation=org, message_id=reply.message_id, user=user, at=timezone.now()
            )
            campaign = _send(user, org, conversation.peer, reply.text)
            kept.campaign_id = campaign.id
            kept.save(update_fields=["campaign_id"])
    except IntegrityError:  # the same mail, delivered at the same moment by another process
        return same
    return Outcome(campaign_id=campaign.id, peer=conversation.peer, message_id=reply.message_id)


def _send(user: User, org: Any, peer: str, text: str) -> Any:
    try:
        campaign = create_campaign(
            author=user,
            org=org,
            body=text,
            to=[peer],
            personalise_text=False,  # what was typed, braces included: the page's reply
            source="mail",
        )
    except ServiceError as e:  # a quota, a text too long, a control character...
        raise Refused(e.message, answer=user) from None
    statuses = set(campaign.messages.values_list("status", flat=True))
    if statuses == {Message.Status.BLOCKED}:
        # the correspondent sent STOP: refused, and the blocked message not kept (rollback)
        raise Refused(
            _("%(number)s is on the STOP list: no SMS is sent to it.") % {"number": peer},
            answer=user,
        )
    return campaign


def _answer(user: User, reason: str) -> None:
    """Tell the user why their reply was not sent (a mail of its own, in its own transaction:
    the refused send was rolled back)."""
    with transaction.atomic():
        mail.queue_rendered(
            to=user.email,
            kind=mail.Kind.REPLY_REFUSED,
            template="reply_refused",
            context={"reason": reason},
            language=user.language,
        )
