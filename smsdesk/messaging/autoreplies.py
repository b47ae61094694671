"""Keyword auto-replies: an inbound SMS that matches a rule's keyword gets the rule's text
back, through the lifecycle like any automatic reply (`sending.queue_automatic_reply`).

- STOP and START come first and cannot be overridden: `receiving._store_inbound` asks for
  an answer only for a message that is neither, and a rule whose keyword is a STOP or START
  keyword cannot be saved. A number on the STOP list is never answered.
- Matching uses the normalisation of the STOP keywords (`sms.keywords.normalise`: case,
  accents, punctuation, emoji and invisible characters ignored): the whole message is the
  keyword (`whole`), its first word(s) are (`word`), or the keyword's words appear in it
  in a row (`contains`). Rules are tried in their order; the first that matches answers.
- A rule may also add the sender to a group (not a dynamic one: its members follow its
  conditions) and put a tag on the sender's discussion (`Conversation.tags`, found by the
  discussions' search). A rule is edited in place (`update_rule`): its claims stay.
- At most one answer per correspondent and rule per `delay_minutes` (1 minute at least):
  the claim is one conditional UPDATE of the (rule, number) row, or its INSERT (unique),
  in the inbound SMS's transaction. Two robots answering each other thus stop after one
  answer each per delay, and two SMS arriving together get one answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from smsdesk.accounts import access
from smsdesk.core import bounds, tenancy
from smsdesk.core import text as control
from smsdesk.core.errors import collect
from smsdesk.directory import services as directory
from smsdesk.directory.models import Contact
from smsdesk.messaging import errors, lines, personal, sending
from smsdesk.messaging.models import (
    AutoReply,
    AutoReplyHit,
    Conversation,
    GatewayState,
    Message,
)
from smsdesk.optout import services as optout
from smsdesk.sms import keywords, personalise
from smsdesk.sms.personalise import field_key

log = logging.getLogger(__name__)
MAX_KEYWORD = 60
MAX_TAG = 50
MAX_TAGS_CHARS = 500  # Conversation.tags
MAX_DELAY_MINUTES = 60 * 24 * 365
MAX_RULES = 200
ADMIN_ONLY = "Only an administrator can change the automatic replies."


def _bad(message: str, field: str) -> errors.InvalidAutoReply:
    return errors.InvalidAutoReply(message, field=field)


def check_keyword(keyword: object) -> tuple[str, str]:
    """(as typed, as compared), or what to fix."""
    text = " ".join(str(keyword or "").split()) if isinstance(keyword, str) else ""
    control.check_typed(text, field="keyword", label=_("The keyword"))
    if len(text) > MAX_KEYWORD:
        raise _bad(
            _("The keyword is too long: at most %(max)d characters.") % {"max": MAX_KEYWORD},
            "keyword",
        )
    normalised = keywords.normalise(text)
    if not normalised:
        raise _bad(_("Give a keyword (letters or digits)."), "keyword")
    reserved = keywords.classify(
        text, opt_out=settings.SMSDESK_STOP_KEYWORDS, opt_in=settings.SMSDESK_START_KEYWORDS
    )
    if reserved is not None:
        raise _bad(
            _("« %(keyword)s » is a STOP or START keyword: those always act on the STOP list.")
            % {"keyword": text},
            "keyword",
        )
    return text, normalised


def check_match(match: object) -> str:
    if match not in AutoReply.Match.values:
        raise _bad(_("Match is whole, word or contains."), "match")
    return str(match)


def check_answer(text: object) -> str:
    """A text that fits SMSDESK_MAX_SEGMENTS; its fields need a default but {numéro}: the
    sender may be no contact."""
    body = text if isinstance(text, str) else ""
    template = personal.check_template(body)
    sending.check_body(body, commercial=False, personalised=template.has_fields)
    for f in template.fields:
        if f.default is None and field_key(f.name) not in map(field_key, personal.NUMBER):
            raise _bad(
                _(
                    "The field {%(name)s} needs a default, as in {%(name)s|Madame, Monsieur}: "
                    "the sender may be no contact."
                )
                % {"name": f.name},
                "text",
            )
    return body


def check_delay(delay: object) -> int:
    if isinstance(delay, str) and delay.strip().isascii() and delay.strip().isdigit():
        delay = int(delay)
    if isinstance(delay, bool) or not isinstance(delay, int) or not 1 <= delay <= MAX_DELAY_MINUTES:
        raise _bad(
            _("The delay is a number of minutes from 1 to %(max)d.") % {"max": MAX_DELAY_MINUTES},
            "delay_minutes",
        )
    return delay


def check_tag(tag: object) -> str:
    """ "" (none) or one word of at most MAX_TAG printable characters, as typed."""
    text = tag.strip() if isinstance(tag, str) else ""
    if not isinstance(tag, str | None):
        raise _bad(_("The tag is a text."), "tag")
    control.check_typed(text, field="tag", label=_("The tag"))
    if len(text) > MAX_TAG:
        raise _bad(_("The tag is too long: at most %(max)d characters.") % {"max": MAX_TAG}, "tag")
    if any(c.isspace() or not c.isprintable() for c in text):
        raise _bad(_("The tag is one word, without spaces (e.g. rdv or devis-2026)."), "tag")
    return text


def check_active(active: object) -> bool:
    if not isinstance(active, bool):
        raise _bad(_("Active is true or false."), "active")
    return active


def check_gateway(name: object, *, org: Any = None) -> str:
    """ "" (every line) or one of `org`'s lines."""
    name = name if isinstance(name, str) else ""
    if name and name not in lines.lines_of(tenancy.resolve(org)):
        raise _bad(_("There is no line named %(name)s.") % {"name": name[:64]}, "gateway")
    return name


