"""Sending: what New SMS, a reply, the API and the CLI call to save messages to send, and
the automatic replies the platform sends on its own.

A message accepted here is in the database when the function returns (nothing is lost), and
the worker is the only one to hand it to a gateway (nothing is sent twice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from smsdesk.accounts import access
from smsdesk.audit import services as audit
from smsdesk.audit.models import Action
from smsdesk.core import display, tenancy
from smsdesk.core import text as control
from smsdesk.core.bulk import insert_one, insert_rows
from smsdesk.core.errors import collect
from smsdesk.core.groupcommit import GroupCommit
from smsdesk.core.logs import current_request_id
from smsdesk.core.metadata import check_metadata
from smsdesk.directory import invalid as invalid_numbers
from smsdesk.directory.imports import RecipientFile
from smsdesk.directory.services import Targets
from smsdesk.gateways import registry
from smsdesk.messaging import errors, gateway_state, lifecycle, lines, personal, quotas, routing
from smsdesk.messaging.models import (
    Campaign,
    Conversation,
    GatewayState,
    Message,
)
from smsdesk.messaging.recipients import Recipients, resolve_recipients
from smsdesk.sms import errors as sms_errors
from smsdesk.sms import gsm7, personalise, sending_window, typography

MESSAGES = Message._meta.db_table

# A date typed to the minute is a few seconds in the past by the time it is saved.
SEND_AT_GRACE = timedelta(minutes=2)


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


def default_gateway(org: Any = None) -> GatewayState:
    """The best of `org`'s lines now (highest priority, up, not paused, under its limits):
    what a message to nobody in particular leaves by (messaging/routing.py). An
    organisation with no line cannot send (NoLine)."""
    org = tenancy.resolve(org)
    if not lines.lines_of(org):
        raise errors.NoLine(
            _("No line is assigned to your organisation: ask your provider to assign one."),
            field="gateway",
        )
    best = routing.route(["-"], org=org).get("-")
    return named_gateway(best or lines.lines_of(org)[0], org=org)


def named_gateway(
    name: str, *, org: Any = None, views: Sequence[routing.LineView] | None = None
) -> GatewayState:
    """A line of `org` chosen by name or by its sender (a test send, `"from"`); another
    organisation's line answers exactly as a missing one. `views`: `org`'s pool as the
    caller read it (its rows, when they exist, are not read again)."""
    org = tenancy.resolve(org)
    name = routing.resolve(name, org=org, field="gateway", views=views)
    known = next((v.state for v in views or () if v.name == name), None)
    if known is not None:
        return known
    spec = next(s for s in gateway_state.configured() if s.name == name)
    return gateway_state.ensure(spec.name, spec.kind)


def reply_gateway(peer: str, *, org: Any = None) -> str | None:
    """The line `peer` last wrote to, when a reply may leave by it (`org`'s, up, not
    paused, under its limits); None: the pool's best (messaging/routing.py has the rule)."""
    org = tenancy.resolve(org)
    wrote_to = routing.correspondents_lines([peer], org=org).get(peer)
    chosen = routing.route([peer], org=org).get(peer)
    return wrote_to if wrote_to and chosen == wrote_to else None


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


def check_body(body: str, *, commercial: bool, personalised: bool = False) -> gsm7.TextInfo:
    """The text as typed, then (commercial) with the opt-out mention that will be added. A
    text with fields: its length is checked on each rendering instead (personalised)."""
    if personalised:
        control.check_typed(body, field="text", label=_("The text"), multiline=True)
        return gsm7.analyse(commercial_text(body) if commercial else body)
    info = check_text(body)
    return check_text(commercial_text(body)) if commercial else info


