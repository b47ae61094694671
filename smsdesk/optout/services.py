"""The STOP list: who asked never to be texted again, and the history of every change.

Every entry point (the inbound STOP/START handled by messaging.receiving.receive_inbound, the
SMS STOP page, the API, `smsdesk optout`) changes the list through `opt_out` / `opt_in`, so
each change writes its `OptOutEvent` in the same transaction as the change itself.

The list is an organisation's: an opt-out is given to a sender, so a STOP to organisation A
never blocks organisation B. Every function takes the organisation (`org`; None: the only
one of a single-customer installation, core.tenancy.resolve).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from smsdesk.accounts import access
from smsdesk.audit import services as audit
from smsdesk.audit.models import Action
from smsdesk.core import number_reasons, tenancy
from smsdesk.core.bulk import select_among
from smsdesk.core.text import check_typed
from smsdesk.directory import services as directory
from smsdesk.optout import errors
from smsdesk.optout.models import OptOut, OptOutEvent, Source, StopSettings
from smsdesk.sms import errors as sms_errors
from smsdesk.sms import gsm7

MAX_REASON = 255

# Called with (organisation, number, time) in the transaction that puts a number on the
# list: messaging registers the STOP rule here (messaging/stop.py), so that every way onto
# the list blocks what waits for the number, and this app imports nothing above it.
on_opt_out: list[Callable[[Any, str, datetime], None]] = []
# Called with each change of the list (its `OptOutEvent`, added or removed) in the
# transaction that makes it: the webhooks' outbox registers here.
on_change: list[Callable[[OptOutEvent], None]] = []


def blocked_among(numbers: Iterable[str], *, org: Any = None) -> set[str]:
    """The numbers (E.164) of `numbers` on `org`'s STOP list (one query per 50,000)."""
    org = tenancy.resolve(org)
    return {
        number for (number,) in select_among(OptOut, "number", list(numbers), ["number"], org=org)
    }


def blocked_anywhere(numbers: Iterable[str]) -> set[str]:
    """The numbers on any organisation's STOP list: the worker's quick first look before
    the exact check per organisation (messaging.stop.block_at_handover)."""
    wanted = list(numbers)
    if not wanted:
        return set()
    return set(
        OptOut.objects.across_orgs().filter(number__in=wanted).values_list("number", flat=True)
    )


def count_blocked(raw_numbers: Iterable[str], *, org: Any = None) -> int:
    """How many distinct numbers of `raw_numbers` (any format) are on the STOP list.

    For the New SMS page, before saving: a number that does not parse is not counted here
    (the form reports it when saving).
    """
    valid: set[str] = set()
    for raw in raw_numbers:
        try:
            valid.add(number_reasons.parse_typed(raw))
        except sms_errors.InvalidNumber:
            continue
    return len(blocked_among(valid, org=org))


def is_blocked(number: str, *, org: Any = None) -> bool:
    return OptOut.objects.for_org(tenancy.resolve(org)).filter(number=number).exists()


def _by_name(by: Any) -> str:
    return by.get_username() if by is not None else ""


def opt_out(  # type: ignore[no-untyped-def]
    number: str,
    *,
    source: str,
    org: Any = None,
    keyword: str = "",
    by=None,
    reason: str = "",
    at: datetime | None = None,
    never: bool = False,
    recorded: bool = False,
) -> tuple[OptOut, bool]:
    """Put `number` (E.164) on the STOP list; returns (entry, created). Idempotent: a number
    already on the list is left as it is and no history is written. What waits for it is
    blocked in the same transaction (`on_opt_out`). `never`: an administrator's "never
    text" entry, which a START from the number does not remove."""
    at = at or timezone.now()
    org = tenancy.resolve(org)
    try:
        with transaction.atomic():
            entry = OptOut.objects.create(
                organisation=org,
                number=number,
                source=source,
                keyword=(keyword or reason)[:160],
                by=by,
                never=never,
            )
            event = OptOutEvent.objects.create(
                organisation=org,
                number=number,
                action=OptOutEvent.Action.ADDED,
                source=source,
                at=at,
                by=by,
                by_name=_by_name(by),
                reason=reason[:MAX_REASON],
                text=keyword[:160],
            )
            for listener in on_opt_out:
                listener(org, number, at)
            for changed in on_change:
                changed(event)
            if not recorded:  # (`recorded`: an import writes one entry for all)
                audit.record(
                    Action.STOP_ADD,
                    ("optout", number),
                    actor=by,
                    after={"source": source, "reason": reason, "never": never},
                    label=number,
                )
            return entry, True
    except IntegrityError:
        return OptOut.objects.for_org(org).get(number=number), False