@transaction.atomic
def create_rule(
    *,
    by: Any,
    keyword: object,
    text: object,
    match: object = "whole",
    delay_minutes: object = 60,
    gateway: object = "",
    group: int | None = None,
    tag: object = "",
    org: Any = None,
) -> AutoReply:
    access.require_admin(by, _(ADMIN_ONLY))
    org = tenancy.resolve(org)
    checked = collect(
        lambda: check_keyword(keyword),
        lambda: check_match(match),
        lambda: check_answer(text),
        lambda: check_delay(delay_minutes),
        lambda: check_gateway(gateway, org=org),
        lambda: directory.get_group(group, org=org) if group is not None else None,
        lambda: check_tag(tag),
    )
    (typed, normalised), match_kind, answer, delay, line, group_row, tag_text = checked
    mine = AutoReply.objects.for_org(org)
    if mine.count() >= MAX_RULES:
        raise _bad(_("At most %(max)d rules.") % {"max": MAX_RULES}, "keyword")
    last = mine.aggregate(m=Max("position"))["m"]
    return mine.create(
        organisation=org,
        keyword=typed,
        normalised=normalised,
        match=match_kind,
        text=answer,
        delay_minutes=delay,
        gateway=line,
        group=group_row,
        tag=tag_text,
        position=(last or 0) + 1,
    )


UNCHANGED: Any = object()  # update_rule: a field not given keeps its value


