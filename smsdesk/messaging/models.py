from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from smsdesk.core.tenancy import OrgOwned


class GatewayState(models.Model):
    """What is known of a configured gateway (SMSDESK_GATEWAYS): its last health report and,
    while it cannot be used, since when and why. Written only by
    `messaging.gateway_state` (the transport itself is `smsdesk.gateways.base.Gateway`)."""

    name = models.CharField(max_length=50, primary_key=True)
    kind = models.CharField(max_length=20)
    connected = models.BooleanField(default=False)
    detail = models.CharField(max_length=200, blank=True)
    operator = models.CharField(max_length=100, blank=True)
    signal_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    # Set while the worker cannot use it: the first failure of this outage, the last reason
    # (English, translated when shown), and whether the worker keeps trying on its own.
    down_since = models.DateTimeField(null=True, blank=True)
    down_reason = models.CharField(max_length=255, blank=True)
    retrying = models.BooleanField(default=True)
    # What the gateway says of its device (modem: imei, model, sim...), shown to admins.
    extra = models.JSONField(default=dict, blank=True)
    # Routing (messaging/routing.py): what an administrator changed on the Passerelles page
    # over SMSDESK_GATEWAYS' options ({"priority": 5, "failover": true, "limit_day": 500});
    # a key absent keeps the configuration's value.
    routing = models.JSONField(default=dict, blank=True, db_default={})
    # Paused: the line sends nothing. By an administrator (paused_by) or by the watch
    # (paused_by NULL, `pause_reason` the watch's verdict, `pause_detail` its figures).
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=20, blank=True, default="", db_default="")
    pause_detail = models.JSONField(default=dict, blank=True, db_default={})
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Last resumed: the watch judges only what was sent since (not the results that paused it).
    resumed_at = models.DateTimeField(null=True, blank=True)
    # The watch's figures over the line's last results, as its worker last wrote them:
    # {"results": 50, "failed": 4, "unknown": 0, "delay": 12} (percent, seconds).
    watch = models.JSONField(default=dict, blank=True, db_default={})

    def __str__(self) -> str:
        return self.name


class LineUsage(models.Model):
    """SMS parts a line handed over in one minute: the per-minute and per-hour volume limits
    read these rows (the day and month ones read the day counters, messaging/stats.py).
    Written by the worker that drives the line (one at a time: worker/leases.py) after each
    hand-over; rows older than two hours are deleted by the heartbeat."""

    line = models.CharField(max_length=50)
    minute = models.DateTimeField()  # the minute's start, UTC
    parts = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["line", "minute"], name="line_usage_key")]


class Campaign(OrgOwned):
    """One "New SMS" submission: the text, when to send it, and the targets as entered."""

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    body = models.TextField(_("text"))
    send_at = models.DateTimeField(_("send at"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    targets = models.JSONField(default=dict)  # what the user typed/selected, for the record
    recipient_count = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=10, default="web")  # web, api, cli
    # Commercial: carries the opt-out mention and goes out only in the allowed hours.
    commercial = models.BooleanField(_("commercial"), default=False)
    # A free label ("soldes-juin") to find campaigns again and count them; suggested from
    # earlier ones. Stored as typed, compared without case.
    tag = models.CharField(_("tag"), max_length=50, blank=True, db_index=True)
    # The web request that created it (X-Request-ID, core/logs.py): its log lines carry the
    # same id. NULL when none (CLI); nullable so that adding it rewrote no table.
    request_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    # The numbers its file of recipients refused (issue 20), when there were some.
    invalid_report = models.OneToOneField(
        "directory.InvalidNumberReport",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="campaign",
    )
    # When its last message reached a final state (lifecycle.settle_campaigns), once: a
    # message sent again later does not make it finish a second time.
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    @property
    def created_messages(self) -> models.QuerySet[Message]:
        """Its messages in recipients' order (ids grow with the insert), read when iterated."""
        return self.messages.order_by("id")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "created_at", "id"], name="campaign_recent"),
            models.Index(fields=["organisation", "id"], name="campaign_org_id"),  # the API's
            # the home page's next scheduled campaign: those due later, soonest first (a scan
            # of every campaign otherwise: one per reply typed in a discussion, issue 23)
            models.Index(fields=["organisation", "send_at", "id"], name="campaign_due"),
        ]


