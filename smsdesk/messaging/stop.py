"""The STOP rule, in one place: what a number's joining the STOP list blocks.

A number joins the list by SMS (`inbound.receive_inbound`), by hand, by API or command line
(`optout.services.add_number`): `optout.services.opt_out` calls `apply_stop` (registered in
`MessagingConfig.ready`, so optout imports nothing of messaging) in its own transaction.
What is still waiting for the number is then `blocked`, never sent. The worker checks the
list once more for each batch it claimed, immediately before the hand-over
(`block_at_handover`), for a STOP stored while the batch was being claimed.

The one exemption: the confirmation of a STOP (`Message.opt_out_notice`) goes to a number
that is on the list by then; `what_a_stop_blocks` is the only place that says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from smsdesk.core import tenancy
from smsdesk.messaging import lifecycle
from smsdesk.messaging.models import BLOCKED_REASON, Message
from smsdesk.optout import services as optout
from smsdesk.optout.models import OptOut


def what_a_stop_blocks(numbers: Iterable[str], *, org: Any) -> QuerySet[Message]:
    """The messages of organisation `org` a STOP from these numbers may block (those still
    before the network: the transitions' sources say which states): outbound, except a
    STOP's confirmation. A STOP is given to one organisation: another's are not touched."""
    return Message.objects.for_org(org).filter(
        direction=Message.Direction.OUTBOUND, peer__in=list(numbers), opt_out_notice=False
    )


def apply_stop(number: str, *, at: datetime, org: Any = None) -> int:
    """`number` joined `org`'s STOP list: what was still waiting for it in `org` is blocked
    (in the transaction that put it on the list). Returns how many."""
    org = tenancy.resolve(org)
    return len(
        lifecycle.move(
            lifecycle.BLOCK,
            within=what_a_stop_blocks([number], org=org),
            now=at,
            error=BLOCKED_REASON,
        )
    )


def block_among(
    message_ids: Sequence[int], peers: Iterable[str], *, at: datetime, org: Any = None
) -> int:
    """Messages of `org` just queued again (a retry) to numbers that said STOP since: blocked."""
    org = tenancy.resolve(org)
    stopped = optout.blocked_among(set(peers), org=org)
    if not stopped:
        return 0
    within = what_a_stop_blocks(stopped, org=org).filter(id__in=list(message_ids))
    return len(lifecycle.move(lifecycle.BLOCK, within=within, now=at, error=BLOCKED_REASON))


def block_at_handover(claimed: Sequence[lifecycle.Claimed], *, at: datetime) -> set[int]:
    """The last check before the network: the messages of a claimed batch whose number is
    on their own organisation's STOP list now are `blocked`; returns their ids (not to be
    handed over)."""
    if not optout.blocked_anywhere({c.peer for c in claimed}):
        return set()  # the usual case: one cheap look, no write
    # the worker: a line's batch, matched against each message's own organisation's list
    within = Message.objects.across_orgs().filter(
        Exists(
            OptOut.objects.across_orgs().filter(
                organisation=OuterRef("organisation"), number=OuterRef("peer")
            )
        ),
        id__in=[c.sms.id for c in claimed],
        direction=Message.Direction.OUTBOUND,
        opt_out_notice=False,
    )
    return set(
        lifecycle.move(
            lifecycle.BLOCK_AT_HANDOVER,
            within=within,
            now=at,
            error=BLOCKED_REASON,
            claimed_by="",
        )
    )


def _on_opt_out(org: Any, number: str, at: datetime) -> None:
    apply_stop(number, at=at, org=org)  # looked up at each call: a test may replace it


def register() -> None:
    """Make every opt-out block what waits (MessagingConfig.ready)."""
    if _on_opt_out not in optout.on_opt_out:
        optout.on_opt_out.append(_on_opt_out)