@transaction.atomic
def update_rule(
    rule_id: int,
    *,
    by: Any,
    org: Any = None,
    keyword: object = UNCHANGED,
    text: object = UNCHANGED,
    match: object = UNCHANGED,
    delay_minutes: object = UNCHANGED,
    gateway: object = UNCHANGED,
    group: object = UNCHANGED,  # a group id, or None: no group
    tag: object = UNCHANGED,  # "" : no tag
    active: object = UNCHANGED,
) -> AutoReply:
    """Change a rule in place (the page's edit form, PATCH, `autoreply set`): each field
    given is checked as `create_rule` checks it, all of them before anything is written;
    its place in the order and the answers it already gave (their delay) stay."""
    access.require_admin(by, _(ADMIN_ONLY))
    org = tenancy.resolve(org)
    rule = get_rule(rule_id, org=org)
    checks = {
        "keyword": lambda: check_keyword(keyword),
        "match": lambda: check_match(match),
        "text": lambda: check_answer(text),
        "delay_minutes": lambda: check_delay(delay_minutes),
        "gateway": lambda: check_gateway(gateway, org=org),
        "group": lambda: None if group is None else directory.get_group(_group_id(group), org=org),
        "tag": lambda: check_tag(tag),
        "active": lambda: check_active(active),
    }
    given = {
        "keyword": keyword,
        "match": match,
        "text": text,
        "delay_minutes": delay_minutes,
        "gateway": gateway,
        "group": group,
        "tag": tag,
        "active": active,
    }
    names = [name for name, value in given.items() if value is not UNCHANGED]
    values = dict(zip(names, collect(*(checks[n] for n in names)), strict=True))
    if "keyword" in values:
        rule.keyword, rule.normalised = values.pop("keyword")
    for name, value in values.items():
        setattr(rule, name, value)
    rule.save()
    return rule


def _group_id(group: object) -> int:
    found = bounds.parse_id(group) if not isinstance(group, bool) else None
    if found is None:
        raise _bad(_("The group is a group's id."), "group")
    return found


def get_rule(rule_id: int, *, org: Any = None) -> AutoReply:
    """A rule of `org`; another organisation's answers exactly as a missing one."""
    try:
        if bounds.parse_id(rule_id) is None:  # beyond 64 bits: no such row
            raise AutoReply.DoesNotExist
        return AutoReply.objects.for_org(tenancy.resolve(org)).get(id=rule_id)
    except AutoReply.DoesNotExist:
        raise errors.NotFound(_("No automatic reply with id %(id)s.") % {"id": rule_id}) from None


def list_rules(*, org: Any = None) -> list[AutoReply]:
    """`org`'s rules in their order (the first that matches answers)."""
    return list(
        AutoReply.objects.for_org(tenancy.resolve(org))
        .select_related("group")
        .order_by("position", "id")[:MAX_RULES]
    )


def delete_rule(rule_id: int, *, by: Any, org: Any = None) -> None:
    access.require_admin(by, _(ADMIN_ONLY))
    get_rule(rule_id, org=org).delete()


@transaction.atomic
def move_rule(rule_id: int, *, by: Any, up: bool, org: Any = None) -> None:
    """Swap a rule with the one before (up) or after it: the first rule that matches answers."""
    access.require_admin(by, _(ADMIN_ONLY))
    org = tenancy.resolve(org)
    get_rule(rule_id, org=org)
    mine = AutoReply.objects.for_org(org)
    rules = list(mine.select_for_update().order_by("position", "id"))
    index = next((i for i, r in enumerate(rules) if r.id == rule_id), None)
    if index is None:
        raise errors.NotFound(_("No automatic reply with id %(id)s.") % {"id": rule_id})
    other = index - 1 if up else index + 1
    if not 0 <= other < len(rules):
        return
    rules[index], rules[other] = rules[other], rules[index]
    for position, rule in enumerate(rules, start=1):
        if rule.position != position:
            mine.filter(id=rule.id).update(position=position)


def matches(rule: AutoReply, normalised_text: str) -> bool:
    kw = rule.normalised
    if rule.match == AutoReply.Match.WHOLE:
        return normalised_text == kw
    if rule.match == AutoReply.Match.WORD:
        return normalised_text == kw or normalised_text.startswith(kw + " ")
    return f" {kw} " in f" {normalised_text} "


def find_rule(text: str, *, gateway: str = "", org: Any = None) -> AutoReply | None:
    """The first active rule (in order) of `org` that answers `text` arriving on `gateway`."""
    if len(text) > keywords.MAX_RAW_MESSAGE:
        return None
    normalised = keywords.normalise(text)
    if not normalised:
        return None
    rules = AutoReply.objects.for_org(tenancy.resolve(org)).filter(active=True)
    for rule in rules.order_by("position", "id"):
        if rule.gateway and rule.gateway != gateway:
            continue
        if matches(rule, normalised):
            return rule
    return None


