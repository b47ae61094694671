"""Exporting contacts as CSV (for spreadsheets, and to import again) or JSON (for programs).

CSV choices, so that a double-click opens it right in Excel and LibreOffice:
- UTF-8 with a BOM: without it Excel reads UTF-8 as Windows-1252 and breaks accents;
- `;` between columns: French Excel (the default language here) splits on `;` because `,` is
  its decimal separator; LibreOffice detects either; our import reads both;
- CRLF line ends, every text cell quoted when needed (csv module, QUOTE_MINIMAL);
- numbers of the default region in national format (`06 12 34 56 78`): the spaces keep
  spreadsheets from turning them into 612345678; others international (`+44 …`);
- a cell starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'` (OWASP "CSV
  injection", `core.spreadsheet.safe_cell`): a spreadsheet shows it as text instead of
  running it as a formula. The import
  removes that `'` again, so export → import changes nothing, and `'+44 7911 123456` reads
  back as +447911123456.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from smsdesk.audit import services as audit
from smsdesk.audit.models import Action
from smsdesk.core import tenancy
from smsdesk.core.spreadsheet import safe_cell
from smsdesk.directory import services
from smsdesk.directory.imports import GROUP_SEPARATOR
from smsdesk.directory.models import Contact, ContactField, Group

CSV_DELIMITER = ";"
BATCH = 5000


def _rows(contacts: QuerySet[Contact]) -> Iterator[tuple[int, str, str, str, dict, list[str]]]:
    """(id, name, number, first name, fields, group names) in name order: two queries,
    read in batches, whatever the size."""
    through = Group.contacts.through
    groups: dict[int, list[str]] = {}
    memberships = (
        through.objects.filter(contact_id__in=contacts.values("id"))
        .order_by("group__name", "contact_id")
        .values_list("contact_id", "group__name")
    )
    for cid, gname in memberships.iterator(chunk_size=BATCH):
        groups.setdefault(cid, []).append(gname)
    rows = contacts.order_by("name", "id").values_list(
        "id", "name", "number", "first_name", "fields"
    )
    for cid, name, number, first_name, fields in rows.iterator(chunk_size=BATCH):
        yield cid, name, number, first_name, fields or {}, groups.get(cid, [])


def csv_chunks(contacts: QuerySet[Contact], *, org: Any = None) -> Iterator[str]:
    """The CSV file, in pieces (for a streaming response or a file)."""
    audit.record(Action.EXPORT, ("contacts", "csv"), label="contacts")
    return _csv_chunks(contacts, org=org)


def _csv_chunks(contacts: QuerySet[Contact], *, org: Any) -> Iterator[str]:
    custom = list(ContactField.objects.for_org(tenancy.resolve(org)))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(
        [_("Name"), _("Number"), _("First name"), _("Groups"), *(f.label for f in custom)]
    )
    for i, (_id, name, number, first_name, fields, groups) in enumerate(_rows(contacts)):
        writer.writerow(
            [
                safe_cell(name),
                safe_cell(services.display(number)),
                safe_cell(first_name),
                safe_cell(f" {GROUP_SEPARATOR} ".join(groups)),
                *(safe_cell(fields.get(f.key, "")) for f in custom),
            ]
        )
        if i % 1000 == 999:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_chunks(contacts: QuerySet[Contact]) -> Iterator[str]:
    """A JSON array of {name, first_name, number (E.164), groups, fields}."""
    audit.record(Action.EXPORT, ("contacts", "json"), label="contacts")
    return _json_chunks(contacts)


def _json_chunks(contacts: QuerySet[Contact]) -> Iterator[str]:
    yield "["
    for i, (cid, name, number, first_name, fields, groups) in enumerate(_rows(contacts)):
        item = {
            "id": cid,
            "name": name,
            "first_name": first_name,
            "number": number,
            "groups": groups,
            "fields": fields,
        }
        yield ("," if i else "") + "\n" + json.dumps(item, ensure_ascii=False)
    yield "\n]\n"
