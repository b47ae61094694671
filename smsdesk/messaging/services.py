"""Messaging rules: what the web pages, the API and the CLI all call.

A message accepted here is in the database when the function returns (nothing is lost), and
the worker is the only one to hand it to a gateway (nothing is sent twice).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from smsdesk.accounts import access
from smsdesk.calls import services as calls
from smsdesk.calls.models import Call
from smsdesk.core import display
from smsdesk.core import text as control
from smsdesk.core.bulk import insert_rows
from smsdesk.core.errors import collect
from smsdesk.core.logs import current_request_id
from smsdesk.core.number_reasons import explain
from smsdesk.directory import services as directory
from smsdesk.directory.imports import RecipientFile
from smsdesk.directory.services import Targets
from smsdesk.gateways.base import Concat
from smsdesk.messaging import errors, gateway_state, lifecycle, personal, stop
from smsdesk.messaging.models import (
    MISSING_PART_MARK,
    Campaign,
    Conversation,
    GatewayState,
    InboundPart,
    Message,
)
from smsdesk.optout import services as optout
from smsdesk.optout.models import OptOut
from smsdesk.sms import errors as sms_errors
from smsdesk.sms import gsm7, keywords, numbers, personalise, sending_window

# A date typed to the minute is a few seconds in the past by the time it is saved.
SEND_AT_GRACE = timedelta(minutes=2)
UNKNOWN_SENDER = "?"  # a network that sent no sender at all


def blocked_warning(campaign: Campaign) -> str:
    """What to tell the sender when some recipients are on the STOP list ("" if none)."""
    count = lifecycle.campaign_counts([campaign.pk])[campaign.pk].get("blocked", 0)
    if not count:
        return ""
    return ngettext(
        "%(count)d number sent STOP: it does not get this SMS (see STOP SMS).",
        "%(count)d numbers sent STOP: they do not get this SMS (see STOP SMS).",
        count,
    ) % {"count": count}


def default_gateway() -> GatewayState:
    """The first gateway of SMSDESK_GATEWAYS: it sends messages that name no other."""
    return gateway_state.default_gateway()


def named_gateway(name: str) -> GatewayState:
    """A gateway of SMSDESK_GATEWAYS chosen by name (a test send, a reply)."""
    for spec in gateway_state.configured():
        if spec.name == name:
            return gateway_state.ensure(spec.name, spec.kind)
    raise errors.UnknownGateway(
        _("There is no gateway named %(name)s.") % {"name": name}, field="gateway"
    )


def reply_gateway(peer: str) -> str | None:
    """The gateway a correspondent last wrote through, when it is configured and up: the
    reply goes out the way they reached us. None: the default gateway."""
    last = (
        Message.objects.filter(peer=peer, direction=Message.Direction.INBOUND)
        .order_by("-created_at")
        .values_list("gateway_id", flat=True)
        .first()
    )
    if not last or last not in {s.name for s in gateway_state.configured()}:
        return None
    if GatewayState.objects.filter(name=last, down_since__isnull=True).exists():
        return last
    return None


def check_text(body: str) -> gsm7.TextInfo:
    control.check_typed(body, field="text", label=_("The text"), multiline=True)
    try:
        return gsm7.validate_text(body, max_segments=settings.SMSDESK_MAX_SEGMENTS)
    except sms_errors.EmptyText:
        raise errors.EmptyText(_("The text of the SMS is empty."), field="text") from None
    except sms_errors.TextTooLong as e:
        raise errors.TextTooLong(
            _(
                "The text is too long: it would take %(segments)d SMS, the maximum is "
                "%(max)d (%(gsm)d plain characters, or %(ucs)d when it has accents or "
                "symbols outside the GSM alphabet)."
            )
            % {
                "segments": e.segments,
                "max": e.max_segments,
                "gsm": 153 * e.max_segments,
                "ucs": 67 * e.max_segments,
            },
            field="text",
        ) from None


def check_numbers(raw_numbers: Sequence[str]) -> list[str]:
    """Normalise to E.164 and deduplicate; every bad number is reported, none is dropped."""
    raw_numbers = [str(raw) for raw in raw_numbers if str(raw).strip()]
    if not raw_numbers:
        raise errors.NoRecipients(_("Give at least one number to send to."), field="to")
    # Refuse an oversized list before parsing it: the bound is on the work, not only the send.
    if len(raw_numbers) > settings.SMSDESK_MAX_RECIPIENTS:
        raise _too_many(len(raw_numbers))
    valid: list[str] = []
    invalid: list[tuple[str, str]] = []
    seen: set[str] = set()
    for raw in raw_numbers:
        shown = control.from_network(raw[:64], multiline=False)  # quoted back in the error
        if control.has_controls(raw):
            invalid.append((shown, explain("control character")))
            continue
        try:
            number = numbers.normalise(raw, default_region=settings.SMSDESK_DEFAULT_REGION)
        except sms_errors.InvalidNumber as e:
            invalid.append((shown, explain(e.reason)))
            continue
        if number not in seen:
            seen.add(number)
            valid.append(number)
    if invalid:
        raise _invalid_numbers(invalid)
    return valid


def _too_many(count: int) -> errors.TooManyRecipients:
    return errors.TooManyRecipients(
        _("Too many recipients: %(count)d, the maximum is %(max)d per send.")
        % {"count": count, "max": settings.SMSDESK_MAX_RECIPIENTS},
        field="to",
    )


SHOWN_INVALID = 10  # bad numbers named in the message; the API's detail lists them all


def _invalid_numbers(invalid: list[tuple[str, str]]) -> errors.InvalidNumbers:
    listed = ", ".join(f"« {raw} » ({reason})" for raw, reason in invalid[:SHOWN_INVALID])
    if len(invalid) > SHOWN_INVALID:
        message = _(
            "%(count)d numbers are not valid, among them: %(list)s. Correct them or remove them."
        ) % {"count": len(invalid), "list": listed}
    else:
        message = ngettext(
            "This number is not valid: %(list)s. Correct it or remove it.",
            "These numbers are not valid: %(list)s. Correct them or remove them.",
            len(invalid),
        ) % {"list": listed}
    return errors.InvalidNumbers(message, invalid=invalid)


def check_send_at(send_at: datetime | None, now: datetime) -> datetime:
    """A sending time from now to SMSDESK_MAX_SCHEDULE_DAYS ahead, in UTC whatever offset it
    was given with. (A far date must be refused here: 9999-12-31 at -14:00 is after the year
    9999 in UTC, which neither Python nor the database can hold.)"""
    if send_at is None:
        return now
    if timezone.is_naive(send_at):
        try:
            send_at = timezone.make_aware(send_at)
        except (OverflowError, ValueError):  # at the very edge of the calendar
            send_at = send_at.replace(tzinfo=UTC)
    latest = now + timedelta(days=settings.SMSDESK_MAX_SCHEDULE_DAYS)
    if send_at > latest:
        raise errors.SendAtTooFar(
            _("The sending date is too far ahead: at most %(days)d days from now (until %(date)s).")
            % {
                "days": settings.SMSDESK_MAX_SCHEDULE_DAYS,
                "date": display.absolute(latest),
            },
            field="send_at",
        )
    if send_at < now - SEND_AT_GRACE:
        try:
            shown = display.absolute(send_at)
        except OverflowError:
            shown = send_at.isoformat()
        raise errors.SendAtInPast(
            _(
                "The sending date %(date)s is in the past. Choose a later date, or leave it "
                "empty to send now."
            )
            % {"date": shown},
            field="send_at",
        )
    return max(send_at.astimezone(UTC), now)


def commercial_text(body: str) -> str:
    """A commercial SMS must tell how to opt out: the configured mention, added at the end
    unless the text already carries it (then the text is left as typed)."""
    mention = settings.SMSDESK_COMMERCIAL_MENTION.strip()
    if not mention or mention.casefold() in body.casefold():
        return body
    return f"{body.rstrip()}\n{mention}"


def commercial_send_at(send_at: datetime) -> datetime:
    """The time a commercial SMS due at `send_at` may go out: the next opening of the allowed
    window (SMSDESK_COMMERCIAL_*), or `send_at` itself when it is inside."""
    return sending_window.next_allowed(
        send_at,
        settings.SMSDESK_COMMERCIAL_WINDOW,
        ZoneInfo(settings.SMSDESK_COMMERCIAL_TIME_ZONE),
    )


def _check_body(body: str, *, commercial: bool, personalised: bool = False) -> gsm7.TextInfo:
    """The text as typed, then (commercial) with the opt-out mention that will be added. A
    text with fields: its length is checked on each rendering instead (_personalised)."""
    if personalised:
        control.check_typed(body, field="text", label=_("The text"), multiline=True)
        return gsm7.analyse(commercial_text(body) if commercial else body)
    info = check_text(body)
    return check_text(commercial_text(body)) if commercial else info


@transaction.atomic
def create_campaign(
    *,
    author,  # type: ignore[no-untyped-def]  # User or None (CLI)
    body: str,
    to: Sequence[str] = (),
    targets: Targets | None = None,
    send_at: datetime | None = None,
    source: str = "web",
    commercial: bool = False,
    tag: str = "",
    extra_fields: Mapping[str, Mapping[str, str]] | None = None,
    personalise_text: bool = True,
    gateway: str | None = None,
    recipient_file: RecipientFile | None = None,
) -> Campaign:
    """Save a New SMS: one Message per distinct recipient, queued or scheduled.

    Recipients are the numbers in `to` and `targets` (typed numbers, contact ids, group ids),
    each once. Numbers on the STOP list get a `blocked` message that is never sent, so the
    sender sees why they were skipped. Everything is validated before anything is written. A
    commercial SMS gets the opt-out mention and waits for the allowed hours: its due time is
    computed here, so the worker needs no rule of its own.

    A text with fields (`{prénom}`, see messaging/personal.py) gets one rendering per
    recipient; the length limit applies to the longest. `extra_fields` adds values by number
    (an uploaded file's columns). With `personalise_text=False` (a reply in a discussion) the
    text goes out exactly as typed, braces included.

    `recipient_file` (directory.imports.read_recipients) adds the numbers its accepted lines
    hold, and its columns as fields: a column wins over a contact's field of the same name,
    being what the sender gave for this send. Its rejected lines were shown and are skipped.
    """
    now = timezone.now()
    template = personal.check_template(body) if personalise_text else personal.literal(body)
    if not template.has_fields:
        body = personalise.render(template, {})  # "{{" and "}}" become plain braces
    # every check runs, so that a form shows all its errors at once
    tag, info, (recipients, chosen), send_at = collect(
        lambda: check_tag(tag),
        lambda: _check_body(body, commercial=commercial, personalised=template.has_fields),
        lambda: _recipients(to, targets or Targets(), recipient_file),
        lambda: check_send_at(send_at, now),
    )
    if recipient_file is not None:
        extra_fields = {**recipient_file.values_by_number(), **(extra_fields or {})}
    bodies = _personalised(template, recipients, extra_fields, commercial=commercial)
    if commercial:
        body = commercial_text(body)
        send_at = commercial_send_at(send_at)
    gateway_row = named_gateway(gateway) if gateway else default_gateway()
    blocked = optout.blocked_among(recipients)
    scheduled = send_at > now
    campaign = Campaign.objects.create(
        author=author,
        body=body,
        send_at=send_at,
        targets={
            **chosen.as_record(),
            **({"file": len(recipient_file.recipients)} if recipient_file else {}),
        },
        recipient_count=len(recipients),
        source=source,
        commercial=commercial,
        tag=tag,
        request_id=current_request_id() or None,
    )
    message = Message(
        direction=Message.Direction.OUTBOUND,
        gateway=gateway_row,
        body=body,
        encoding=info.encoding.value,
        segments=info.segments,
        campaign=campaign,
        author=author,
        created_at=now,
        due_at=send_at,
        status_at=now,
    )
    # One row per recipient, only peer (and the personalised text) differ: see core/bulk.py
    # for why not bulk_create (10x slower for a 100,000-member group).
    if bodies is None:
        lifecycle.create_campaign_messages(
            message, ["peer"], [(n,) for n in recipients], blocked=blocked, scheduled=scheduled
        )
    else:
        infos = bodies.infos
        lifecycle.create_campaign_messages(
            message,
            ["peer", "body", "encoding", "segments"],
            [
                (number, text, infos[text].encoding.value, str(infos[text].segments))
                for number in recipients
                for text in (bodies[number],)
            ],
            blocked=blocked,
            scheduled=scheduled,
        )
    # In recipients' order (ids grow with the insert); read only by those who iterate it.
    campaign.created_messages = campaign.messages.order_by("id")  # type: ignore[attr-defined]
    _touch_conversations(recipients, body, Message.Direction.OUTBOUND, now, bodies=bodies)
    return campaign


MAX_TAG = 50


def check_tag(tag: str) -> str:
    tag = " ".join(str(tag or "").split())
    if len(tag) > MAX_TAG:
        raise errors.TagTooLong(
            _("The tag is too long: at most %(max)d characters.") % {"max": MAX_TAG},
            field="tag",
        )
    if any(not c.isprintable() for c in tag):
        raise errors.TagTooLong(_("The tag contains an invisible character."), field="tag")
    return tag


class _Bodies(dict):
    """Each recipient's text, and each distinct text's size (`infos`)."""

    infos: dict[str, gsm7.TextInfo]


def _personalised(
    template: personalise.Template,
    recipients: list[str],
    extra_fields: Mapping[str, Mapping[str, str]] | None,
    *,
    commercial: bool,
) -> _Bodies | None:
    """Each recipient's text (None when the text has no field), checked like a plain text:
    the longest rendering must fit SMSDESK_MAX_SEGMENTS."""
    if not template.has_fields:
        return None
    bodies = _Bodies(personal.render_all(template, recipients, extra_fields))
    if commercial:  # the mention added once per distinct text
        mentioned = {text: commercial_text(text) for text in set(bodies.values())}
        bodies = _Bodies({number: mentioned[text] for number, text in bodies.items()})
    bodies.infos = {text: gsm7.analyse(text) for text in set(bodies.values())}
    check_text(min(bodies.infos, key=len))  # `{prénom|}` alone may leave someone an empty text
    check_text(max(bodies.infos, key=lambda text: (bodies.infos[text].segments, len(text))))
    return bodies


def _recipients(
    to: Sequence[str], targets: Targets, recipient_file: RecipientFile | None = None
) -> tuple[list[str], Targets]:
    """E.164 recipients of typed numbers, contacts, groups and a file's accepted lines,
    deduplicated (and what was chosen, for the record). Typed numbers keep their own checks
    and messages; a file's numbers were checked line by line when it was read."""
    typed = [str(n) for n in (*to, *targets.numbers) if str(n).strip()]
    if typed or not (targets.contacts or targets.groups or recipient_file):
        typed = check_numbers(typed)
    chosen = Targets(numbers=typed, contacts=targets.contacts, groups=targets.groups)
    recipients = directory.expand(chosen)
    if recipient_file is not None:
        known = set(recipients)
        recipients += [n for n in recipient_file.numbers if n not in known]
        if not recipients:
            raise errors.NoRecipients(
                _("The file has no valid number to send to: see its rejected lines."),
                field="to",
            )
    if not recipients:
        raise errors.NoRecipients(
            _("The chosen contacts and groups have nobody to text."), field="to"
        )
    if len(recipients) > settings.SMSDESK_MAX_RECIPIENTS:
        raise _too_many(len(recipients))
    return recipients, chosen


def _touch_conversations(
    peers: Sequence[str],
    body: str,
    direction: str,
    at: datetime,
    *,
    bodies: Mapping[str, str] | None = None,
) -> None:
    insert_rows(
        Conversation,
        Conversation(last_at=at, last_body=body[:160], last_direction=direction),
        ["peer", "last_body"] if bodies else ["peer"],
        [(p, bodies[p][:160]) for p in peers] if bodies else [(p,) for p in peers],
        conflict=["peer"],
        update=["last_at", "last_body", "last_direction"],
    )


@transaction.atomic
def receive_inbound(
    *,
    gateway: str,
    sender: str,
    text: str,
    received_at: datetime,
    concat: Concat | None = None,
    delivery_id: str = "",
) -> Message | None:
    """Store an SMS from a correspondent; a STOP puts the sender on the STOP list, a START
    takes it off.

    The same SMS emitted again by its gateway (a crash between our commit and the gateway's
    `acknowledge`) carries the same `delivery_id` (the gateway's identity of that delivery):
    it is stored once. Without one, every SMS is stored, two identical ones in the same
    second too: a genuine repeat is never dropped.

    One transaction: the message and the change of the STOP list (and the confirmation SMS)
    are stored together or not at all, so a crash can never keep one without the other.

    A part of a long SMS (`concat`) is kept until its message is complete: then the whole
    message is stored and returned; before, None. Parts waiting longer than
    SMSDESK_CONCAT_WAIT seconds are stored as they are, missing parts marked.

    Whatever the network sent is stored (a control character becomes U+FFFD): refusing it
    would make the worker try again forever and lose it at the next restart."""
    text = control.from_network(text)
    flush_incomplete_parts(now=timezone.now())
    if concat is not None and concat.total > 1:
        return _receive_part(gateway, sender, text, received_at, concat)
    return _store_inbound(
        gateway=gateway,
        sender=sender,
        text=text,
        received_at=received_at,
        delivery_id=delivery_id,
    )


@transaction.atomic
def _receive_part(
    gateway: str, sender: str, text: str, received_at: datetime, concat: Concat
) -> Message | None:
    key = {
        "gateway": gateway,
        "sender": _normalise_sender(sender, unknown=UNKNOWN_SENDER),
        "ref": concat.ref,
        "total": concat.total,
    }
    this, created = InboundPart.objects.get_or_create(
        **key,
        seq=concat.seq,
        defaults={"text": text, "received_at": received_at, "stored_at": timezone.now()},
    )
    if not created and this.complete:
        return None  # delivered again: its message is already stored
    parts = list(
        InboundPart.objects.select_for_update().filter(**key, complete=False).order_by("seq")
    )
    if len(parts) < concat.total:
        return None
    return _join_parts(parts, sender=sender)


def flush_incomplete_parts(*, now: datetime) -> int:
    """Store the long SMS whose parts stopped coming, with a mark where parts are missing.
    Returns how many messages were stored."""
    cutoff = now - timedelta(seconds=settings.SMSDESK_CONCAT_WAIT)
    InboundPart.objects.filter(complete=True, stored_at__lt=cutoff).delete()
    keys = set(
        InboundPart.objects.filter(complete=False, stored_at__lt=cutoff).values_list(
            "gateway", "sender", "ref", "total"
        )
    )
    stored = 0
    for gateway, sender, ref, total in keys:
        with transaction.atomic():
            parts = list(
                InboundPart.objects.select_for_update()
                .filter(gateway=gateway, sender=sender, ref=ref, total=total, complete=False)
                .order_by("seq")
            )
            if parts:
                _join_parts(parts, sender=sender)
                stored += 1
    return stored


def _join_parts(parts: list[InboundPart], *, sender: str) -> Message:
    by_seq = {p.seq: p.text for p in parts}
    total = parts[0].total
    text = "".join(
        by_seq.get(seq, MISSING_PART_MARK.format(seq=seq, total=total))
        for seq in range(1, total + 1)
    )
    InboundPart.objects.filter(id__in=[p.id for p in parts]).update(
        complete=True, stored_at=timezone.now()
    )
    return _store_inbound(
        gateway=parts[0].gateway,
        sender=sender,
        text=text,
        received_at=min(p.received_at for p in parts),
    )


def _store_inbound(
    *, gateway: str, sender: str, text: str, received_at: datetime, delivery_id: str = ""
) -> Message:
    peer = _normalise_sender(sender, unknown=UNKNOWN_SENDER)
    text = control.from_network(text)
    gateway_row = gateway_state.ensure(gateway)
    delivery_id = delivery_id[:64]
    if delivery_id:
        # Emitted again (not acknowledged before a crash): the same delivery of the same
        # gateway. Cheap: the (peer, created_at) index finds it.
        again = Message.objects.filter(
            peer=peer,
            created_at=received_at,
            direction=Message.Direction.INBOUND,
            gateway=gateway_row,
            gateway_ref=delivery_id,
        ).first()
        if again is not None:
            return again
    info = gsm7.analyse(text)
    keyword = keywords.classify(
        text, opt_out=settings.SMSDESK_STOP_KEYWORDS, opt_in=settings.SMSDESK_START_KEYWORDS
    )
    message = lifecycle.create_inbound(
        Message(
            direction=Message.Direction.INBOUND,
            peer=peer,
            gateway=gateway_row,
            body=text,
            encoding=info.encoding.value,
            segments=max(1, info.segments),
            created_at=received_at,
            status_at=received_at,
            gateway_ref=delivery_id,
            keyword=keyword.value if keyword else "",
        )
    )
    # get_or_create survives two first messages from one number arriving together.
    Conversation.objects.get_or_create(
        peer=peer,
        defaults={"last_at": received_at, "last_body": "", "last_direction": "in"},
    )
    Conversation.objects.filter(peer=peer).update(
        last_at=received_at,
        last_body=text[:160],
        last_direction=Message.Direction.INBOUND,
        unread_count=F("unread_count") + 1,
    )
    if keyword is keywords.Keyword.STOP:
        # What waits for the number is blocked with it (messaging/stop.py).
        _entry, created = optout.opt_out(
            peer, source=OptOut.Source.SMS, keyword=text, at=received_at
        )
        if created:
            _confirm_opt_out(peer, gateway_row)
    elif keyword is keywords.Keyword.START:
        optout.opt_in(peer, source=OptOut.Source.SMS, text=text, at=received_at)
    return message


def _confirm_opt_out(peer: str, gateway: GatewayState) -> Message | None:
    """Queue the confirmation of a first STOP (SMSDESK_STOP_CONFIRMATION), unless this number
    got one within SMSDESK_STOP_CONFIRMATION_DELAY_HOURS (a STOP, START, STOP in a row)."""
    text = settings.SMSDESK_STOP_CONFIRMATION_TEXT.strip()
    if not settings.SMSDESK_STOP_CONFIRMATION or not text or not peer.startswith("+"):
        return None
    now = timezone.now()
    since = now - timedelta(hours=settings.SMSDESK_STOP_CONFIRMATION_DELAY_HOURS)
    recent = Message.objects.filter(
        peer=peer, direction=Message.Direction.OUTBOUND, opt_out_notice=True, created_at__gte=since
    )
    if recent.exists():
        return None
    return queue_automatic_reply(peer=peer, gateway=gateway, body=text, opt_out_notice=True)


def queue_automatic_reply(
    *, peer: str, gateway: GatewayState, body: str, opt_out_notice: bool = False
) -> Message:
    """An SMS the platform sends on its own (a STOP confirmation, the answer to a call),
    through the gateway the correspondent reached. No author, no campaign."""
    now = timezone.now()
    info = gsm7.analyse(body)
    message = lifecycle.create_outbound(
        Message(
            direction=Message.Direction.OUTBOUND,
            peer=peer,
            gateway=gateway,
            body=body,
            encoding=info.encoding.value,
            segments=max(1, info.segments),
            created_at=now,
            due_at=now,
            status_at=now,
            opt_out_notice=opt_out_notice,
        )
    )
    _touch_conversations([peer], body, Message.Direction.OUTBOUND, now)
    return message


# A caller gets at most one automatic answer in this time.
CALL_REPLY_EVERY = timedelta(days=1)


@transaction.atomic
def receive_call(*, gateway: str, caller: str, at: datetime) -> Call:
    """Log a call; answer it by SMS when SMSDESK_CALLS_AUTO_REPLY is on, never to a hidden
    number or one on the STOP list, at most once a day per caller."""
    number = _normalise_sender(caller)
    call = calls.record_call(gateway=gateway, caller=number, at=at)
    text = settings.SMSDESK_CALLS_AUTO_REPLY_TEXT.strip()
    if not (settings.SMSDESK_CALLS_AUTO_REPLY and text and number.startswith("+")):
        return call
    if optout.is_blocked(number) or calls.replied_since(number, timezone.now() - CALL_REPLY_EVERY):
        return call
    gateway_row = gateway_state.ensure(gateway)
    call.reply = queue_automatic_reply(peer=number, gateway=gateway_row, body=text)
    call.save(update_fields=["reply"])
    return call


def _normalise_sender(sender: str, *, unknown: str = "") -> str:
    # A sender can be an alphanumeric name ("BANK") or a short code: keep those as they are,
    # whatever their characters (pages link to a conversation by its id, never by this text).
    sender = control.from_network(sender, multiline=False).strip()
    try:
        return numbers.normalise(sender, default_region=settings.SMSDESK_DEFAULT_REGION)
    except sms_errors.InvalidNumber:
        return sender[:32] or unknown  # a hidden caller stays "", an SMS needs a peer


def unread_total() -> int:
    """How many SMS are unread, for the menu badge on every page.

    Summed from the conversations' maintained counters, not counted over messages: the
    message table has no index on status (it would stop PostgreSQL's in-place updates of
    the worker's status changes), so a count there would read the whole table.
    """
    return Conversation.objects.filter(unread_count__gt=0).aggregate(
        total=Coalesce(Sum("unread_count"), 0)
    )["total"]


def mark_read(message_ids: Sequence[int]) -> int:
    """Mark inbound messages read (their conversations' unread counts lowered)."""
    return lifecycle.mark_read(message_ids)


class NotActionable(errors.ServiceError):
    code = "not_actionable"
    http_status = 409


class NotAllowed(errors.ServiceError):
    code = "forbidden"
    http_status = 403


def _check_may_act(message_id: int, by) -> None:  # type: ignore[no-untyped-def]
    """Operators cancel or send again their own messages only (accounts/access.py)."""
    if by is None:  # the command line: whoever runs it owns the installation
        return
    message = get_message(message_id)
    if not access.may_act_on_message(by, message.author_id):
        raise NotAllowed(
            _("Only its author or an administrator may cancel or send again this message.")
        )


@transaction.atomic
def cancel_message(message_id: int, *, by=None) -> Message:  # type: ignore[no-untyped-def]
    """Cancel a message that has not been handed to a gateway yet; `by` (a user) is recorded.

    One conditional UPDATE: if the worker claimed it a moment ago, nothing changes and the
    user is told it is already on its way, never a half-cancelled message.
    """
    _check_may_act(message_id, by)
    done = lifecycle.move(lifecycle.CANCEL, ids=[message_id], due_at=None, cancelled_by=by)
    message = get_message(message_id)
    if not done:
        raise NotActionable(
            _("This message can no longer be cancelled: it is %(status)s.")
            % {"status": message.get_status_display().lower()}
        )
    return message


@transaction.atomic
def retry_message(message_id: int, *, by=None) -> Message:  # type: ignore[no-untyped-def]
    """Queue again a message that failed or whose fate is unknown, at a user's request only.

    An `unknown` message may already have reached the phone: the page says so before the
    user confirms, and the worker never does this on its own.
    """
    _check_may_act(message_id, by)
    done = retry_messages(Message.objects.filter(id=message_id), by=by)
    message = get_message(message_id)
    if not done:
        raise NotActionable(
            _("Only a failed or unknown message can be sent again; this one is %(status)s.")
            % {"status": message.get_status_display().lower()}
        )
    return message


@transaction.atomic
def retry_messages(messages: QuerySet[Message], *, by=None) -> int:  # type: ignore[no-untyped-def]
    """The rule of every "send again" (one message, or a campaign's): the outbound ones among
    `messages` that failed or whose fate is unknown are queued again now, in one UPDATE
    (`by`, a user, recorded); those to a number that has said STOP since are blocked instead.
    Returns how many were queued again (blocked ones included). Who may ask is the caller's
    check (_check_may_act, campaigns._check_may_act)."""
    now = timezone.now()
    retryable = messages.filter(direction=Message.Direction.OUTBOUND)
    peers = dict(retryable.filter(status__in=lifecycle.RETRY.sources).values_list("id", "peer"))
    done = lifecycle.move(
        lifecycle.RETRY,
        within=retryable,
        now=now,
        due_at=now,
        error="",
        attempts=0,
        retried_by=by,
    )
    stop.block_among(done, (peers[i] for i in done if i in peers), at=now)
    return len(done)


def get_message(message_id: int) -> Message:
    try:
        return Message.objects.select_related("gateway").get(id=message_id)
    except Message.DoesNotExist:
        raise errors.NotFound(_("No message with id %(id)s.") % {"id": message_id}) from None
