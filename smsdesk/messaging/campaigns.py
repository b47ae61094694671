"""Campaigns (one "New SMS" each): their counts per state, progress, tags, and the actions
on all their messages at once. The same functions serve the pages, the API and the CLI.

Counts are kept per campaign and state by the transitions themselves (messaging/lifecycle.py:
`CampaignCount` and its appended deltas), read in one query over those small tables for all
the campaigns of a page: no message is read, however big the campaign.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from smsdesk.accounts import access
from smsdesk.audit import services as audit
from smsdesk.audit.models import Action
from smsdesk.core import tenancy
from smsdesk.directory.imports import RecipientFile
from smsdesk.directory.services import Targets
from smsdesk.messaging import actions, errors, lifecycle, sending
from smsdesk.messaging.lifecycle import OUTSTANDING
from smsdesk.messaging.models import Campaign, Message

S = Message.Status

# The columns of a campaign's counts: (name, label, statuses, colour).
BUCKETS = (
    ("waiting", gettext_lazy("Waiting"), OUTSTANDING, "secondary"),
    ("sent", gettext_lazy("Sent"), (S.SENT,), "primary"),
    ("delivered", gettext_lazy("Delivered"), (S.DELIVERED,), "success"),
    ("failed", gettext_lazy("Failed"), (S.FAILED,), "danger"),
    ("blocked", gettext_lazy("Blocked (STOP)"), (S.BLOCKED,), "dark"),
    ("unknown", gettext_lazy("Unknown"), (S.UNKNOWN,), "warning"),
    ("cancelled", gettext_lazy("Cancelled"), (S.CANCELLED,), "light"),
)
STATUSES_OF = {name: statuses for name, _label, statuses, _c in BUCKETS}


@dataclass
class Counts:
    by_bucket: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, bucket: str) -> int:
        """`counts["failed"]` (`counts.failed` in a template); KeyError for any other name,
        so that a template's `counts.rows` still reaches the method."""
        if bucket not in STATUSES_OF:
            raise KeyError(bucket)
        return self.by_bucket.get(bucket, 0)

    @property
    def total(self) -> int:
        return sum(self.by_bucket.values())

    @property
    def done(self) -> int:
        """Messages that left the queue, whatever became of them."""
        return self.total - self["waiting"]

    @property
    def percent_done(self) -> int:
        return 100 * self.done // self.total if self.total else 100

    @property
    def sending(self) -> bool:
        return self["waiting"] > 0

    @property
    def awaiting_reports(self) -> bool:
        """Sent, delivery not reported yet: the page still refreshes, more slowly."""
        return self["sent"] > 0

    def rows(self) -> list[dict]:
        """For the page: each state with its count and its share of the bar (0-1000)."""
        total = self.total or 1
        out, x = [], 0
        for name, label, _statuses, colour in BUCKETS:
            width = 1000 * self[name] // total
            out.append(
                {
                    "name": name,
                    "label": label,
                    "count": self[name],
                    "colour": colour,
                    "x": x,
                    "width": width,
                }
            )
            x += width
        return out


def counts(campaign_ids: Iterable[int]) -> dict[int, Counts]:
    """Each campaign's counts per state, from the maintained counts (one query)."""
    return {
        cid: Counts(by_bucket) for cid, by_bucket in lifecycle.campaign_counts(campaign_ids).items()
    }


def campaign_data(campaign: Campaign, counted: Counts) -> dict[str, Any]:
    """A campaign as the API shows it: one shape for the API's answers and the webhooks'
    `data` (campaign.finished)."""
    return {
        "id": campaign.id,
        "text": campaign.body,
        "tag": campaign.tag,
        "author": campaign.author.username if campaign.author else None,
        "source": campaign.source,
        "commercial": campaign.commercial,
        "created_at": campaign.created_at,
        "send_at": campaign.send_at,
        "finished_at": campaign.finished_at,
        "recipients": campaign.recipient_count,
        "counts": {
            **{name: counted[name] for name, *_rest in BUCKETS},
            "total": counted.total,
            "percent_done": counted.percent_done,
        },
    }


def get_campaign(campaign_id: int, *, org: Any = None) -> Campaign:
    """A campaign of `org`; another organisation's answers exactly as a missing one."""
    try:
        return (
            Campaign.objects.for_org(tenancy.resolve(org))
            .select_related("author")
            .get(id=campaign_id)
        )
    except Campaign.DoesNotExist:
        raise errors.NotFound(_("No campaign with id %(id)s.") % {"id": campaign_id}) from None


