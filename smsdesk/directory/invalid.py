"""The invalid numbers of a send or a contact import (issue 20).

A send with a file of recipients and a contact import go on with the valid lines and skip
the others (the preview listed them). What was skipped for its number is kept here, one
`InvalidNumberReport` per send or import, one `InvalidNumber` per refused line: the number as
given, why (a `core.number_reasons` key, shown in the reader's language) and its line. A
send whose typed numbers are not all valid is still refused whole (messaging.recipients):
nothing is sent, so there is nothing to report.

From a report: its page and CSV (core/spreadsheet.py: formula-safe), and the cleanup, which
deletes the organisation's contacts whose stored number is one of the refused numbers
written as a stored number would be (`sms.numbers.compact`): contacts saved by an older
version or another tool with a number smsdesk no longer accepts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from smsdesk.accounts import access
from smsdesk.core import bounds, number_reasons, spreadsheet, tenancy
from smsdesk.core import text as control
from smsdesk.core.bulk import insert_rows
from smsdesk.directory import errors, services
from smsdesk.directory.models import Contact, InvalidNumber, InvalidNumberReport
from smsdesk.sms import numbers

if TYPE_CHECKING:  # directory.imports calls `record`
    from smsdesk.directory.imports import Rejected

Kind = InvalidNumberReport.Kind
MAX_LABEL = 200


def record(
    rejected: Iterable[Rejected], *, kind: str, label: str = "", by: Any = None, org: Any = None
) -> InvalidNumberReport | None:
    """Keep the lines of `rejected` that were refused for their number; None when there is
    none. Called in the transaction that saves the send or the import."""
    org = tenancy.resolve(org)
    refused = [r for r in rejected if r.code]
    if not refused:
        return None
    report = InvalidNumberReport.objects.create(
        organisation=org,
        kind=kind,
        label=control.from_network(str(label), multiline=False)[:MAX_LABEL],
        created_by=by if getattr(by, "pk", None) else None,
        count=len(refused),
    )
    region = services.region()
    rows = []
    for r in refused:
        shown = control.from_network(r.number, multiline=False)[: numbers.MAX_INPUT]
        rows.append(
            (
                str(r.line),
                shown,
                numbers.compact(shown, default_region=region),
                r.code[:40],
            )
        )
    insert_rows(
        InvalidNumber,
        InvalidNumber(organisation=org, report=report),
        ["line", "number", "compact", "reason"],
        rows,
    )
    return report


def get_report(report_id: object, *, org: Any = None) -> InvalidNumberReport:
    """A report of `org`; another organisation's answers exactly as a missing one."""
    found = bounds.parse_id(report_id)
    report = (
        InvalidNumberReport.objects.for_org(tenancy.resolve(org))
        .select_related("campaign")
        .filter(id=found)
        .first()
        if found is not None
        else None
    )
    if report is None:
        raise errors.NotFound(_("No list of invalid numbers with id %(id)s.") % {"id": report_id})
    return report


def numbers_of(report: InvalidNumberReport) -> QuerySet[InvalidNumber]:
    """The report's numbers (order them: the list pages by id, the file by line)."""
    return InvalidNumber.objects.for_org(report.organisation_id).filter(report=report)


def reason_text(row: InvalidNumber) -> str:
    return number_reasons.explain(row.reason)


def csv_chunks(report: InvalidNumberReport) -> Iterator[str]:
    """The report as a CSV file for a spreadsheet, streamed, every cell formula-safe (a
    refused "number" such as `=HYPERLINK(…)` is shown as text)."""
    rows = (
        (row.line or "", row.number, reason_text(row))
        for row in numbers_of(report).order_by("id").iterator(chunk_size=2000)
    )
    return spreadsheet.chunks([_("Line"), _("Number"), _("Why")], rows)


def _compacts(report: InvalidNumberReport) -> list[str]:
    return list(numbers_of(report).exclude(compact="").values_list("compact", flat=True).distinct())


def contacts_to_remove(report: InvalidNumberReport) -> list[int]:
    """The ids of the contacts of the report's organisation whose stored number is one of
    its numbers."""
    mine = Contact.objects.for_org(report.organisation_id)
    found: list[int] = []
    for chunk in _chunks(_compacts(report)):
        found.extend(mine.filter(number__in=chunk).values_list("id", flat=True))
    return sorted(set(found))


@transaction.atomic
def remove_contacts(
    report_id: object, *, by: Any, expected: int | None = None, org: Any = None
) -> int:
    """Delete the contacts `contacts_to_remove` names; `expected` is the count the person
    confirmed: when the directory changed since (more or fewer contacts), nothing is
    deleted and ContactsChanged says so."""
    access.require_writer(by, _("A read-only account cannot delete contacts."))
    report = get_report(report_id, org=org)
    ids = contacts_to_remove(report)
    if expected is not None and expected != len(ids):
        raise errors.ContactsChanged(
            _(
                "The contacts changed since the confirmation: %(count)d now hold these numbers. "
                "Check again."
            )
            % {"count": len(ids)}
        )
    return services.delete_contacts(ids, org=report.organisation_id)


def _chunks(values: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]
