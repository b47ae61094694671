"""Who a send goes to, resolved once: the one code path of the New SMS page's summary and
preview, `create_campaign` (so the API and the CLI too).

Typed numbers (each parsed once, by the one parser: `core.number_reasons.parse_typed`),
contacts, groups and an uploaded file's accepted lines become one list of distinct E.164
numbers in the order chosen, with the numbers on the STOP list and the typed numbers that
are not valid set apart. The page shows the counts of exactly what the send will do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from smsdesk.core import number_reasons, tenancy
from smsdesk.core import text as control
from smsdesk.directory import services as directory
from smsdesk.directory.imports import RecipientFile
from smsdesk.directory.services import Targets
from smsdesk.messaging import errors
from smsdesk.optout import services as optout
from smsdesk.sms import errors as sms_errors

SHOWN_INVALID = 10  # bad numbers named in the message; the API's detail lists them all


@dataclass
class Recipients:
    numbers: list[str] = field(default_factory=list)  # distinct E.164, STOP ones included
    blocked: set[str] = field(default_factory=set)  # of `numbers`, on the STOP list
    invalid: list[tuple[str, str]] = field(default_factory=list)  # typed: (as shown, why)
    chosen: int = 0  # numbers chosen, before removing duplicates
    targets: Targets = field(default_factory=Targets)  # typed (E.164), contacts, groups
    from_file: bool = False

    @property
    def duplicates(self) -> int:
        return max(0, self.chosen - len(self.invalid) - len(self.numbers))

    @property
    def sendable(self) -> int:
        return len(self.numbers) - len(self.blocked)

    def checked(self) -> Recipients:
        """These recipients when a send may go to them (the STOP ones included: they get a
        `blocked` message), else the error that says what to fix."""
        if self.invalid:
            raise _invalid_numbers(self.invalid)
        if not self.numbers:
            if self.from_file and not (self.targets.contacts or self.targets.groups):
                raise errors.NoRecipients(
                    _("The file has no valid number to send to: see its rejected lines."),
                    field="to",
                )
            if not (self.targets.numbers or self.targets.contacts or self.targets.groups):
                raise errors.NoRecipients(_("Give at least one number to send to."), field="to")
            raise errors.NoRecipients(
                _("The chosen contacts and groups have nobody to text."), field="to"
            )
        if len(self.numbers) > settings.SMSDESK_MAX_RECIPIENTS:
            raise too_many(len(self.numbers))
        return self


def resolve_recipients(
    to: Sequence[object] = (),
    targets: Targets | None = None,
    recipient_file: RecipientFile | None = None,
    *,
    org: Any = None,
) -> Recipients:
    """Typed numbers (`to` and `targets.numbers`), contacts, groups and a file's numbers as
    one deduplicated list; an unknown contact or group id is an error (UnknownTargets)."""
    org = tenancy.resolve(org)
    targets = targets or Targets()
    typed = [str(raw) for raw in (*to, *targets.numbers) if str(raw).strip()]
    # Refuse an oversized list before parsing it: the bound is on the work, not only the send.
    if len(typed) > settings.SMSDESK_MAX_RECIPIENTS:
        raise too_many(len(typed))
    found: dict[str, None] = {}
    invalid: list[tuple[str, str]] = []
    for raw in typed:
        try:
            found[number_reasons.parse_typed(raw)] = None
        except sms_errors.InvalidNumber as e:
            invalid.append((control.from_network(raw[:64], multiline=False), e.reason))
    valid_typed = list(found)
    chosen = len(typed)
    if targets.contacts or targets.groups:
        members, count = directory.members(targets.contacts, targets.groups, org=org)
        found.update((n, None) for n in members)
        chosen += count
    if recipient_file is not None:
        found.update((n, None) for n in recipient_file.numbers)
        chosen += len(recipient_file.numbers)
    numbers = list(found)
    return Recipients(
        numbers=numbers,
        blocked=optout.blocked_among(numbers, org=org),
        invalid=invalid,
        chosen=chosen,
        targets=Targets(numbers=valid_typed, contacts=targets.contacts, groups=targets.groups),
        from_file=recipient_file is not None,
    )


def too_many(count: int) -> errors.TooManyRecipients:
    return errors.TooManyRecipients(
        _("Too many recipients: %(count)d, the maximum is %(max)d per send.")
        % {"count": count, "max": settings.SMSDESK_MAX_RECIPIENTS},
        field="to",
    )


def _invalid_numbers(invalid: list[tuple[str, str]]) -> errors.InvalidNumbers:
    if len(invalid) > SHOWN_INVALID:
        listed = ", ".join(
            f"{control.quoted(raw)} ({number_reasons.explain(reason)})"
            for raw, reason in invalid[:SHOWN_INVALID]
        )
        message = _(
            "%(count)d numbers are not valid, among them: %(list)s. Correct them or remove them."
        ) % {"count": len(invalid), "list": listed}
    else:
        message = " ".join(
            number_reasons.invalid_number_message(raw, reason) for raw, reason in invalid
        )
        message += " " + ngettext(
            "Correct it or remove it.", "Correct them or remove them.", len(invalid)
        )
    translated = [(raw, number_reasons.explain(reason)) for raw, reason in invalid]
    return errors.InvalidNumbers(message, invalid=translated)