@dataclass
class Trial:
    """What the page's test box shows: the rule that would answer, and its text."""

    rule: AutoReply | None
    answer: str


def try_text(text: str, *, number: str = "", org: Any = None) -> Trial:
    """The test box: no SMS, nothing stored."""
    rule = find_rule(text, org=org)
    if rule is None:
        return Trial(None, "")
    return Trial(rule, render(rule, number) if number else personal_default(rule))


def personal_default(rule: AutoReply) -> str:
    """The text with each field's default (the test box without a number)."""
    return personalise.render(personal.check_template(rule.text), {})


def render(rule: AutoReply, peer: str) -> str:
    try:
        return personal.preview(rule.text, peer, org=rule.organisation_id)
    except errors.MissingFields:  # {numéro} of a sender that is no number
        return personal_default(rule)


def _claim(rule: AutoReply, peer: str, now: datetime) -> bool:
    """This rule may answer this number now (and is marked as having answered)."""
    cutoff = now - timedelta(minutes=rule.delay_minutes)
    if AutoReplyHit.objects.filter(rule=rule, peer=peer, last_at__lte=cutoff).update(last_at=now):
        return True
    try:
        with transaction.atomic():
            AutoReplyHit.objects.create(rule=rule, peer=peer, last_at=now)
    except IntegrityError:
        return False  # answered within the delay
    return True


def answer(message: Message, gateway: GatewayState) -> Message | None:
    """Called by `receiving._store_inbound` in the inbound SMS's transaction, for a message
    that is not a STOP or START. Returns the answer queued, if any."""
    peer = message.peer
    if not peer.startswith("+"):
        return None  # a sender name or short code cannot be answered
    org = message.organisation_id
    rule = find_rule(message.body, gateway=gateway.name, org=org)
    if rule is None or optout.blocked_among([peer], org=org):
        return None
    if not _claim(rule, peer, timezone.now()):
        return None
    reply = sending.queue_automatic_reply(
        peer=peer, gateway=gateway, body=render(rule, peer), org=org
    )
    if rule.group_id is not None:
        _add_to_group(rule, peer)
    if rule.tag:
        add_conversation_tag(peer, rule.tag, org=org)
    return reply


def add_conversation_tag(peer: str, tag: str, *, org: Any) -> None:
    """Put `tag` on the discussion with `peer` (once; the inbound SMS made it exist). The
    only writer of `Conversation.tags`; a discussion whose tags are full keeps them."""
    conversation = Conversation.objects.for_org(org).select_for_update().filter(peer=peer).first()
    if conversation is None:
        return
    tags = conversation.tags.split()
    if any(t.casefold() == tag.casefold() for t in tags):
        return
    value = " " + " ".join([*tags, tag]) + " "
    if len(value) > MAX_TAGS_CHARS:
        log.warning("conversation %s: too many tags to add %r", conversation.id, tag)
        return
    Conversation.objects.for_org(org).filter(id=conversation.id).update(tags=value)


def conversation_tags(conversation: Conversation) -> list[str]:
    return conversation.tags.split()


def _add_to_group(rule: AutoReply, peer: str) -> None:
    group = rule.group
    if group is None or group.rule is not None:
        return  # a dynamic group's members follow its rule
    org = rule.organisation
    contact = Contact.objects.for_org(org).filter(number=peer).first()
    if contact is None:
        contact = directory.create_contact(name=peer, number=peer, org=org)
    directory.update_group(group.id, add=[contact.id], org=org)


def reserved_keyword(text: str) -> str | None:
    """ "stop" or "start" when `text` is a STOP or START message (no rule answers it)."""
    found = keywords.classify(
        text, opt_out=settings.SMSDESK_STOP_KEYWORDS, opt_in=settings.SMSDESK_START_KEYWORDS
    )
    return found.value if found else None