def opt_in(  # type: ignore[no-untyped-def]
    number: str,
    *,
    source: str,
    org: Any = None,
    text: str = "",
    by=None,
    reason: str = "",
    at: datetime | None = None,
) -> OptOutEvent | None:
    """Take `number` off the STOP list (a START, or a removal by hand); None if it was not
    on it. The number can be texted again from now on. A START (source `sms`) does not take
    off a "never text" entry: only an administrator does."""
    org = tenancy.resolve(org)
    with transaction.atomic():
        entries = OptOut.objects.for_org(org).filter(number=number)
        if source == Source.SMS:
            entries = entries.filter(never=False)
        deleted, _rows = entries.delete()
        if not deleted:
            return None
        event = OptOutEvent.objects.create(
            organisation=org,
            number=number,
            action=OptOutEvent.Action.REMOVED,
            source=source,
            at=at or timezone.now(),
            by=by,
            by_name=_by_name(by),
            reason=reason[:MAX_REASON],
            text=text[:160],
        )
        for changed in on_change:
            changed(event)
        audit.record(
            Action.STOP_REMOVE,
            ("optout", number),
            actor=by,
            after={"source": source, "reason": reason},
            label=number,
        )
        return event


def parse_number(raw: str) -> str:
    """A number as typed ("06 12 34 56 78") in E.164, or InvalidNumber saying why."""
    try:
        return number_reasons.parse_typed(str(raw)[:64])
    except sms_errors.InvalidNumber as e:
        raise errors.InvalidNumber(
            number_reasons.invalid_number_message(raw, e.reason), field="number"
        ) from None


def check_admin(by: Any) -> None:
    """Only an administrator changes the STOP list (AdminOnly)."""
    access.require_admin(
        by, _("Only an administrator can change the STOP list."), error=errors.AdminOnly
    )


@transaction.atomic
def add_number(
    raw: str,
    *,
    by: Any,
    org: Any = None,
    source: str = Source.MANUAL,
    reason: str = "",
    never: bool = False,
) -> OptOut:
    """An administrator puts a number on the STOP list by hand (page, API or command line);
    `never`: a "never text" entry, which a START from the number does not remove.

    What was still waiting for that number is blocked at once (`opt_out`), as for an SMS STOP.
    """
    check_admin(by)
    number = parse_number(raw)
    reason = check_typed(reason.strip(), field="reason", label=_("The reason"))
    entry, created = opt_out(number, source=source, org=org, by=by, reason=reason, never=never)
    if not created:
        raise errors.AlreadyOptedOut(
            _("%(number)s is already on the STOP list.") % {"number": number}, field="number"
        )
    return entry


def remove_number(
    raw: str, *, by: Any, reason: str, org: Any = None, source: str = Source.MANUAL
) -> OptOutEvent:
    """An administrator takes a number off the STOP list, saying why; it can be texted again."""
    check_admin(by)
    number = parse_number(raw)
    reason = check_typed((reason or "").strip(), field="reason", label=_("The reason"))
    if not reason:
        raise errors.ReasonRequired(
            _("Say why this number is removed from the STOP list: the reason is kept."),
            field="reason",
        )
    if len(reason) > MAX_REASON:
        raise errors.ReasonRequired(
            _("The reason is too long: at most %(max)d characters.") % {"max": MAX_REASON},
            field="reason",
        )
    event = opt_in(number, source=source, org=org, by=by, reason=reason)
    if event is None:
        raise errors.NotOptedOut(
            _("%(number)s is not on the STOP list.") % {"number": number}, field="number"
        )
    return event


def history_of(numbers_shown: Iterable[str], *, org: Any = None) -> dict[str, list[OptOutEvent]]:
    """The changes of each number, newest first (for the lines of the SMS STOP page)."""
    events: dict[str, list[OptOutEvent]] = {}
    rows = OptOutEvent.objects.for_org(tenancy.resolve(org))
    for e in rows.filter(number__in=list(numbers_shown)).order_by("-at", "-id"):
        events.setdefault(e.number, []).append(e)
    return events


CSV_HEADER = ("number", "date", "how", "by", "message", "name")  # name: the contact's, if any


def export_rows(queryset: QuerySet[OptOut]) -> Iterator[str]:
    """The STOP list as CSV lines (UTF-8, dates in ISO 8601 local time), streamed."""
    audit.record(Action.EXPORT, ("optout", ""), label="STOP")
    return _export_rows(queryset)


