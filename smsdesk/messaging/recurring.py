"""Recurring sends: a New SMS repeated every day, week or month at a local time.

Each occurrence is a Campaign made by `sending.create_campaign`, the code of New SMS, the
API and the CLI, with the recipients resolved that day (`messaging/recipients.py`: a
group's members as they are then, a dynamic group's rule evaluated then) and the
commercial window applied to it as to any commercial send.

Never twice. The worker's housekeeping calls `fire_due`. An occurrence is claimed by one
conditional UPDATE that moves `Recurrence.next_at` from the value read to the next one
(two workers read the same value: one UPDATE changes a row, the other none), and its
`Occurrence` row, unique on (recurrence, occurs_at), is written in the same transaction as
the campaign: a crash before the commit leaves nothing claimed, one after leaves the
campaign. A worker stopped over an occurrence sends it when it comes back if it is still
within SMSDESK_RECURRING_TOLERANCE minutes; later, the occurrence is skipped, logged and
recorded (its `Occurrence.skipped` says why), never sent late.

When: `sms/recurrence.py`, on the local calendar of the installation's time zone
(SMSDESK_TIME_ZONE, stored with each recurrence), so 09:00 stays 09:00 across the clock
changes.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from smsdesk.accounts import access
from smsdesk.core import bounds, tenancy
from smsdesk.core.errors import ServiceError, collect
from smsdesk.directory.services import Targets
from smsdesk.messaging import errors, personal, sending
from smsdesk.messaging.models import Occurrence, Recurrence
from smsdesk.messaging.recipients import resolve_recipients
from smsdesk.sms import recurrence as schedule
from smsdesk.sms.recurrence import Every, Repeat

log = logging.getLogger("smsdesk.recurring")

MAX_TIMES = 10_000
MAX_RUNS_PER_STEP = 50

_FIELD_MESSAGES = {
    "every": lambda: _("Repeat every day, week or month."),
    "on": lambda: _("Choose the days of the week (mon, tue, wed, thu, fri, sat, sun)."),
    "day": lambda: _(
        "Choose a day of the month (1 to 31) or the last of a weekday (last-fri, for example)."
    ),
    "at": lambda: _("Give the time as HH:MM, for example 09:00."),
}


def _invalid(field: str, message: str | None = None) -> errors.InvalidRepeat:
    return errors.InvalidRepeat(message or _FIELD_MESSAGES[field](), field=field)


def check_repeat(
    *,
    every: object,
    on: object = None,
    day: object = None,
    at: object = None,
    until: object = None,
    times: object = None,
    today: date | None = None,
) -> Repeat:
    """The repeat rule of the form, the API ({"every", "on" | "day", "at", "until" |
    "times"}) and the CLI, or InvalidRepeat naming what to fix."""
    if not isinstance(every, str) or every not in {e.value for e in Every}:
        raise _invalid("every")
    kind = Every(every)
    try:
        at_time = schedule.parse_time(at)
    except schedule.InvalidRepeat:
        raise _invalid("at") from None
    weekdays: tuple[int, ...] = ()
    month_day = last_weekday = None
    try:
        if kind is Every.WEEK:
            weekdays = schedule.parse_weekdays(on)
        elif on not in (None, "", []):
            raise _invalid("on", _("Days of the week go with a weekly repeat only."))
        if kind is Every.MONTH:
            month_day, last_weekday = schedule.parse_month_day(day)
        elif day not in (None, ""):
            raise _invalid("day", _("A day of the month goes with a monthly repeat only."))
    except schedule.InvalidRepeat as e:
        raise _invalid(e.field) from None
    until_date = _check_until(until, today or timezone.localdate())
    count = _check_times(times)
    if until_date is not None and count is not None:
        raise _invalid("times", _("Give an end date or a number of times, not both."))
    return Repeat(
        every=kind,
        at=at_time,
        weekdays=weekdays,
        month_day=month_day,
        last_weekday=last_weekday,
        until=until_date,
        times=count,
    )


def _check_until(until: object, today: date) -> date | None:
    if until in (None, ""):
        return None
    if isinstance(until, datetime):
        until = until.date()
    if isinstance(until, str):
        typed = until
        try:
            until = date.fromisoformat(typed.strip())
        except ValueError:
            raise _invalid(
                "until",
                _("« %(value)s » is not a date like 2026-12-31.") % {"value": typed[:20]},
            ) from None
    if not isinstance(until, date):
        raise _invalid("until", _("The end date is a date like 2026-12-31."))
    if until < today:
        raise _invalid("until", _("The end date is in the past."))
    if until > today + timedelta(days=settings.SMSDESK_MAX_SCHEDULE_DAYS):
        raise _invalid(
            "until",
            _("The end date is too far ahead: at most %(days)d days from now.")
            % {"days": settings.SMSDESK_MAX_SCHEDULE_DAYS},
        )
    return until


def _check_times(times: object) -> int | None:
    if times in (None, ""):
        return None
    if isinstance(times, str) and times.strip().isdigit():
        times = int(times)
    if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= MAX_TIMES:
        raise _invalid(
            "times",
            _("The number of times is a whole number from 1 to %(max)d.") % {"max": MAX_TIMES},
        )
    return times


def rule_of(rec: Recurrence) -> Repeat:
    return Repeat(
        every=Every(rec.every),
        at=rec.at,
        weekdays=tuple(rec.weekdays or ()),
        month_day=rec.month_day,
        last_weekday=rec.last_weekday,
        until=rec.until,
        times=rec.times,
    )


def _apply(rec: Recurrence, rule: Repeat) -> None:
    rec.every = rule.every.value
    rec.at = rule.at
    rec.weekdays = list(rule.weekdays)
    rec.month_day = rule.month_day
    rec.last_weekday = rule.last_weekday
    rec.until = rule.until
    rec.times = rule.times


def _check_send(
    body: str, targets: Targets, *, commercial: bool, tag: str, org: Any
) -> tuple[str, Targets]:
    """What an occurrence's send will check, checked now, so a mistake is seen when the
    recurring send is saved, not on the day (the recipients are resolved again then).
    Returns the tag and the targets as stored (typed numbers in E.164)."""
    template = personal.check_template(body)
    checked = collect(
        lambda: sending.check_tag(tag),
        lambda: sending.check_body(body, commercial=commercial, personalised=template.has_fields),
        lambda: resolve_recipients((), targets, org=org).checked(),
    )
    return str(checked[0]), checked[2].targets


@transaction.atomic
def create_recurrence(
    *,
    author: Any,
    body: str,
    targets: Targets,
    repeat: Repeat,
    commercial: bool = False,
    tag: str = "",
    source: str = "web",
    org: Any = None,
) -> Recurrence:
    """A recurring send of organisation `org`, in its time zone (else the installation's)."""
    org = tenancy.resolve(org)
    access.require_writer(author, _("A read-only account cannot send SMS."))
    tag, targets = _check_send(body, targets, commercial=commercial, tag=tag, org=org)
    zone = getattr(org, "time_zone", "") or settings.TIME_ZONE
    rec = Recurrence(
        organisation=org,
        author=author,
        body=body,
        targets=targets.as_record(),
        commercial=commercial,
        tag=tag,
        source=source,
        time_zone=zone,
    )
    _apply(rec, repeat)
    rec.next_at = schedule.next_after(repeat, timezone.now(), ZoneInfo(zone))
    if rec.next_at is None:
        raise _invalid("until", _("This repeat has no occurrence before its end date."))
    rec.save()
    return rec


def get_recurrence(recurrence_id: int, *, org: Any = None) -> Recurrence:
    """A recurring send of `org`; another organisation's answers exactly as a missing one."""
    try:
        if bounds.parse_id(recurrence_id) is None:  # beyond 64 bits: no such row
            raise Recurrence.DoesNotExist
        return (
            Recurrence.objects.for_org(tenancy.resolve(org))
            .select_related("author")
            .get(id=recurrence_id)
        )
    except Recurrence.DoesNotExist:
        raise errors.NotFound(
            _("No recurring send with id %(id)s.") % {"id": recurrence_id}
        ) from None


def list_recurrences(*, org: Any = None, limit: int = 500) -> list[Recurrence]:
    """`org`'s recurring sends, running ones first, by their next occurrence."""
    return list(
        Recurrence.objects.for_org(tenancy.resolve(org))
        .select_related("author")
        .order_by("paused", "next_at", "id")[:limit]
    )


def _may_change(rec: Recurrence, by: Any) -> None:
    access.require_author_or_admin(
        by, rec.author_id, _("Only its author or an administrator can change this recurring send.")
    )


@transaction.atomic
def update_recurrence(
    recurrence_id: int,
    *,
    by: Any,
    body: str | None = None,
    repeat: Repeat | None = None,
    tag: str | None = None,
    targets: Targets | None = None,
    org: Any = None,
) -> Recurrence:
    """Change the future occurrences (those already sent keep their campaigns): the text,
    the tag, the recipients, the rule; the next occurrence is computed again from now."""
    org = tenancy.resolve(org)
    rec = (
        Recurrence.objects.for_org(org)
        .select_for_update()
        .get(id=get_recurrence(recurrence_id, org=org).id)
    )
    _may_change(rec, by)
    new_body = rec.body if body is None else body
    new_targets = Targets(**rec.targets) if targets is None else targets
    new_tag, new_targets = _check_send(
        new_body,
        new_targets,
        commercial=rec.commercial,
        tag=rec.tag if tag is None else tag,
        org=org,
    )
    rec.body, rec.tag, rec.targets = new_body, new_tag, new_targets.as_record()
    if repeat is not None:
        _apply(rec, repeat)
        rec.next_at = schedule.next_after(
            repeat, timezone.now(), ZoneInfo(rec.time_zone), done=rec.done
        )
    rec.save()
    return rec


def set_paused(recurrence_id: int, *, by: Any, paused: bool, org: Any = None) -> Recurrence:
    """Pause: no occurrence fires. Resume: the next one from now (those passed while paused
    are not sent)."""
    org = tenancy.resolve(org)
    with transaction.atomic():
        rec = (
            Recurrence.objects.for_org(org)
            .select_for_update()
            .get(id=get_recurrence(recurrence_id, org=org).id)
        )
        _may_change(rec, by)
        rec.paused = paused
        if not paused:
            rec.next_at = schedule.next_after(
                rule_of(rec), timezone.now(), ZoneInfo(rec.time_zone), done=rec.done
            )
        rec.save(update_fields=["paused", "next_at"])
    return rec


def delete_recurrence(recurrence_id: int, *, by: Any, org: Any = None) -> None:
    """The campaigns already sent stay."""
    rec = get_recurrence(recurrence_id, org=org)
    _may_change(rec, by)
    rec.delete()


def tolerance() -> timedelta:
    return timedelta(minutes=settings.SMSDESK_RECURRING_TOLERANCE)


def fire_due(*, now: datetime | None = None) -> int:
    """Send the occurrences that are due (the worker's housekeeping). Returns how many
    campaigns were created."""
    now = now or timezone.now()
    due = list(
        # the worker: every organisation's (each occurrence is sent in its own)
        Recurrence.objects.across_orgs()
        .filter(paused=False, next_at__lte=now)
        .order_by("next_at")
        .values_list("id", flat=True)[:MAX_RUNS_PER_STEP]
    )
    return sum(_fire_one(rid, now) for rid in due)


@transaction.atomic
def _fire_one(recurrence_id: int, now: datetime) -> int:
    rec = Recurrence.objects.across_orgs().filter(id=recurrence_id).first()  # by id, from fire_due
    if rec is None or rec.paused or rec.next_at is None or rec.next_at > now:
        return 0
    occurs, rule, zone = rec.next_at, rule_of(rec), ZoneInfo(rec.time_zone)
    missed = [occurs] if now - occurs > tolerance() else []
    done = rec.done + 1
    following = schedule.next_after(rule, occurs, zone, done=done)
    while missed and following is not None and now - following > tolerance():
        missed.append(following)
        done += 1
        following = schedule.next_after(rule, following, zone, done=done)
    # The claim: only the worker whose UPDATE changes the row goes on.
    if (
        not Recurrence.objects.for_org(rec.organisation_id)
        .filter(id=rec.id, next_at=occurs, paused=False)
        .update(next_at=following, done=done)
    ):
        return 0
    if missed:
        reason = "missed: the worker was not running within the tolerance"
        Occurrence.objects.bulk_create(
            [Occurrence(recurrence=rec, occurs_at=at, skipped=reason, ran_at=now) for at in missed],
            ignore_conflicts=True,
        )
        for at in missed:
            log.warning(
                "recurring send %d: occurrence of %s skipped, %s late (tolerance %s)",
                rec.id,
                at.isoformat(),
                now - at,
                tolerance(),
            )
        return 0
    try:
        with transaction.atomic():
            run = Occurrence.objects.create(recurrence=rec, occurs_at=occurs, ran_at=now)
    except IntegrityError:
        return 0  # recorded already: never twice
    send_at = max(occurs, now)
    try:
        with transaction.atomic():
            campaign = sending.create_campaign(
                author=rec.author,
                org=rec.organisation,
                body=rec.body,
                targets=Targets(**rec.targets),
                # the occurrence's time (or now, when a worker came back late): the
                # commercial window is applied to it
                send_at=send_at if send_at > timezone.now() else None,
                source="recurring",
                commercial=rec.commercial,
                tag=rec.tag,
            )
    except ServiceError as e:
        run.skipped = str(e.message)[:300]
        run.save(update_fields=["skipped"])
        log.warning("recurring send %d: occurrence of %s not sent: %s", rec.id, occurs, e.message)
        return 0
    run.campaign = campaign
    run.save(update_fields=["campaign"])
    log.info("recurring send %d: occurrence of %s sent as campaign %d", rec.id, occurs, campaign.id)
    return 1


def describe(rec: Recurrence) -> str:
    """The rule in words, for the list: "Every week on Monday, Thursday at 09:00"."""
    from django.utils.dates import WEEKDAYS as DAY_NAMES

    at = rec.at.strftime("%H:%M")
    if rec.every == Every.DAY:
        text = _("Every day at %(at)s") % {"at": at}
    elif rec.every == Every.WEEK:
        days = ", ".join(str(DAY_NAMES[d]) for d in rec.weekdays or ())
        text = _("Every week on %(days)s at %(at)s") % {"days": days, "at": at}
    elif rec.last_weekday is not None:
        text = _("Every month on the last %(day)s at %(at)s") % {
            "day": DAY_NAMES[rec.last_weekday],
            "at": at,
        }
    else:
        text = _("Every month on day %(day)d at %(at)s") % {"day": rec.month_day or 1, "at": at}
    if rec.until is not None:
        text += ", " + _("until %(date)s") % {"date": rec.until.strftime("%d/%m/%Y")}
    if rec.times is not None:
        text += ", " + _("%(done)d of %(times)d done") % {"done": rec.done, "times": rec.times}
    return text