def create_campaign(
    *,
    author: Any,  # a User, or None (the command line)
    org: Any = None,  # the organisation sending (None: the only one)
    body: str,
    to: Sequence[str] = (),
    targets: Targets | None = None,
    send_at: datetime | None = None,
    source: str = "web",
    commercial: bool = False,
    tag: str = "",
    extra_fields: Mapping[str, Mapping[str, str]] | None = None,
    personalise_text: bool = True,
    gateway: str | None = None,  # a line's name or sender ("from"); None: the routing's choice
    recipient_file: RecipientFile | None = None,
    smart_encoding: bool = False,
    flash: bool = False,
    metadata: object = None,
    token: Any = None,  # the API token sending: its recipients per day (messaging/quotas.py)
    commit: Callable[[Callable[[], Campaign]], Campaign] | None = None,
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

    `smart_encoding`: typographic characters (’ « » – … non-breaking spaces, sms/typography.py)
    are replaced by their GSM look-alikes before anything else, so the text stored is the
    text sent and a text that only had those stays GSM-7.

    Everything runs in one transaction, unless `commit` is given (the API's group commit,
    `create_campaign_together`): then the reads and checks run before it, outside any
    transaction, and `commit(write)` runs the writes (the quotas' count last) in its own
    transaction, so that the database's write lock (SQLite's, one writer) or the counters'
    rows (PostgreSQL's) are held for the writes alone (issue 19). A number that joins the
    STOP list in between is still never sent to: the worker's claim checks it again.
    """
    with transaction.atomic() if commit is None else nullcontext():
        return _create_campaign(
            commit,
            author=author,
            org=org,
            body=body,
            to=to,
            targets=targets,
            send_at=send_at,
            source=source,
            commercial=commercial,
            tag=tag,
            extra_fields=extra_fields,
            personalise_text=personalise_text,
            gateway=gateway,
            recipient_file=recipient_file,
            smart_encoding=smart_encoding,
            flash=flash,
            metadata=metadata,
            token=token,
        )


def _create_campaign(
    commit: Callable[[Callable[[], Campaign]], Campaign] | None,
    *,
    author: Any,
    org: Any,
    body: str,
    to: Sequence[str],
    targets: Targets | None,
    send_at: datetime | None,
    source: str,
    commercial: bool,
    tag: str,
    extra_fields: Mapping[str, Mapping[str, str]] | None,
    personalise_text: bool,
    gateway: str | None,
    recipient_file: RecipientFile | None,
    smart_encoding: bool,
    flash: bool,
    metadata: object,
    token: Any,
) -> Campaign:
    now = timezone.now()
    org = tenancy.resolve(org)
    access.require_writer(author, _("A read-only account cannot send SMS."))
    if smart_encoding:
        body = typography.replace(body).text
    template = personal.check_template(body) if personalise_text else personal.literal(body)
    if not template.has_fields:
        body = personalise.render(template, {})  # "{{" and "}}" become plain braces
    # every check runs, so that a form shows all its errors at once
    checked = collect(
        lambda: check_tag(tag),
        lambda: check_body(body, commercial=commercial, personalised=template.has_fields),
        lambda: resolve_recipients(to, targets, recipient_file, org=org).checked(),
        lambda: check_send_at(send_at, now),
        lambda: check_metadata(metadata),
    )
    tag = cast(str, checked[0])
    info = cast(gsm7.TextInfo, checked[1])
    resolved = cast(Recipients, checked[2])
    due = cast(datetime, checked[3])
    kept_metadata = cast("dict[str, str] | None", checked[4])
    recipients = resolved.numbers
    if recipient_file is not None:
        extra_fields = {**recipient_file.values_by_number(), **(extra_fields or {})}
    bodies = personalised(template, recipients, extra_fields, commercial=commercial, org=org)
    if commercial:
        body = commercial_text(body)
        due = commercial_send_at(due)
    # Each recipient's line: the one chosen, else (messaging/routing.py) the line the
    # correspondent last wrote to, else the best of the organisation's pool.
    # The organisation's lines, their states and use: read once for the whole send.
    views = routing.pool(org=org) if recipients else []
    line_of = routing.route(recipients, chosen=gateway, org=org, views=views) if recipients else {}
    distinct = sorted(set(line_of.values()))
    gateway_row = (
        named_gateway(distinct[0], org=org, views=views) if distinct else default_gateway(org)
    )
    for name in distinct[1:]:
        named_gateway(name, org=org, views=views)  # each line has its row before messages
    by_line = len(distinct) > 1
    if flash:  # every line the send leaves by must be able to
        for name in distinct or [gateway_row.name]:
            check_flash(name)
    blocked = resolved.blocked
    scheduled = due > now

    # Everything above read and checked; below, the writes (in `commit`'s transaction when
    # given, else in this function's).
    def write() -> Campaign:
        campaign: Any = Campaign(  # Any: the answer's rows are set on it below
            organisation=org,
            author=author,
            body=body,
            send_at=due,
            targets={
                **resolved.targets.as_record(),
                **({"file": len(recipient_file.recipients)} if recipient_file else {}),
            },
            recipient_count=len(recipients),
            source=source,
            commercial=commercial,
            tag=tag,
            request_id=current_request_id() or None,
        )
        insert_one(campaign)  # one plain INSERT (issue 19: the ORM's cost per send)
        message = Message(
            organisation=org,
            direction=Message.Direction.OUTBOUND,
            gateway_id=gateway_row.name,
            body=body,
            encoding=info.encoding.value,
            segments=info.segments,
            campaign=campaign,
            author=author,
            created_at=now,
            due_at=due,
            status_at=now,
            flash=flash,
            metadata=kept_metadata,
        )
        # One row per recipient, only peer (and the personalised text) differ: see core/bulk.py
        # for why not bulk_create (10x slower for a 100,000-member group).
        line_column = ["gateway"] if by_line else []
        if bodies is None:
            written = lifecycle.create_campaign_messages(
                message,
                ["peer", *line_column],
                [(n, line_of[n]) if by_line else (n,) for n in recipients],
                blocked=blocked,
                scheduled=scheduled,
            )
        else:
            infos = bodies.infos
            written = lifecycle.create_campaign_messages(
                message,
                ["peer", "body", "encoding", "segments", *line_column],
                [
                    (number, text, infos[text].encoding.value, str(infos[text].segments))
                    + ((line_of[number],) if by_line else ())
                    for number in recipients
                    for text in (bodies[number],)
                ],
                blocked=blocked,
                scheduled=scheduled,
            )
        if recipient_file is not None:
            # The lines of the file refused for their number: kept with the send (issue 20).
            campaign.invalid_report = invalid_numbers.record(
                recipient_file.rejected,
                kind=invalid_numbers.Kind.SEND,
                label=recipient_file.name,
                by=author,
                org=org,
            )
            if campaign.invalid_report is not None:
                campaign.save(update_fields=["invalid_report"])
        campaign.created_rows = _created_rows(message, written, line_of, bodies)
        _touch_conversations(org, recipients, body, Message.Direction.OUTBOUND, now, bodies=bodies)
        audit.record(
            Action.SEND,
            campaign,
            actor=author,
            after={"recipients": len(recipients), "text": body[:160], "source": source},
            label=body[:80],
        )
        # The organisation's quotas and recipients per day, the user's and the token's: the
        # whole send, or nothing. Counted last, in this transaction: a refusal rolls back all
        # that was written above, and the counters' rows (the organisation's, shared by all its
        # sends) are locked only from here to the commit, not while the send is written (issue
        # 19: concurrent sends queued on that lock for the whole transaction).
        sent = [n for n in recipients if n not in blocked]
        if bodies is None:
            parts = info.segments * len(sent)
        else:
            parts = sum(bodies.infos[bodies[n]].segments for n in sent)
        quotas.take(org, parts, recipients=len(sent), token=token, user=author, now=now)
        return campaign

    return write() if commit is None else commit(write)


def _created_rows(
    prototype: Message,
    written: Mapping[str, tuple[int, str, str]] | None,
    line_of: Mapping[str, str],
    bodies: _Bodies | None,
) -> list[SimpleNamespace]:
    """The campaign's messages as `shapes.message_data` reads them (the API's answer): what
    differs per message as the insert returned it (`written`: a few messages) or else read
    in one plain statement, the rest from `prototype`, as stored. (The ORM's queryset cost
    more than the send's own statements: issue 19's profile.)"""
    rows: list[tuple[Any, ...]]
    if written is not None:
        rows = []
        for peer, (pk, status, error) in written.items():
            body = bodies[peer] if bodies is not None else prototype.body
            info = bodies.infos[body] if bodies is not None else None
            rows.append(
                (
                    pk,
                    peer,
                    status,
                    body,
                    info.encoding.value if info else prototype.encoding,
                    info.segments if info else prototype.segments,
                    error,
                    line_of.get(peer, prototype.gateway_id),
                )
            )
        rows.sort(key=lambda row: row[0])
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, peer, status, body, encoding, segments, error, "  # noqa: S608
                f"gateway_id FROM {MESSAGES} WHERE campaign_id = %s ORDER BY id",
                [prototype.campaign_id],
            )
            rows = cursor.fetchall()
    common = {
        "direction": prototype.direction,
        "created_at": prototype.created_at,
        "due_at": prototype.due_at,
        "sent_at": None,
        "status_at": prototype.status_at,
        "campaign_id": prototype.campaign_id,
        "keyword": "",
        "metadata": prototype.metadata,
    }
    # each message's own line: routing may send one campaign by several
    names = ("id", "peer", "status", "body", "encoding", "segments", "error", "gateway_id")
    return [SimpleNamespace(**common, **dict(zip(names, row, strict=True))) for row in rows]


# The API's sends, one message per request arriving together: one transaction, one commit
# (core/groupcommit.py).
_together = GroupCommit()


def create_campaign_together(**kwargs: Any) -> Campaign:
    """`create_campaign`, committed with the sends of the other threads of this process that
    ask at the same moment (group commit); returns once its own send is committed."""
    if not settings.SMSDESK_API_GROUP_COMMIT:
        return create_campaign(**kwargs)
    return create_campaign(**kwargs, commit=_together.run)


MAX_TAG = 50


def check_flash(line: str) -> None:
    """A flash SMS (class 0) only through a line that can send one: refused before anything
    is queued, never failed later by the gateway."""
    spec = next((s for s in gateway_state.configured() if s.name == line), None)
    if spec is None or not registry.build(spec).supports_flash:
        raise errors.FlashUnsupported(
            _(
                "The line %(line)s cannot send a flash SMS: choose a modem, an SMPP line or a "
                "provider that offers it, or send a normal SMS."
            )
            % {"line": line},
            field="flash",
        )


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


def personalised(
    template: personalise.Template,
    recipients: list[str],
    extra_fields: Mapping[str, Mapping[str, str]] | None,
    *,
    commercial: bool,
    org: Any = None,
) -> _Bodies | None:
    """Each recipient's text (None when the text has no field), checked like a plain text:
    the longest rendering must fit SMSDESK_MAX_SEGMENTS."""
    if not template.has_fields:
        return None
    bodies = _Bodies(personal.render_all(template, recipients, extra_fields, org=org))
    if commercial:  # the mention added once per distinct text
        mentioned = {text: commercial_text(text) for text in set(bodies.values())}
        bodies = _Bodies({number: mentioned[text] for number, text in bodies.items()})
    bodies.infos = {text: gsm7.analyse(text) for text in set(bodies.values())}
    check_text(min(bodies.infos, key=len))  # `{prénom|}` alone may leave someone an empty text
    check_text(max(bodies.infos, key=lambda text: (bodies.infos[text].segments, len(text))))
    return bodies


def _touch_conversations(
    org: Any,
    peers: Sequence[str],
    body: str,
    direction: str,
    at: datetime,
    *,
    bodies: Mapping[str, str] | None = None,
) -> None:
    insert_rows(
        Conversation,
        Conversation(
            organisation_id=tenancy.org_id(org),
            last_at=at,
            last_body=body[:160],
            last_direction=direction,
        ),
        ["peer", "last_body"] if bodies else ["peer"],
        [(p, bodies[p][:160]) for p in peers] if bodies else [(p,) for p in peers],
        conflict=["organisation", "peer"],
        update=["last_at", "last_body", "last_direction"],
    )


def queue_automatic_reply(
    *, peer: str, gateway: GatewayState, body: str, org: Any, opt_out_notice: bool = False
) -> Message:
    """An SMS the platform sends on its own for `org` (a STOP confirmation, the answer to a
    call), through the line the correspondent reached (the organisation's). No author, no
    campaign."""
    now = timezone.now()
    info = gsm7.analyse(body)
    message = lifecycle.create_outbound(
        Message(
            organisation_id=tenancy.org_id(org),
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
    _touch_conversations(message.organisation_id, [peer], body, Message.Direction.OUTBOUND, now)
    return message