class Message(OrgOwned):
    """One SMS, outbound or inbound. Statuses are described in DESIGN.md ("Messages")."""

    class Direction(models.TextChoices):
        OUTBOUND = "out", _("Sent")
        INBOUND = "in", _("Received")

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        BLOCKED = "blocked", _("Blocked (STOP)")
        CANCELLED = "cancelled", _("Cancelled")
        UNKNOWN = "unknown", _("Unknown")
        UNREAD = "unread", _("Unread")
        READ = "read", _("Read")

    class Encoding(models.TextChoices):
        GSM7 = "gsm7", "GSM-7"
        UCS2 = "ucs2", "UCS-2"

    class Keyword(models.TextChoices):
        """An inbound message that was a STOP or START keyword (shown in its discussion)."""

        STOP = "stop", _("Opt-out (STOP)")
        START = "start", _("Re-subscribed (START)")

    direction = models.CharField(_("direction"), max_length=3, choices=Direction)
    status = models.CharField(_("status"), max_length=10, choices=Status)
    peer = models.CharField(_("number"), max_length=32)  # the correspondent, E.164
    gateway = models.ForeignKey(GatewayState, null=True, blank=True, on_delete=models.PROTECT)
    body = models.TextField(_("text"))
    encoding = models.CharField(max_length=4, choices=Encoding, default=Encoding.GSM7)
    segments = models.PositiveSmallIntegerField(default=1)
    # A flash SMS (class 0): shown at once on the phone, not stored (sending.check_flash).
    flash = models.BooleanField(default=False, db_default=False)
    campaign = models.ForeignKey(  # indexed by msg_campaign
        Campaign,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
        db_index=False,
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("created"))
    # Outbound: when it may go out (the scheduled time, then the next retry).
    due_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_by = models.CharField(max_length=40, blank=True)  # worker id while `sending`
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    status_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    # Outbound: the first part's reference (see MessagePart). Inbound: the gateway's identity
    # of the delivery (InboundSMS.delivery_id), so that one emitted again is stored once.
    gateway_ref = models.CharField(max_length=64, blank=True)
    error = models.CharField(_("reason"), max_length=255, blank=True)
    keyword = models.CharField(_("keyword"), max_length=5, choices=Keyword, blank=True)
    # The confirmation of a STOP: it goes to a number that is on the STOP list by then, so
    # the STOP rule (messaging/stop.py, `what_a_stop_blocks`) lets exactly these through.
    opt_out_notice = models.BooleanField(default=False)
    # Who stopped it, or asked for it to be sent again (shown beside the status).
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("cancelled by"),
    )
    retried_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("sent again by"),
    )

    # the API client's own references (core/metadata.py), NULL when none: a nullable column,
    # so that adding it rewrote no table
    metadata = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # No index names `status`, `gateway_ref`, `sent_at` or the other columns the worker
        # changes: PostgreSQL can then rewrite a row in place on each status change (a HOT
        # update, no index touched). The claim finds due messages in OutboxEntry, reports
        # find their message through MessagePart (bench/RESULTS.md).
        # Each list's sort ends with the id, so a keyset page reads one page of its index
        # (core/lists.py): msg_list for Envoyés/Reçus by date, msg_peer by number and for a
        # discussion, msg_campaign for a campaign's recipients (it also finds them by campaign).
        indexes = [
            models.Index(fields=["organisation", "direction", "created_at", "id"], name="msg_list"),
            models.Index(fields=["organisation", "peer", "created_at", "id"], name="msg_peer"),
            # the API's pages by id
            models.Index(fields=["organisation", "id"], name="msg_org_id"),
            # the API's list without a direction, by date as the pages (api/paging.py)
            models.Index(fields=["organisation", "created_at", "id"], name="msg_org_recent"),
            models.Index(fields=["campaign", "peer", "id"], name="msg_campaign"),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.peer} {self.status}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def can_cancel(self) -> bool:
        from smsdesk.messaging.lifecycle import CANCEL

        return self.direction == self.Direction.OUTBOUND and self.status in CANCEL.sources

    @property
    def can_retry(self) -> bool:
        from smsdesk.messaging.lifecycle import RETRY

        return self.direction == self.Direction.OUTBOUND and self.status in RETRY.sources

    @property
    def can_requeue(self) -> bool:
        from smsdesk.messaging.lifecycle import REQUEUE

        return self.direction == self.Direction.OUTBOUND and self.status in REQUEUE.sources


FINAL_STATUSES = frozenset(
    {
        Message.Status.DELIVERED,
        Message.Status.FAILED,
        Message.Status.BLOCKED,
        Message.Status.CANCELLED,
    }
)


