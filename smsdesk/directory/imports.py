"""Importing contacts from the CSV files people really have.

The manual's format is `NOM ,+336…` with no header; real files add a header or not, use `,`
`;` or tab, quote fields, come in UTF-8 (with or without BOM) or Windows-1252 from Excel,
with CRLF, numbers written `06 12 34 56 78`, `06.12…`, `0033…`, and extra columns (first
name, groups, custom fields). `plan()` reads a file and says, without writing anything,
which rows would create, update or leave a contact unchanged, which repeat an earlier line,
and which are rejected (with the line number and why). `apply()` plans again inside one
transaction and writes everything or nothing.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from smsdesk.audit import services as audit
from smsdesk.audit.models import Action
from smsdesk.core import tenancy
from smsdesk.core.bulk import insert_rows
from smsdesk.core.spreadsheet import FORMULA_START
from smsdesk.core.text import quoted
from smsdesk.directory import errors, invalid, services
from smsdesk.directory.models import Contact, ContactField, Group, search_name_of
from smsdesk.sms import errors as sms_errors
from smsdesk.sms import numbers

MAX_LINE = 2000  # characters; a longer line is rejected, not parsed
MAX_COLUMNS = 50
DELIMITERS = ";,\t"
GROUP_SEPARATOR = "|"  # several groups in one cell: "Clients | VIP"

# Header words (lower case, no accents, no spaces) → what the column holds.
HEADERS = {
    "name": {"nom", "name", "nomcontact", "contact", "nomducontact", "contactname", "nomcomplet"},
    "number": {
        "numero",
        "number",
        "telephone",
        "tel",
        "phone",
        "mobile",
        "portable",
        "gsm",
        "phonenumber",
        "numerodetelephone",
        "mobilephone",
        "cellulaire",
    },
    "first_name": {"prenom", "firstname", "givenname"},
    "groups": {"groupe", "groupes", "group", "groups"},
}


def _header_key(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", text.lower())


@dataclass
class Row:
    line: int
    name: str
    number: str  # E.164
    first_name: str = ""
    groups: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class Rejected:
    line: int
    reason: str
    text: str  # the start of the line, to find it
    # When the line was refused for its number: the number as given and why (a key of
    # core.number_reasons.NUMBER_REASONS), what the invalid numbers report keeps.
    number: str = ""
    code: str = ""


@dataclass
class _BadNumber:
    """A line refused for its number (`_read_row`, `_json_row`)."""

    raw: str
    code: str
    message: str

    @classmethod
    def of(cls, raw: str, error: sms_errors.InvalidNumber) -> _BadNumber:
        return cls(raw, error.reason, services.invalid_number_message(raw, error))

    def rejected(self, line: int, text: str) -> Rejected:
        return Rejected(line, self.message, text, number=self.raw, code=self.code)


@dataclass
class Duplicate:
    line: int
    first_line: int
    number: str


@dataclass
class Plan:
    create: list[Row] = field(default_factory=list)
    update: list[tuple[Row, Contact]] = field(default_factory=list)
    unchanged: list[Row] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    encoding: str = "utf-8"
    delimiter: str = ","
    header: bool = False
    columns: list[str] = field(default_factory=list)  # what each column was read as
    ignored_columns: list[str] = field(default_factory=list)
    group: str = ""
    invalid_report: Any = None  # the numbers refused, kept by `apply` (InvalidNumberReport)

    @property
    def importable(self) -> int:
        return len(self.create) + len(self.update)

    @property
    def skipped(self) -> int:
        return len(self.unchanged) + len(self.duplicates)

    def counts(self) -> dict[str, int]:
        return {
            "create": len(self.create),
            "update": len(self.update),
            "skip": self.skipped,
            "reject": len(self.rejected),
        }


def max_bytes() -> int:
    return settings.SMSDESK_IMPORT_MAX_BYTES


def decode(data: bytes) -> tuple[str, str]:
    """The text of an uploaded file and its encoding; refuses empty, binary, too big."""
    if len(data) > max_bytes():
        raise too_big(len(data))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" (UTF-16)
        try:
            text, encoding = data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise _binary() from None
    elif data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise errors.ImportRefused(
            _(
                "This is a spreadsheet workbook (.xlsx or .xls), not a CSV file. In Excel or "
                "LibreOffice, use “Save as” and choose CSV, then import that file."
            )
        )
    elif b"\x00" in data:
        raise _binary()
    else:
        try:
            text, encoding = data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            # Not UTF-8: Excel on Windows saves "CSV" in Windows-1252.
            text, encoding = data.decode("cp1252", errors="replace"), "windows-1252"
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise errors.ImportRefused(_("The file is empty: there is no contact to import."))
    controls = sum(1 for c in text[:4096] if ord(c) < 32 and c not in "\r\n\t")
    if controls > 8:
        raise _binary()
    return text, encoding


def too_big(size: int) -> errors.ImportRefused:
    return errors.ImportRefused(
        _("The file is too big: %(size)s, the limit is %(max)s. Split it in several files.")
        % {"size": _megabytes(size), "max": _megabytes(max_bytes())}
    )


def _binary() -> errors.ImportRefused:
    return errors.ImportRefused(
        _(
            "This file is not a text CSV file (it looks like a binary file: an image, a PDF, a "
            "workbook…). Export your contacts as CSV and import that file."
        )
    )


def max_size_shown() -> str:
    """The size limit of an uploaded file as people read it ("19,1 Mo")."""
    return _megabytes(max_bytes())


def _megabytes(size: int) -> str:
    return filesizeformat(size)  # "19,1 Mo" in French


def _lines(text: str, plan: Plan) -> list[str]:
    """Physical lines, each too long one rejected here (kept empty: line numbers stay right)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for i, line in enumerate(lines):
        if len(line) > MAX_LINE:
            plan.rejected.append(
                Rejected(
                    i + 1,
                    _("the line is too long (%(count)d characters, at most %(max)d)")
                    % {"count": len(line), "max": MAX_LINE},
                    line[:60],
                )
            )
            lines[i] = ""
    return lines


