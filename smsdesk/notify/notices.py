"""Mails that tell of a state: a campaign finished (to its author), a gateway down for more
than SMSDESK_EMAIL_GATEWAY_DOWN_MINUTES (to the administrators), an organisation's daily or
monthly SMS quota 80 % used, then all used (to its administrators), yesterday's figures each
morning (to the users who asked). The worker's heartbeat looks;
a `Notice` row, unique per campaign or per outage, makes each mail go once, whichever worker
looks first (the row and the mails are one transaction)."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

from smsdesk.accounts.models import LineAssignment, Organisation, User
from smsdesk.mail import services as mail
from smsdesk.messaging import lifecycle, quotas, stats
from smsdesk.messaging.models import Campaign, GatewayState, Message
from smsdesk.notify.models import Notice

CAMPAIGN_LOOK_BACK = timedelta(days=7)


def _once(kind: str, key: str, now: datetime) -> bool:
    try:
        with transaction.atomic():
            Notice.objects.create(kind=kind, key=key, at=now)
    except IntegrityError:
        return False
    return True


def campaigns_finished(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    outstanding = Message.objects.filter(
        campaign_id=OuterRef("id"), status__in=lifecycle.OUTSTANDING
    )
    candidates = (
        Campaign.objects.across_orgs()  # the worker looks at every organisation's campaigns
        .filter(
            created_at__gte=now - CAMPAIGN_LOOK_BACK,
            send_at__lte=now,
            recipient_count__gt=0,
            author__is_active=True,
        )
        .exclude(author__email="")
        .filter(~Exists(outstanding))
        .select_related("author")
    )
    sent = 0
    for c in candidates:
        if Notice.objects.filter(kind=mail.Kind.CAMPAIGN_FINISHED, key=str(c.id)).exists():
            continue
        with transaction.atomic():
            if not _once(mail.Kind.CAMPAIGN_FINISHED, str(c.id), now):
                continue
            counts = lifecycle.campaign_counts([c.id]).get(c.id, {})
            author = c.author
            assert author is not None
            url = mail.unsubscribe_url(kind=mail.Kind.CAMPAIGN_FINISHED, address=author.email)
            mail.queue_rendered(
                to=author.email,
                kind=mail.Kind.CAMPAIGN_FINISHED,
                template="campaign_finished",
                context={
                    "campaign": c,
                    "counts": sorted(counts.items()),
                    "link": mail.absolute(reverse("messaging:campaign", args=[c.id])),
                    "unsubscribe_url": url,
                },
                language=author.language,
                headers=mail.unsubscribe_headers(url),
            )
            sent += 1
    return sent


def gateways_down(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    limit = now - timedelta(minutes=settings.SMSDESK_EMAIL_GATEWAY_DOWN_MINUTES)
    sent = 0
    for g in GatewayState.objects.filter(down_since__lte=limit):
        assert g.down_since is not None
        key = f"{g.name}@{g.down_since.isoformat()}"
        with transaction.atomic():
            if not _once(mail.Kind.GATEWAY_DOWN, key, now):
                continue
            admins = User.objects.filter(role=User.Role.ADMIN, is_active=True).exclude(email="")
            # the administrators of the line's organisation, or of each that shares it
            owners = list(
                LineAssignment.objects.filter(line=g.name).values_list("organisation_id", flat=True)
            )
            if owners:
                admins = admins.filter(organisation_id__in=owners)
            for admin in admins:
                url = mail.unsubscribe_url(kind=mail.Kind.GATEWAY_DOWN, address=admin.email)
                mail.queue_rendered(
                    to=admin.email,
                    kind=mail.Kind.GATEWAY_DOWN,
                    template="gateway_down",
                    context={
                        "gateway": g,
                        "minutes": int((now - g.down_since).total_seconds() // 60),
                        "link": mail.absolute(reverse("worker:gateways")),
                        "unsubscribe_url": url,
                    },
                    language=admin.language,
                    headers=mail.unsubscribe_headers(url),
                )
                sent += 1
    return sent


def quota_warnings(*, now: datetime | None = None) -> int:
    """One mail to an organisation's administrators when its use of a quota reaches 80 %,
    one when it reaches 100 %: once per threshold, period (the organisation's local day or
    month) and limit (a limit changed by the provider arms them again). A send that goes from
    below 80 % to 100 % at once gets the 100 % mail only. How many mails were queued."""
    now = now or timezone.now()
    sent = 0
    with_quotas = Organisation.objects.filter(is_active=True).filter(
        Q(quota_day__gt=0) | Q(quota_month__gt=0)
    )
    for org in with_quotas:
        for use in quotas.usage(org, now=now):
            threshold = 100 if use.reached else 80 if use.warning else 0
            if not threshold:
                continue
            period = f"{org.id}:{use.period}:{use.resets_at.isoformat()}:{use.limit}"
            if Notice.objects.filter(
                kind=mail.Kind.QUOTA_WARNING, key=f"{period}:{threshold}"
            ).exists():
                continue
            with transaction.atomic():
                if not _once(mail.Kind.QUOTA_WARNING, f"{period}:{threshold}", now):
                    continue
                if threshold == 100:  # no 80 % mail after the 100 % one
                    _once(mail.Kind.QUOTA_WARNING, f"{period}:80", now)
                sent += _quota_mails(org, use, threshold)
    return sent


def _local(moment: datetime, org: Organisation) -> datetime:
    """`moment` in the organisation's time zone (its days and months are the quotas')."""
    return timezone.localtime(moment, _zone(org))


def _quota_mails(org: Organisation, use: quotas.Use, threshold: int) -> int:
    admins = User.objects.filter(organisation=org, role=User.Role.ADMIN, is_active=True).exclude(
        email=""
    )
    queued = 0
    for admin in admins:
        url = mail.unsubscribe_url(kind=mail.Kind.QUOTA_WARNING, address=admin.email)
        queued += bool(
            mail.queue_rendered(
                to=admin.email,
                kind=mail.Kind.QUOTA_WARNING,
                template="quota_warning",
                context={
                    "organisation": org,
                    "use": use,
                    "threshold": threshold,
                    "daily": use.period == "day",
                    "percent": int(use.share * 100),
                    "resets_at": _local(use.resets_at, org),
                    "link": mail.absolute(reverse("dashboard:home")),
                    "unsubscribe_url": url,
                },
                language=admin.language or org.language,
                headers=mail.unsubscribe_headers(url),
            )
        )
    return queued


SUMMARY_EVENTS = ("sent", "delivered", "failed", "received", "blocked")


def _summary_rows(figures: dict[str, int]) -> list[tuple[Promise, int]]:
    """(label, count) per line of the summary: labels translated when the mail is rendered
    (in its reader's language)."""
    labels = {
        "sent": pgettext_lazy("daily summary", "SMS sent"),
        "delivered": pgettext_lazy("daily summary", "SMS delivered"),
        "failed": pgettext_lazy("daily summary", "SMS failed"),
        "received": pgettext_lazy("daily summary", "SMS received"),
        "blocked": pgettext_lazy("daily summary", "SMS not sent (STOP list)"),
    }
    return [(labels[e], figures[e]) for e in SUMMARY_EVENTS]


def _zone(org: Organisation) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(org.time_zone or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def daily_summaries(*, now: datetime | None = None) -> int:
    """Each user who asked for it (Mon compte) gets yesterday's figures once a day, from
    SMSDESK_EMAIL_SUMMARY_HOUR in their organisation's time zone: a `Notice` per user and
    local day makes it once, whichever worker looks first and however often it restarts (a
    worker down at that hour sends it when it is back, the same day). The figures are the
    maintained counters' (messaging/stats.py: their calendar is SMSDESK_TIME_ZONE's)."""
    now = now or timezone.now()
    users = list(
        User.objects.filter(email_summary=True, is_active=True, organisation__is_active=True)
        .exclude(email="")
        .select_related("organisation")
    )
    due: list[tuple[User, str, date]] = []
    for user in users:
        org = user.organisation
        assert org is not None
        local = now.astimezone(_zone(org))
        if local.hour >= settings.SMSDESK_EMAIL_SUMMARY_HOUR:
            due.append((user, f"{user.id}:{local.date().isoformat()}", local.date()))
    if not due:
        return 0
    done = set(
        Notice.objects.filter(
            kind=mail.Kind.DAILY_SUMMARY, key__in=[key for _u, key, _d in due]
        ).values_list("key", flat=True)
    )
    figures: dict[tuple[int, date], dict[str, int]] = {}
    sent = 0
    for user, key, today in due:
        if key in done:
            continue
        org = user.organisation
        assert org is not None
        yesterday = today - timedelta(days=1)
        if (org.id, yesterday) not in figures:
            counts = stats.read(now, org=org, days=3)
            figures[(org.id, yesterday)] = {
                e: counts.by_day.get((yesterday, e), 0) for e in SUMMARY_EVENTS
            }
        with transaction.atomic():
            if not _once(mail.Kind.DAILY_SUMMARY, key, now):
                continue
            url = mail.unsubscribe_url(kind=mail.Kind.DAILY_SUMMARY, address=user.email)
            sent += bool(
                mail.queue_rendered(
                    to=user.email,
                    kind=mail.Kind.DAILY_SUMMARY,
                    template="daily_summary",
                    context={
                        "day": yesterday,
                        "organisation": org,
                        "rows": _summary_rows(figures[(org.id, yesterday)]),
                        "link": mail.absolute(reverse("dashboard:home")),
                        "unsubscribe_url": url,
                    },
                    language=user.language or org.language,
                    headers=mail.unsubscribe_headers(url),
                )
            )
    return sent


def step(*, now: datetime | None = None) -> int:
    """The worker's heartbeat: every notice due."""
    from smsdesk.notify import copies

    return (
        copies.flush(now=now)
        + campaigns_finished(now=now)
        + gateways_down(now=now)
        + quota_warnings(now=now)
        + daily_summaries(now=now)
    )