# Bootstrap colour of each status badge.
STATUS_COLOURS: dict[str, str] = {
    Message.Status.SCHEDULED: "info",
    Message.Status.QUEUED: "secondary",
    Message.Status.SENDING: "secondary",
    Message.Status.SENT: "primary",
    Message.Status.DELIVERED: "success",
    Message.Status.FAILED: "danger",
    Message.Status.BLOCKED: "dark",
    Message.Status.CANCELLED: "light",
    Message.Status.UNKNOWN: "warning",
    Message.Status.UNREAD: "primary",
    Message.Status.READ: "light",
}


class OutboxEntry(models.Model):
    """A message waiting to be claimed: the narrow queue the worker's claim takes from.

    One row per `queued` or `scheduled` outbound message (`lifecycle.CLAIMABLE`), written and
    deleted by the transitions that make it claimable or not (messaging/lifecycle.py, their
    `Queue` effect; the claim deletes what it takes). tests/conftest.py fails any test that
    leaves a claimable message without its row.
    """

    message_id = models.BigIntegerField(primary_key=True)
    gateway_id = models.CharField(max_length=50)
    due_at = models.DateTimeField()
    # The message's created_at: on PostgreSQL the claim's update of the messages it takes
    # then reads only the months they are in (messaging/partitions.py), not every month's
    # primary key. NULL in a row written before (the claim then reads every month).
    created_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # All the claim's ORDER BY: read in order, stop after the batch (no sort of them all).
        indexes = [models.Index(fields=["gateway_id", "due_at", "message_id"], name="outbox_due")]


class UnreadEntry(OrgOwned):
    """An unread inbound message: what the Unread list reads, newest first.

    One row per message whose status is `unread`, written with it (`_store_inbound`), deleted
    when it is read (`mark_read`). The message table has no index on status (the worker's
    status updates stay in place on PostgreSQL), so without this the list would scan every
    received message to find the few unread ones.
    """

    # No database constraint (the message table is partitioned: messaging/partitions.py).
    message = models.OneToOneField(
        Message,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="unread_entry",
        db_constraint=False,
    )
    created_at = models.DateTimeField()  # the message's, for reading in the list's order

    class Meta:
        indexes = [
            models.Index(fields=["organisation", "-created_at", "-message"], name="unread_recent")
        ]


class MessagePart(models.Model):
    """One part of an outbound message as the network knows it: a message of N segments is
    handed over as N parts, each with its own reference and delivery report."""

    class State(models.TextChoices):
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    # No database constraint: the worker writes parts only for the messages it sends, and a
    # foreign-key check per part costs a trigger per row at commit (bench/RESULTS.md).
    message = models.ForeignKey(
        Message,
        on_delete=models.CASCADE,
        related_name="parts",
        db_constraint=False,
        db_index=False,  # the unique (message, seq) serves
    )
    seq = models.PositiveSmallIntegerField()  # 1-based
    total = models.PositiveSmallIntegerField(default=1)  # the message's number of parts
    gateway_id = models.CharField(max_length=50)
    reference = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=State, default=State.SENT)
    detail = models.CharField(max_length=255, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "seq"], name="part_seq")]
        # a report finds its part by (gateway, reference); `state` is not indexed (HOT)
        indexes = [models.Index(fields=["gateway_id", "reference"], name="part_ref")]


class UnmatchedReport(models.Model):
    """A delivery report that came before its part was recorded as sent (SMPP may answer
    faster than we store the result): kept here, not in memory, and matched later."""

    gateway_id = models.CharField(max_length=50)
    reference = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=MessagePart.State)
    detail = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["gateway_id", "reference"], name="unmatched_ref")]


class Conversation(OrgOwned):
    """One per correspondent: what the discussion list shows, kept up to date on each message
    so that the list stays fast with millions of messages."""

    peer = models.CharField(_("number"), max_length=32)
    last_at = models.DateTimeField()
    last_body = models.CharField(max_length=160)
    last_direction = models.CharField(max_length=3, choices=Message.Direction)
    unread_count = models.PositiveIntegerField(default=0)
    # The line the correspondent last wrote to: replies leave by it (messaging/routing.py).
    line = models.CharField(max_length=50, blank=True, default="", db_default="")
    # Labels put on the discussion (an auto-reply's "tag the conversation"), each between
    # spaces (" rdv promo "): a tag is found by one `icontains(" tag ")`, in the list's
    # search too. Written only by `autoreplies.add_conversation_tag`.
    tags = models.CharField(_("tags"), max_length=500, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-last_at", "-id"]
        indexes = [models.Index(fields=["organisation", "last_at", "id"], name="conv_recent")]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "peer"], name="conversation_peer")
        ]