def sniff_delimiter(lines: list[str]) -> str:
    """`;`, `,` or tab: csv.Sniffer on the first lines, checked, else the one that appears
    on most of them (a file of names and numbers with one column has none: `,`)."""
    sample_lines = [line for line in lines if line.strip()][:50]
    sample = "\n".join(sample_lines)
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = ""
    if delimiter and sum(delimiter in line for line in sample_lines) >= 0.8 * len(sample_lines):
        return delimiter
    counts = {d: sum(d in line for line in sample_lines) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties: the order of DELIMITERS
    return best if counts[best] else ","


def unescape(cell: str) -> str:
    """Undo the export's guard against spreadsheet formulas: `'=x` → `=x`, `'+44…` → `+44…`."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_START):
        return cell[1:]
    return cell


def _records(lines: list[str], delimiter: str) -> list[tuple[int, list[str]]]:
    """(first line number, cells) for each non-empty CSV record; quoted fields may span lines."""
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter, quotechar='"')
    records: list[tuple[int, list[str]]] = []
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:  # e.g. a quote never closed: the rest of the file is one field
            records.append((start, ["\x00csv-error", ""]))
            break
        if any("\n" in c for c in cells):
            # A quote opened and never closed swallows the next lines: say so, on its line.
            records.append((start, ["\x00csv-error", cells[0].split("\n")[0]]))
        elif any(c.strip() for c in cells):
            records.append((start, [unescape(c.strip()) for c in cells]))
        start = reader.line_num + 1
    return records


def _is_number(cell: str) -> bool:
    try:
        numbers.normalise(cell, default_region=services.region())
    except sms_errors.InvalidNumber:
        return False
    return True


@dataclass
class _Layout:
    number: int
    name: int | None
    first_name: int | None = None
    groups: int | None = None
    fields: dict[int, str] = field(default_factory=dict)  # column → ContactField.key


def _layout(
    records: list[tuple[int, list[str]]], plan: Plan, custom: list[ContactField]
) -> _Layout:
    """Which column holds what: from the header when the first row has one, else the manual's
    order (name, number) with the number column found by its content."""
    first = records[0][1]
    if not any(_is_number(c) for c in first):
        by_word = {_header_key(c): i for i, c in reversed(list(enumerate(first)))}
        found: dict[str, int] = {}
        for what, words in HEADERS.items():
            for word in words:
                if word in by_word:
                    found.setdefault(what, by_word[word])
        fields = {}
        for f in custom:
            for word in (_header_key(f.key), _header_key(f.label)):
                if word in by_word and by_word[word] not in found.values():
                    fields[by_word[word]] = f.key
        if "number" not in found:
            # No header word at all: a first row whose number is wrong, not a header.
            later = next(
                (cells for _line, cells in records[1:20] if any(map(_is_number, cells))), None
            )
            if not found and not fields:
                # No header at all, and maybe no valid number anywhere: the manual's order.
                return _content_layout(later or first, plan)
            raise errors.ImportRefused(
                _(
                    "The first line looks like a header, but none of its columns is the number "
                    "(“Numéro”, “Téléphone”, “Mobile”, “Number” or “Phone”). Name that column, or "
                    "remove the header line."
                )
            )
        plan.header = True
        used = set(found.values()) | set(fields)
        plan.ignored_columns = [c or str(i + 1) for i, c in enumerate(first) if i not in used]
        return _Layout(
            number=found["number"],
            name=found.get("name"),
            first_name=found.get("first_name"),
            groups=found.get("groups"),
            fields=fields,
        )
    return _content_layout(first, plan)


def _content_layout(first: list[str], plan: Plan) -> _Layout:
    number_col = next((i for i, c in enumerate(first) if _is_number(c)), 1 if len(first) > 1 else 0)
    others = [i for i in range(len(first)) if i != number_col]
    name_col = others[0] if others else None
    if len(others) > 1:
        plan.ignored_columns = [str(i + 1) for i in others[1:]]
    return _Layout(number=number_col, name=name_col)


def plan(data: bytes, *, group: str = "", org: Any = None) -> Plan:
    """Read a file and say what importing it would do in organisation `org`; writes
    nothing."""
    org = tenancy.resolve(org)
    text, encoding = decode(data)
    result = Plan(encoding=encoding, group=group.strip())
    if text.lstrip("\ufeff \t\r\n").startswith(("[", "{")):
        return _plan_json(text, result, org)
    lines = _lines(text, result)
    result.delimiter = sniff_delimiter(lines)
    records = _records(lines, result.delimiter)
    if not records:
        if result.rejected:
            return result
        raise errors.ImportRefused(_("The file is empty: there is no contact to import."))
    custom = services.custom_fields(org=org)
    layout = _layout(records, result, custom)
    if result.header:
        records = records[1:]
    result.columns = _column_names(layout, custom)
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for line, cells in records:
        row_or_reason = _read_row(line, cells, layout)
        if isinstance(row_or_reason, _BadNumber):
            text = _shorten(result.delimiter.join(cells))
            result.rejected.append(row_or_reason.rejected(line, text))
        elif isinstance(row_or_reason, str):
            shown = cells[1:] if cells[0] == "\x00csv-error" else cells
            result.rejected.append(
                Rejected(line, row_or_reason, _shorten(result.delimiter.join(shown)))
            )
        elif row_or_reason.number in seen:
            result.duplicates.append(
                Duplicate(line, seen[row_or_reason.number], row_or_reason.number)
            )
        else:
            seen[row_or_reason.number] = line
            rows.append(row_or_reason)
    _compare(rows, result, org)
    result.rejected.sort(key=lambda r: r.line)
    return result


JSON_KEYS = {"id", "name", "first_name", "number", "groups", "fields"}


def _plan_json(text: str, result: Plan, org: Any) -> Plan:
    """The export's JSON (`contacts export --format json`: an array of {name, first_name,
    number, groups, fields}), checked like the CSV: each item a line of the preview, the
    same rules per field, the same refusals. `id` is ignored (the number identifies)."""
    result.delimiter = "json"
    result.header = True
    try:
        items = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise errors.ImportRefused(
            _("The file is not valid JSON (%(error)s): export it again, or import a CSV file.")
            % {"error": str(e)[:80]}
        ) from None
    if not isinstance(items, list):
        raise errors.ImportRefused(_("The JSON file must be a list of contacts."))
    if not items:
        raise errors.ImportRefused(_("The file is empty: there is no contact to import."))
    known = {f.key for f in services.custom_fields(org=org)}
    result.columns = [_("name"), _("number"), _("first name"), _("groups"), *sorted(known)]
    rows: list[Row] = []
    seen: dict[str, int] = {}
    ignored: dict[str, None] = {}
    for line, item in enumerate(items, start=1):
        if isinstance(item, dict) and isinstance(item.get("fields"), dict):
            ignored.update((str(k)[:40], None) for k in item["fields"] if k not in known)
        row_or_reason = _json_row(line, item, known)
        if isinstance(row_or_reason, _BadNumber):
            shown = json.dumps(item, ensure_ascii=False)
            result.rejected.append(row_or_reason.rejected(line, _shorten(shown)))
        elif isinstance(row_or_reason, str):
            shown = json.dumps(item, ensure_ascii=False) if not isinstance(item, str) else item
            result.rejected.append(Rejected(line, row_or_reason, _shorten(shown)))
        elif row_or_reason.number in seen:
            result.duplicates.append(
                Duplicate(line, seen[row_or_reason.number], row_or_reason.number)
            )
        else:
            seen[row_or_reason.number] = line
            rows.append(row_or_reason)
    result.ignored_columns = list(ignored)[:MAX_COLUMNS]
    _compare(rows, result, org)
    return result


def _json_row(line: int, item: object, known: set[str]) -> Row | str | _BadNumber:
    if not isinstance(item, dict):
        return _("not a contact (an object with name and number)")
    unknown = set(item) - JSON_KEYS
    if unknown:
        return _("unknown key « %(key)s »") % {"key": str(sorted(unknown)[0])[:40]}
    texts = {k: item.get(k) for k in ("name", "first_name", "number")}
    if any(v is not None and not isinstance(v, str) for v in texts.values()):
        return _("name, first_name and number are texts")
    raw_number = (texts["number"] or "").strip()
    if not raw_number:
        return _("no number")
    try:
        number = numbers.normalise(raw_number, default_region=services.region())
    except sms_errors.InvalidNumber as e:
        return _BadNumber.of(raw_number, e)
    groups, fields = item.get("groups") or [], item.get("fields") or {}
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        return _("groups is a list of group names")
    if not isinstance(fields, dict):
        return _("fields is an object of field values")
    try:
        row = Row(
            line=line,
            name=services.clean_name(texts["name"] or ""),
            number=number,
            first_name=services.clean_first_name(texts["first_name"] or ""),
            fields=services.clean_fields(
                {k: v for k, v in fields.items() if k in known}, known=known
            ),
        )
        for g in groups[:MAX_COLUMNS]:
            name = services.clean_text(
                g, limit=services.MAX_NAME, label=services.GROUP_NAME_LABEL, field_name="groups"
            )
            if name:
                row.groups.append(name)
    except errors.InvalidField as e:
        return e.message
    return row


def _shorten(text: str) -> str:
    return text if len(text) <= 60 else text[:59] + "…"


def _column_names(layout: _Layout, custom: list[ContactField]) -> list[str]:
    labels = {f.key: f.label for f in custom}
    names = {layout.number: _("number")}
    if layout.name is not None:
        names[layout.name] = _("name")
    if layout.first_name is not None:
        names[layout.first_name] = _("first name")
    if layout.groups is not None:
        names[layout.groups] = _("groups")
    for col, key in layout.fields.items():
        names[col] = labels.get(key, key)
    return [f"{col + 1}: {names[col]}" for col in sorted(names)]


def _cell(cells: list[str], col: int | None) -> str:
    return cells[col] if col is not None and col < len(cells) else ""


def _read_row(line: int, cells: list[str], layout: _Layout) -> Row | str | _BadNumber:
    """A valid row, or why the line is rejected."""
    if cells[0] == "\x00csv-error":
        return _('a quote (") is opened and never closed: this line and the rest are unreadable')
    if len(cells) > MAX_COLUMNS:
        return _("too many columns (%(count)d, at most %(max)d)") % {
            "count": len(cells),
            "max": MAX_COLUMNS,
        }
    raw_number = _cell(cells, layout.number)
    if not raw_number:
        return _("no number")
    try:
        number = numbers.normalise(raw_number, default_region=services.region())
    except sms_errors.InvalidNumber as e:
        return _BadNumber.of(raw_number, e)
    try:
        row = Row(line=line, name=services.clean_name(_cell(cells, layout.name)), number=number)
        if layout.first_name is not None:
            row.first_name = services.clean_first_name(_cell(cells, layout.first_name))
        if layout.fields:
            values = {key: _cell(cells, col) for col, key in layout.fields.items()}
            row.fields = services.clean_fields(values, known=layout.fields.values())
        if layout.groups is not None:
            for cell in _cell(cells, layout.groups).split(GROUP_SEPARATOR):
                group = services.clean_text(
                    cell,
                    limit=services.MAX_NAME,
                    label=services.GROUP_NAME_LABEL,
                    field_name="groups",
                )
                if group:
                    row.groups.append(group)
    except errors.InvalidField as e:
        return e.message
    return row


def _compare(rows: list[Row], result: Plan, org: Any) -> None:
    """Sort rows into create / update / unchanged against what is stored. Empty cells never
    erase: a column left empty keeps what the contact had."""
    # Plain tuples, not model instances: a third of the time for 100,000 known contacts.
    existing: dict[str, tuple[int, str, str, dict]] = {}
    for chunk in services._chunks([r.number for r in rows]):
        for cid, number, name, first_name, fields in (
            Contact.objects.for_org(org)
            .filter(number__in=chunk)
            .values_list("id", "number", "name", "first_name", "fields")
        ):
            existing[number] = (cid, name, first_name, fields or {})
    memberships: dict[int, set[str]] = {}
    wanted_groups = any(r.groups for r in rows) or bool(result.group)
    if existing and wanted_groups:
        through = Group.contacts.through
        for chunk in services._chunks([c[0] for c in existing.values()]):
            for cid, gname in through.objects.filter(contact_id__in=chunk).values_list(
                "contact_id", "group__name"
            ):
                memberships.setdefault(cid, set()).add(gname.lower())
    target = result.group.lower()
    for row in rows:
        known = existing.get(row.number)
        if known is None:
            result.create.append(row)
            continue
        cid, name, first_name, fields = known
        has = memberships.get(cid, set())
        missing_groups = [g for g in row.groups if g.lower() not in has]
        if target and target not in has:
            missing_groups.append(result.group)
        changed = (
            row.name != name
            or (row.first_name and row.first_name != first_name)
            or any(fields.get(k) != v for k, v in row.fields.items())
            or missing_groups
        )
        if changed:
            contact = Contact(
                id=cid, number=row.number, name=name, first_name=first_name, organisation=org
            )
            contact.fields = fields
            result.update.append((row, contact))
        else:
            result.unchanged.append(row)


@transaction.atomic
def apply(data: bytes, *, group: str = "", org: Any = None, by: Any = None, name: str = "") -> Plan:
    """Import `data` into organisation `org`: plan it again (the directory may have changed
    since the preview) and write it all in this transaction, or nothing. The lines refused
    for their number are kept (`result.invalid_report`, directory/invalid.py)."""
    org = tenancy.resolve(org)
    result = plan(data, group=group, org=org)
    result.invalid_report = invalid.record(
        result.rejected, kind=invalid.Kind.IMPORT, label=name, by=by, org=org
    )
    if not result.importable and not (result.group and result.unchanged):
        return result
    group_names = {g for row, _c in result.update for g in row.groups}
    group_names |= {g for row in result.create for g in row.groups}
    if result.group:
        group_names.add(result.group)
    groups = _get_or_create_groups(group_names, org)
    insert_rows(
        Contact,
        Contact(organisation=org),
        ["name", "number", "first_name", "fields", "search_name"],
        [
            (
                r.name,
                r.number,
                r.first_name,
                json.dumps(r.fields, ensure_ascii=False),
                search_name_of(r.name, r.first_name),
            )
            for r in result.create
        ],
    )
    created = _contacts_by_number([r.number for r in result.create], org) if group_names else {}
    updated = []
    for row, contact in result.update:
        contact.name = row.name
        contact.first_name = row.first_name or contact.first_name
        contact.fields = {**contact.fields, **row.fields}
        contact.search_name = search_name_of(contact.name, contact.first_name)
        updated.append(contact)
    Contact.objects.for_org(org).bulk_update(
        updated, ["name", "first_name", "fields", "search_name"], batch_size=2000
    )
    through = Group.contacts.through
    members = []
    pairs = [
        *((r, created[r.number]) for r in result.create if r.number in created),
        *result.update,
    ]
    for row, contact in pairs:
        for g in row.groups:
            members.append(through(group_id=groups[g.lower()].id, contact_id=contact.id))
    if result.group:
        target = groups[result.group.lower()].id
        members += [through(group_id=target, contact_id=c.id) for _r, c in pairs]
        unchanged = [r.number for r in result.unchanged]
        for chunk in services._chunks(unchanged):
            members += [
                through(group_id=target, contact_id=cid)
                for cid in Contact.objects.for_org(org)
                .filter(number__in=chunk)
                .values_list("id", flat=True)
            ]
    through.objects.bulk_create(members, batch_size=2000, ignore_conflicts=True)
    if len(result.create) >= REFRESH_AFTER:
        _refresh_search_statistics()
    audit.record(
        Action.IMPORT,
        ("contacts", ""),
        after={"created": len(result.create), "updated": len(result.update), "group": result.group},
        label="contacts",
    )
    return result


REFRESH_AFTER = 1000  # new contacts after which PostgreSQL's statistics are refreshed


def _refresh_search_statistics() -> None:
    """PostgreSQL, after a big import: without fresh statistics (autovacuum comes later) and
    with the new names still in the trigram indexes' pending list, a name search took 290 ms
    instead of 17 ms on 100,000 contacts (bench/RESULTS.md). Both steps take under a second."""
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("ANALYZE directory_contact")
            for index in ("contact_name_trgm", "contact_first_name_trgm", "contact_search_trgm"):
                cursor.execute(
                    "SELECT gin_clean_pending_list(to_regclass(%s)) "
                    "WHERE to_regclass(%s) IS NOT NULL",
                    [index, index],
                )
    except DatabaseError:  # an optimisation only: the import itself is done
        pass


def _contacts_by_number(numbers_: list[str], org: Any) -> dict[str, Contact]:
    found: dict[str, Contact] = {}
    mine = Contact.objects.for_org(org)
    for chunk in services._chunks(numbers_):
        found.update((c.number, c) for c in mine.filter(number__in=chunk).only("id", "number"))
    return found


def _get_or_create_groups(names: set[str], org: Any) -> dict[str, Group]:
    by_lower: dict[str, Group] = {}
    for g in Group.objects.for_org(org):
        by_lower[g.name.lower()] = g
    for name in sorted(names):
        if name.lower() not in by_lower:
            by_lower[name.lower()] = Group.objects.create(name=name, organisation=org)
    return by_lower


def summary_line(result: Plan) -> str:
    """One line of counts, for the CLI and the page's heading."""
    return (
        _(
            "%(create)d to create, %(update)d to update, %(skip)d to skip (duplicates or "
            "unchanged), %(reject)d rejected."
        )
        % result.counts()
    )