def _export_rows(queryset: QuerySet[OptOut]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(row: Iterable[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_safe_cell(str(cell)) for cell in row])
        return buffer.getvalue()

    yield line(CSV_HEADER)
    named = directory.with_names(queryset.select_related("by"), "number")
    for o in named.iterator(chunk_size=2000):
        yield line(
            (
                o.number,
                timezone.localtime(o.created_at).isoformat(timespec="seconds"),
                o.source,
                o.by.get_username() if o.by else "",
                o.keyword,
                o.contact_name or "",
            )
        )


def _safe_cell(value: str) -> str:
    # A cell a spreadsheet would run as a formula (the SMS came from a stranger): quote it.
    if value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(value):
        return "'" + value
    return value


def _is_number(value: str) -> bool:
    return value.startswith("+") and value[1:].isdigit()


# --- the confirmation of a STOP ---------------------------------------------------------------

MAX_DELAY_HOURS = 24 * 365
MAX_CONFIRMATION_SEGMENTS = 2


@dataclass(frozen=True)
class Confirmation:
    """What is sent after a first STOP: `text` if `enabled`, at most once per number within
    `delay_hours` (a STOP, START, STOP in a row gets one)."""

    enabled: bool
    text: str
    delay_hours: int
    set_by_admin: bool  # False: the SMSDESK_STOP_CONFIRMATION* settings apply

    @property
    def sends(self) -> bool:
        return self.enabled and bool(self.text.strip())


def confirmation(*, org: Any = None) -> Confirmation:
    """The confirmation as `org`'s administrators set it on the page, or the settings' (one
    query)."""
    row = StopSettings.objects.for_org(tenancy.resolve(org)).first()
    if row is None:
        return Confirmation(
            settings.SMSDESK_STOP_CONFIRMATION,
            settings.SMSDESK_STOP_CONFIRMATION_TEXT.strip(),
            settings.SMSDESK_STOP_CONFIRMATION_DELAY_HOURS,
            False,
        )
    return Confirmation(row.enabled, row.text.strip(), row.delay_hours, True)


def set_confirmation(
    *, by: Any, enabled: bool, text: str, delay_hours: Any, org: Any = None
) -> Confirmation:
    """An administrator changes the confirmation of a STOP (the SMS STOP page, kept in the
    database: it wins over the SMSDESK_STOP_CONFIRMATION* settings from then on). Every fault
    is reported at once."""
    from smsdesk.core.errors import collect

    check_admin(by)

    def check_text() -> str:
        value = check_typed(str(text or "").strip(), field="text", label=_("The text"))
        if enabled and not value:
            raise errors.BadConfirmation(
                _("Write the confirmation text, or untick “Send a confirmation”."), field="text"
            )
        if len(value) > 500 or gsm7.analyse(value).segments > MAX_CONFIRMATION_SEGMENTS:
            raise errors.BadConfirmation(
                _("The confirmation is too long: at most %(n)d SMS parts.")
                % {"n": MAX_CONFIRMATION_SEGMENTS},
                field="text",
            )
        return value

    def check_delay() -> int:
        try:
            hours = int(str(delay_hours).strip())
        except ValueError:
            hours = -1
        if not 0 <= hours <= MAX_DELAY_HOURS:
            raise errors.BadConfirmation(
                _("The delay is a whole number of hours from 0 to %(max)d.")
                % {"max": MAX_DELAY_HOURS},
                field="delay_hours",
            )
        return hours

    value, hours = collect(check_text, check_delay)
    org = tenancy.resolve(org)
    StopSettings.objects.for_org(org).update_or_create(
        organisation=org,
        defaults={"enabled": bool(enabled), "text": value, "delay_hours": hours, "updated_by": by},
    )
    return confirmation(org=org)


# --- importing a list of numbers -----------------------------------------------------------


@dataclass
class ImportPlan:
    """What a CSV of numbers would change: read as the contact import reads a file (the same
    decoding, layout and per-line refusals: `directory.imports.read_recipients`), then
    compared with the list."""

    file: Any  # directory.imports.RecipientFile
    new: list[str]
    already: list[str]


def plan_import(data: bytes, *, org: Any = None) -> ImportPlan:
    from smsdesk.directory import imports

    read = imports.read_recipients(data)
    numbers = read.numbers
    on_list = blocked_among(numbers, org=org)
    return ImportPlan(
        read, [n for n in numbers if n not in on_list], [n for n in numbers if n in on_list]
    )


def check_import_reason(reason: object) -> str:
    """The reason an import gives (optional), as typed: no control character, bounded."""
    reason = check_typed(str(reason or "").strip(), field="reason", label=_("The reason"))
    if len(reason) > MAX_REASON:
        raise errors.ReasonRequired(
            _("The reason is too long: at most %(max)d characters.") % {"max": MAX_REASON},
            field="reason",
        )
    return reason


@transaction.atomic
def import_numbers(data: bytes, *, by: Any, reason: str = "", org: Any = None) -> ImportPlan:
    """An administrator puts the numbers of a CSV file on the STOP list (source `import`),
    after its preview: each with its history line, what waits for it blocked at once. Lines
    that hold no valid number are skipped (the preview listed them); numbers already on the
    list are left as they are. One transaction: all or nothing."""
    check_admin(by)
    reason = check_import_reason(reason)
    org = tenancy.resolve(org)
    plan = plan_import(data, org=org)
    at = timezone.now()
    for number in plan.new:
        opt_out(number, source=Source.IMPORT, org=org, by=by, reason=reason, at=at, recorded=True)
    audit.record(
        Action.IMPORT,
        ("optout", ""),
        actor=by,
        after={"added": len(plan.new), "reason": reason},
        label="STOP",
    )
    return plan