class InboundPart(models.Model):
    """One part of a long SMS received (TS 23.040 concatenation), kept until all its parts
    are in, across restarts; then they become one `Message`. The rows stay, `complete`,
    for SMSDESK_CONCAT_WAIT more seconds: a part delivered again meanwhile (a modem restarted
    before deleting it from its SIM) is recognised and not stored a second time."""

    gateway = models.CharField(max_length=50)
    sender = models.CharField(max_length=32)  # as `Message.peer`
    ref = models.PositiveIntegerField()  # the sender's concatenation reference
    total = models.PositiveSmallIntegerField()
    seq = models.PositiveSmallIntegerField()  # 1-based
    text = models.TextField()
    received_at = models.DateTimeField()
    stored_at = models.DateTimeField()
    complete = models.BooleanField(default=False)  # its message is stored
    # The address it was sent to (a line shared by several organisations: whose it is)
    destination = models.CharField(max_length=32, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "sender", "ref", "total", "seq"], name="inbound_part_once"
            )
        ]
        indexes = [models.Index(fields=["stored_at"], name="inbound_part_age")]


# Where a part never came, in a long SMS stored incomplete: "[… 2/3 …]" (no words: the
# body is stored as received, in no language).
MISSING_PART_MARK = "[… {seq}/{total} …]"

# Why a message to a number on the STOP list is `blocked` (translated when shown).
BLOCKED_REASON = gettext_noop("This number sent STOP: it is never texted again.")

# Reasons the gateways give (in English, stored as given): listed here so that they are in
# the translation catalogue and shown in the user's language ({% translate message.error %}).
GATEWAY_REASONS = (
    gettext_noop("number unknown to the network"),
    gettext_noop("network busy, try later"),
    gettext_noop("handset unreachable"),
    gettext_noop("simulated network"),  # the simulator's health detail, on the home page
    gettext_noop("simulated network unreachable"),  # during `smsdesk simulate outage`
)


class DailyCount(OrgOwned):
    """How many messages (and SMS parts) reached an event on a local day (SMSDESK_TIME_ZONE),
    per gateway, tag and user: the home and Statistics pages' figures, read without scanning
    messages (messaging/stats.py).

    `tag` is the campaign's tag as typed ("" for none; a campaign's tag never changes), not
    its id: one-recipient campaigns (the replies typed in discussions) would make a row each.
    `user_id` is a plain number, 0 for none (not a foreign key: a deleted user keeps its
    history, and no check per row costs the worker's batches).

    Written only by `stats.fold`, which adds the `CountDelta` rows into it."""

    day = models.DateField()
    gateway = models.CharField(max_length=50, blank=True)  # "" for `blocked` (not per gateway)
    tag = models.CharField(max_length=50, blank=True, default="", db_default="")
    user_id = models.BigIntegerField(default=0, db_default=0)  # the message's author
    event = models.CharField(max_length=10)  # stats.Event
    count = models.BigIntegerField(default=0)
    parts = models.BigIntegerField(default=0, db_default=0)  # SMS parts (segments)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "day", "gateway", "tag", "user_id", "event"],
                name="daily_count_key3",
            )
        ]


class CountDelta(OrgOwned):
    """A change of a `DailyCount` not folded in yet: appended (never updated) in the
    transaction that changed the messages, so concurrent writers never wait on one row."""

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    gateway = models.CharField(max_length=50, blank=True)
    tag = models.CharField(max_length=50, blank=True, default="", db_default="")
    user_id = models.BigIntegerField(default=0, db_default=0)
    event = models.CharField(max_length=10)
    count = models.IntegerField()
    parts = models.IntegerField(default=0, db_default=0)

    class Meta:
        indexes = [models.Index(fields=["organisation", "day"], name="count_delta_org")]


class CampaignCount(models.Model):
    """How many of a campaign's messages are in each state of its page (`lifecycle.BUCKET_OF`:
    waiting, sent, delivered, failed, blocked, unknown, cancelled), so that the campaign list
    and a campaign's page never group over its messages.

    Written only by `lifecycle.fold_campaign_counts`, which adds the `CampaignCountDelta`
    rows into it; `lifecycle.campaign_counts` reads both."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    bucket = models.CharField(max_length=10)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "bucket"], name="campaign_count_key")
        ]


class CampaignCountDelta(models.Model):
    """A change of a `CampaignCount` not folded in yet: appended in the transaction of the
    status change (never updated, so two workers sending one campaign never wait on one row).
    No foreign key: a check per row at commit would cost the worker's batches; a deleted
    campaign's rows are dropped by the next fold."""

    id = models.BigAutoField(primary_key=True)
    campaign_id = models.BigIntegerField()
    bucket = models.CharField(max_length=10)
    count = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["campaign_id"], name="campaign_delta_campaign")]