def rejected_line(rejected: Rejected) -> str:
    return _("line %(line)d: %(reason)s — %(text)s") % {
        "line": rejected.line,
        "reason": rejected.reason,
        "text": rejected.text,
    }


def duplicate_reason(duplicate: Duplicate) -> str:
    return _("same number as line %(line)d") % {"line": duplicate.first_line}


def ignored_note(result: Plan) -> str:
    if not result.ignored_columns:
        return ""
    note = ngettext(
        "This column is not imported: %(columns)s.",
        "These columns are not imported: %(columns)s.",
        len(result.ignored_columns),
    ) % {"columns": ", ".join(quoted(c) for c in result.ignored_columns)}
    if result.header:
        note += " " + _(
            "To keep one, an administrator adds a custom field with its name (Contacts, "
            "Custom fields), then you import the file again."
        )
    return note


# --- a file of recipients for one send (New SMS, the API, `smsdesk send --csv`) ------------

MAX_VALUE = 500  # characters of a cell used in a text; the SMS length bound comes later


@dataclass
class Recipient:
    line: int
    number: str  # E.164
    values: dict[str, str]  # column name (as in the header) → cell


@dataclass
class RecipientFile:
    """What a file of recipients holds: the same reading, layout and per-line refusals as a
    contact import (`plan`), but nothing is compared with the directory and nothing is
    written: every column but the number is a field a text may use, `{column}`."""

    recipients: list[Recipient] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)  # usable as {name}, in file order
    ignored_columns: list[str] = field(default_factory=list)  # not usable as a field name
    encoding: str = "utf-8"
    delimiter: str = ","
    header: bool = False
    name: str = ""  # the file's name, when known: the label of its invalid numbers report

    @property
    def numbers(self) -> list[str]:
        return [r.number for r in self.recipients]

    def values_by_number(self) -> dict[str, dict[str, str]]:
        return {r.number: r.values for r in self.recipients}