def campaign_list(*, org: Any = None, search: str = "", tag: str = "") -> QuerySet:
    qs = (
        Campaign.objects.for_org(tenancy.resolve(org))
        .select_related("author")
        .order_by("-created_at", "-id")
    )
    if tag:
        qs = qs.filter(tag__iexact=tag)
    if search:
        qs = qs.filter(Q(body__icontains=search) | Q(tag__icontains=search))
    return qs


def tag_usage(limit: int = 50, *, org: Any = None) -> list[tuple[str, int]]:
    """Tags used so far, the most used first, with how many campaigns carry each (the
    suggestions of the New SMS form and the filter of the campaign list)."""
    rows = (
        Campaign.objects.for_org(tenancy.resolve(org))
        .exclude(tag="")
        .order_by()
        .values_list("tag")
        .annotate(n=Count("id"))
        .order_by("-n", "tag")[:limit]
    )
    return [(tag, n) for tag, n in rows]


@transaction.atomic
def cancel_campaign(campaign_id: int, *, by: Any = None, org: Any = None) -> int:
    """Cancel every message of the campaign that has not gone out: one conditional UPDATE,
    so a message the worker claims at that instant goes out and is not counted here."""
    campaign = get_campaign(campaign_id, org=org)
    _check_may_act(campaign, by)
    done = lifecycle.move(
        lifecycle.CANCEL,
        within=Message.objects.for_org(campaign.organisation_id).filter(campaign_id=campaign.id),
        due_at=None,
        cancelled_by=by,
    )
    if not done:
        raise actions.NotActionable(_("Nothing is left to cancel in this campaign."))
    audit.record(
        Action.CANCEL, campaign, actor=by, after={"count": len(done)}, label=campaign.body[:80]
    )
    return len(done)


@transaction.atomic
def retry_campaign(campaign_id: int, *, by: Any = None, org: Any = None) -> int:
    """Queue again the campaign's failed and unknown messages (the page warns first that an
    unknown one may have arrived). The rules are messaging.actions.retry_messages'."""
    campaign = get_campaign(campaign_id, org=org)
    _check_may_act(campaign, by)
    done = actions.retry_messages(
        Message.objects.for_org(campaign.organisation_id).filter(campaign_id=campaign.id),
        by=by,
        org=campaign.organisation_id,
        recorded=True,
    )
    if not done:
        raise actions.NotActionable(
            _("Nothing to send again: no message of this campaign failed or is unknown.")
        )
    audit.record(Action.RETRY, campaign, actor=by, after={"count": done}, label=campaign.body[:80])
    return done


def scheduled_campaigns(
    now: datetime | None = None, *, limit: int = 500, org: Any = None
) -> list[tuple[Campaign, Counts]]:
    """Programmés: the sends whose time is still ahead and that have messages waiting, the
    soonest first, with their counts. They have not started, so they may still be edited.
    Read from the small campaign table (`send_at` ahead) and the kept counts: no message is
    read."""
    now = now or timezone.now()
    upcoming = list(
        Campaign.objects.for_org(tenancy.resolve(org))
        .select_related("author")
        .filter(send_at__gt=now)
        .order_by("send_at", "id")[: limit * 4]
    )
    by_id = counts(c.id for c in upcoming)
    return [(c, by_id[c.id]) for c in upcoming if by_id[c.id]["waiting"]][:limit]


def replaced_by(campaign: Campaign) -> int | None:
    """The campaign that an edit put in this one's place (None: not edited)."""
    value = (campaign.targets or {}).get("replaced_by")
    return value if isinstance(value, int) else None