class Recurrence(OrgOwned):
    """A recurring send (issue 20): a New SMS that fires every day, week or month at a local
    time (`sms/recurrence.py`), each occurrence a Campaign created through
    `sending.create_campaign` with the recipients as they are that day
    (`messaging/recurring.py`)."""

    class Every(models.TextChoices):
        DAY = "day", _("every day")
        WEEK = "week", _("every week")
        MONTH = "month", _("every month")

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    body = models.TextField()
    targets = models.JSONField(default=dict)  # Targets.as_record(): numbers, contacts, groups
    commercial = models.BooleanField(default=False)
    tag = models.CharField(max_length=50, blank=True, default="")
    source = models.CharField(max_length=10, default="web")
    every = models.CharField(max_length=5, choices=Every.choices)
    weekdays = models.JSONField(default=list, blank=True)  # 0 = Monday
    month_day = models.PositiveSmallIntegerField(null=True, blank=True)
    last_weekday = models.PositiveSmallIntegerField(null=True, blank=True)
    at = models.TimeField()
    time_zone = models.CharField(max_length=64)
    until = models.DateField(null=True, blank=True)
    times = models.PositiveIntegerField(null=True, blank=True)
    done = models.PositiveIntegerField(default=0)  # occurrences passed (sent or skipped)
    # The next occurrence (UTC); NULL once the rule is over. Moved forward by one
    # conditional UPDATE (from the value read to the next), which is the claim.
    next_at = models.DateTimeField(null=True, blank=True)
    paused = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["next_at", "id"]
        indexes = [
            # the worker's: what is due, in every organisation
            models.Index(fields=["next_at"], name="recurrence_due"),
            # an organisation's list of recurring sends
            models.Index(fields=["organisation", "next_at", "id"], name="recurrence_org"),
        ]


class Occurrence(models.Model):
    """One occurrence of a recurring send, claimed once: (recurrence, occurs_at) is unique,
    so two workers can never both send it. `campaign` is what was sent; `skipped` why not
    (missed for longer than the tolerance, or the send refused)."""

    recurrence = models.ForeignKey(Recurrence, on_delete=models.CASCADE, related_name="runs")
    occurs_at = models.DateTimeField()
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL)
    skipped = models.CharField(max_length=300, blank=True, default="")
    ran_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurs_at"]
        constraints = [
            models.UniqueConstraint(fields=["recurrence", "occurs_at"], name="occurrence_once")
        ]


class AutoReply(OrgOwned):
    """A keyword auto-reply rule (issue 20): an inbound SMS matching `keyword` gets `text`
    back (`messaging/autoreplies.py`), at most once per correspondent per `delay_minutes`."""

    class Match(models.TextChoices):
        WHOLE = "whole", _("the whole message")
        WORD = "word", _("the first word")
        CONTAINS = "contains", _("anywhere in the message")

    keyword = models.CharField(max_length=60)
    normalised = models.CharField(max_length=60)  # as compared: sms.keywords.normalise
    match = models.CharField(max_length=8, choices=Match.choices, default=Match.WHOLE)
    text = models.TextField()
    gateway = models.CharField(max_length=64, blank=True, default="")  # "" = every line
    group = models.ForeignKey(
        "directory.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    delay_minutes = models.PositiveIntegerField(default=60)
    # A tag put on the sender's discussion when the rule answers ("" = none).
    tag = models.CharField(max_length=50, blank=True, default="", db_default="")
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["organisation", "position", "id"], name="autoreply_org")]


class AutoReplyHit(models.Model):
    """When a rule last answered a correspondent: the claim of an answer is one conditional
    UPDATE of this row (or its INSERT), so two SMS arriving together get one answer."""

    rule = models.ForeignKey(AutoReply, on_delete=models.CASCADE, related_name="+")
    peer = models.CharField(max_length=32)
    last_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "peer"], name="autoreply_hit_once")]


class QuotaUse(OrgOwned):
    """How many SMS parts an organisation's sends took in a period of its quotas ("d2026-12-07"
    for a local day, "m2026-12" for a month; "u42d2026-12-07", "u42m2026-12" for user 42's
    own sends): added to by `quotas.take` in the transaction that saves a send, read against
    `Organisation.quota_day` / `quota_month` and `User.quota_day` / `quota_month`."""

    period = models.CharField(max_length=32)
    parts = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "period"], name="quota_use_once")
        ]