def read_recipients(data: bytes, *, name: str = "") -> RecipientFile:
    """Read a file of recipients: a number column, found by its header word (“Numéro”,
    “Téléphone”, “Mobile”...) or, without a header, by its content; with a header, every
    other column whose title can name a field. Refuses what `decode` refuses (empty,
    binary, a workbook, too big); bad lines are rejected one by one with their number."""
    from smsdesk.core import text as control
    from smsdesk.sms.personalise import field_key, valid_name

    text, encoding = decode(data)
    plan_ = Plan(encoding=encoding)  # collects the lines too long to read
    result = RecipientFile(encoding=encoding, name=name)
    lines = _lines(text, plan_)
    result.rejected = plan_.rejected
    result.delimiter = sniff_delimiter(lines)
    records = _records(lines, result.delimiter)
    if not records:
        if result.rejected:
            return result
        raise errors.ImportRefused(_("The file is empty: there is no number to send to."))
    layout = _layout(records, plan_, custom=[])
    named: dict[int, str] = {}
    if plan_.header:
        result.header = True
        seen_keys: set[str] = set()
        for col, title in enumerate(records[0][1]):
            title = " ".join(control.from_network(title, multiline=False).split())
            if col == layout.number:
                continue
            if valid_name(title) and field_key(title) not in seen_keys:
                named[col] = title
                seen_keys.add(field_key(title))
            else:
                result.ignored_columns.append(title[:40] or str(col + 1))
        records = records[1:]
    else:
        # Without titles a column cannot be named in a text: only the number is read.
        width = max(len(cells) for _line, cells in records[:50])
        result.ignored_columns = [str(i + 1) for i in range(width) if i != layout.number]
    result.fields = list(named.values())
    seen: dict[str, int] = {}
    for line, cells in records:
        if cells[0] == "\x00csv-error":
            reason = _(
                'a quote (") is opened and never closed: this line and the rest are unreadable'
            )
            result.rejected.append(Rejected(line, reason, _shorten(cells[1])))
            continue
        if len(cells) > MAX_COLUMNS:
            reason = _("too many columns (%(count)d, at most %(max)d)") % {
                "count": len(cells),
                "max": MAX_COLUMNS,
            }
            result.rejected.append(Rejected(line, reason, _shorten(result.delimiter.join(cells))))
            continue
        raw_number = _cell(cells, layout.number)
        shown = _shorten(control.from_network(result.delimiter.join(cells), multiline=False))
        if not raw_number:
            result.rejected.append(Rejected(line, _("no number"), shown))
            continue
        try:
            number = numbers.normalise(raw_number, default_region=services.region())
        except sms_errors.InvalidNumber as e:
            result.rejected.append(_BadNumber.of(raw_number, e).rejected(line, shown))
            continue
        if number in seen:
            result.duplicates.append(Duplicate(line, seen[number], number))
            continue
        seen[number] = line
        values = {
            title: control.from_network(_cell(cells, col), multiline=False)[:MAX_VALUE]
            for col, title in named.items()
        }
        result.recipients.append(Recipient(line, number, values))
    result.rejected.sort(key=lambda r: r.line)
    return result


def recipients_line(result: RecipientFile) -> str:
    """One line of counts for a file of recipients (the page, the API, the CLI)."""
    return _(
        "%(accepted)d numbers read, %(duplicates)d duplicates removed, %(rejected)d lines rejected."
    ) % {
        "accepted": len(result.recipients),
        "duplicates": len(result.duplicates),
        "rejected": len(result.rejected),
    }