@transaction.atomic
def edit_scheduled(
    campaign_id: int,
    *,
    by: Any,
    body: str,
    targets: Targets,
    send_at: datetime | None,
    commercial: bool,
    tag: str,
    smart_encoding: bool = False,
    recipient_file: RecipientFile | None = None,
    org: Any = None,
) -> Campaign:
    """Change a scheduled send (text, time, recipients) that has not started.

    The new version is made by `sending.create_campaign`, so every rule of New SMS applies
    (bounds, STOP list, fields, allowed hours); the old version's messages, all still
    scheduled, are cancelled in the same transaction and it records which campaign replaced
    it (its messages can then not be put back in the queue). The campaign row is locked so
    that two edits at once make one new version; the worker cannot take a message whose time
    is ahead, and a message already taken makes the edit refused, nothing changed."""
    org = tenancy.resolve(org)
    try:
        campaign = Campaign.objects.for_org(org).select_for_update().get(id=campaign_id)
    except Campaign.DoesNotExist:
        raise errors.NotFound(_("No campaign with id %(id)s.") % {"id": campaign_id}) from None
    _check_may_act(campaign, by)
    if (newer := replaced_by(campaign)) is not None:
        raise actions.NotActionable(
            _("This send was already changed: edit its new version (campaign %(id)d).")
            % {"id": newer}
        )
    mine = Message.objects.for_org(org).filter(campaign_id=campaign.id)
    scheduled = mine.filter(status=S.SCHEDULED).count()
    started = mine.exclude(status__in=(S.SCHEDULED, S.BLOCKED, S.CANCELLED)).exists()
    if started or not scheduled or campaign.send_at <= timezone.now():
        raise actions.NotActionable(
            _(
                "This send has started (or was cancelled): it can no longer be changed. "
                "Cancel what has not gone out, then write a new SMS."
            )
        )
    new = sending.create_campaign(
        author=campaign.author,
        org=org,
        body=body,
        targets=targets,
        send_at=send_at,
        source=campaign.source,
        commercial=commercial,
        tag=tag,
        smart_encoding=smart_encoding,
        recipient_file=recipient_file,
    )
    cancelled = lifecycle.move(lifecycle.CANCEL, within=mine, due_at=None, cancelled_by=by)
    if len(cancelled) != scheduled:  # taken meanwhile: the whole edit is undone
        raise actions.NotActionable(_("This send has just started: it was not changed."))
    campaign.targets = {**(campaign.targets or {}), "replaced_by": new.id}
    campaign.save(update_fields=["targets"])
    new.targets = {**new.targets, "replaces": campaign.id}
    new.save(update_fields=["targets"])
    return new


@transaction.atomic
def requeue_campaign(campaign_id: int, *, by: Any = None, org: Any = None) -> int:
    """Put back in the queue the campaign's cancelled messages (actions.requeue_messages):
    at the campaign's time if it is still ahead, else now. Those that went out (sent,
    delivered) are not touched: nobody gets the SMS twice. Refused for a version an edit
    replaced (its new version holds the send)."""
    org = tenancy.resolve(org)
    campaign = get_campaign(campaign_id, org=org)
    _check_may_act(campaign, by)
    if (newer := replaced_by(campaign)) is not None:
        raise actions.NotActionable(
            _("This send was changed: its new version (campaign %(id)d) is the one to send.")
            % {"id": newer}
        )
    done = actions.requeue_messages(
        Message.objects.for_org(org).filter(campaign_id=campaign.id),
        send_at=campaign.send_at,
        commercial=campaign.commercial,
        by=by,
        org=org,
    )
    if not done:
        raise actions.NotActionable(
            _("Nothing to put back: no message of this campaign is cancelled.")
        )
    return done


def requeue_question(campaign_counts: Counts) -> tuple[str, str]:
    """The confirmation of a campaign's "put back in the queue": how many, and whether some
    of the same campaign already went out (they are not sent again)."""
    cancelled = campaign_counts["cancelled"]
    question = ngettext(
        "%(count)d cancelled message of this campaign will be put back in the queue and sent.",
        "%(count)d cancelled messages of this campaign will be put back in the queue and sent.",
        cancelled,
    ) % {"count": cancelled}
    gone = campaign_counts["delivered"] + campaign_counts["sent"] + campaign_counts["unknown"]
    if not gone:
        return question, _("None of this campaign has gone out yet.")
    return question, ngettext(
        "%(count)d message of the same campaign already went out (%(delivered)d delivered): "
        "those recipients are not texted again.",
        "%(count)d messages of the same campaign already went out (%(delivered)d delivered): "
        "those recipients are not texted again.",
        gone,
    ) % {"count": gone, "delivered": campaign_counts["delivered"]}


def retry_warning(campaign_counts: Counts) -> str:
    unknown = campaign_counts["unknown"]
    if not unknown:
        return ""
    return ngettext(
        "%(count)d message is unknown: the network may have delivered it. Sending it again "
        "may give that person the SMS twice.",
        "%(count)d messages are unknown: the network may have delivered them. Sending them "
        "again may give those people the SMS twice.",
        unknown,
    ) % {"count": unknown}


def _check_may_act(campaign: Campaign, by: Any) -> None:
    access.require_author_or_admin(
        by,
        campaign.author_id,
        _("Only its author or an administrator may change this campaign."),
    )


NotAllowed = access.NotAllowed
