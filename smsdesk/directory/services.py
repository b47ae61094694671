"""Directory rules: contacts, groups, and who a send's targets are.

Numbers are stored in E.164 and there is one contact per number. Every entry point (pages,
API, CLI, CSV import) goes through these functions, so the same number typed as
`06 12 34 56 78` or `+33 6 12 34 56 78` always finds the same contact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, Count, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Concat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from smsdesk.accounts import access
from smsdesk.audit import services as audit
from smsdesk.audit.models import Action
from smsdesk.core import number_reasons, tenancy
from smsdesk.core.metadata import check_metadata
from smsdesk.core.text import ControlCharacter, check_typed, search_safe
from smsdesk.directory import errors, rules
from smsdesk.directory.models import Contact, ContactField, Group
from smsdesk.sms import errors as sms_errors
from smsdesk.sms import numbers
from smsdesk.sms.folding import search_form

MAX_NAME = 200
MAX_FIRST_NAME = 100
MAX_FIELD_VALUE = 200
CHUNK = 900  # ids or numbers per IN (...): under SQLite's bound-parameter limit
MIN_SUGGEST = 2  # letters typed before the type-ahead answers


def region() -> str:
    return settings.SMSDESK_DEFAULT_REGION


def display(number: str) -> str:
    """A stored number as people read it: `06 12 34 56 78` at home, `+44 …` abroad."""
    return numbers.format_for_display(number, default_region=region())


def normalise(raw: str, *, field: str = "number") -> str:
    try:
        return number_reasons.parse_typed(raw)
    except sms_errors.InvalidNumber as e:
        raise errors.InvalidNumber(invalid_number_message(raw, e), field=field) from None


def invalid_number_message(raw: str, error: sms_errors.InvalidNumber) -> str:
    return number_reasons.invalid_number_message(raw, error.reason)


def number_reason(raw: str) -> str | None:
    """None when `raw` is a valid number, else why not (translated)."""
    try:
        normalise(raw)
    except errors.InvalidNumber as e:
        return e.message
    return None


# --- contacts -------------------------------------------------------------------------------


NAME_LABEL = gettext_lazy("The name")
FIRST_NAME_LABEL = gettext_lazy("The first name")
GROUP_NAME_LABEL = gettext_lazy("The group name")


def clean_text(value: str | None, *, limit: int, label: object, field_name: str) -> str:
    """One line of printable text (tabs, newlines and runs of spaces made one space); a
    control character is refused, naming the field (README: never silently removed)."""
    try:
        check_typed(value or "", field=field_name, label=str(label), multiline=True)
    except ControlCharacter as e:
        raise errors.InvalidField(e.message, field=field_name) from None
    text = " ".join((value or "").split())
    if not text.isprintable():
        text = "".join(c for c in text if c.isprintable())
    if len(text) > limit:
        raise errors.InvalidField(
            _("%(label)s is too long: %(count)d characters, at most %(max)d.")
            % {"label": label, "count": len(text), "max": limit},
            field=field_name,
        )
    return text


def clean_name(value: str | None, *, field_name: str = "name") -> str:
    name = clean_text(value, limit=MAX_NAME, label=NAME_LABEL, field_name=field_name)
    if not name:
        raise errors.InvalidField(_("The contact name is empty."), field=field_name)
    return name


def clean_first_name(value: str | None) -> str:
    return clean_text(value, limit=MAX_FIRST_NAME, label=FIRST_NAME_LABEL, field_name="first_name")


def custom_fields(*, org: Any = None) -> list[ContactField]:
    org = tenancy.resolve(org)
    return list(ContactField.objects.for_org(org).all())


FIELDS_ADMIN_ONLY = gettext_lazy("Only an administrator can change the contacts' fields.")


@transaction.atomic
def create_field(*, label: str, key: str, by: Any, org: Any = None) -> ContactField:
    org = tenancy.resolve(org)
    """A custom contact field (administrators); its key is what `{key}` in a text reads."""
    access.require_admin(by, str(FIELDS_ADMIN_ONLY))
    label = label.strip()
    if (
        ContactField.objects.for_org(org).filter(key=key).exists()
        or ContactField.objects.for_org(org).filter(label__iexact=label).exists()
    ):
        raise errors.InvalidField(_("A field with this key or label already exists."))
    return ContactField.objects.for_org(org).create(
        organisation=org, label=label, key=key, position=ContactField.objects.for_org(org).count()
    )


def delete_field(field_id: int, *, by: Any, org: Any = None) -> int:
    org = tenancy.resolve(org)
    """Delete a custom field (administrators); values stored in contacts stay."""
    access.require_admin(by, str(FIELDS_ADMIN_ONLY))
    deleted, _rows = ContactField.objects.for_org(org).filter(id=field_id).delete()
    return deleted


def clean_fields(
    values: Mapping[str, object] | None,
    *,
    known: Iterable[str] | None = None,
    org: Any = None,
) -> dict:
    """Custom field values by key: unknown keys refused, empty values dropped."""
    if known is None:
        known = ContactField.objects.for_org(tenancy.resolve(org)).values_list("key", flat=True)
    keys = set(known)
    cleaned: dict[str, str] = {}
    for key, value in (values or {}).items():
        if key not in keys:
            raise errors.InvalidField(
                _("“%(key)s” is not a contact field. Fields: %(known)s.")
                % {"key": str(key)[:40], "known": ", ".join(sorted(keys)) or "—"},
                field="fields",
            )
        text = clean_text(
            str(value) if value is not None else "",
            limit=MAX_FIELD_VALUE,
            label=str(key),
            field_name="fields",
        )
        if text:
            cleaned[key] = text
    return cleaned


def _taken(number: str, *, org: Any, exclude: int | None = None) -> None:
    others = Contact.objects.for_org(org).filter(number=number)
    other = (others.exclude(id=exclude) if exclude is not None else others).first()
    if other is not None:
        raise errors.NumberTaken(
            _("The number %(number)s already belongs to the contact “%(name)s”.")
            % {"number": display(number), "name": other.full_name},
            contact_id=other.id,
        )


@transaction.atomic
def create_contact(
    *,
    name: str,
    number: str,
    first_name: str = "",
    fields: Mapping[str, object] | None = None,
    groups: Sequence[int] = (),
    org: Any = None,
    metadata: object = None,
) -> Contact:
    org = tenancy.resolve(org)
    contact = Contact(
        name=clean_name(name),
        number=normalise(number),
        first_name=clean_first_name(first_name),
        fields=clean_fields(fields, org=org),
        organisation=org,
        metadata=check_metadata(metadata),
    )
    group_rows = _groups_by_id(groups, org=org)
    _taken(contact.number, org=org)
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:  # saved by someone else between the check and now
        _taken(contact.number, org=org)
        raise
    contact.groups.set(group_rows)
    audit.record(Action.CONTACT_CREATE, contact, after=_contact_state(contact))
    return contact


def _contact_state(contact: Contact) -> dict[str, object]:
    return {
        "name": contact.name,
        "first_name": contact.first_name,
        "number": contact.number,
        "fields": contact.fields,
    }


@transaction.atomic
def update_contact(
    contact_id: int,
    *,
    name: str | None = None,
    number: str | None = None,
    first_name: str | None = None,
    fields: Mapping[str, object] | None = None,
    groups: Sequence[int] | None = None,
    org: Any = None,
    metadata: object = None,
) -> Contact:
    """Change what is given (None: unchanged). `fields` replaces all custom values,
    `metadata` all the metadata."""
    org = tenancy.resolve(org)
    contact = get_contact(contact_id, for_update=True, org=org)
    before: dict[str, object] = _contact_state(contact)
    if groups is not None:
        before["groups"] = sorted(contact.groups.values_list("id", flat=True))
    if metadata is not None:
        contact.metadata = check_metadata(metadata)
    if name is not None:
        contact.name = clean_name(name)
    if first_name is not None:
        contact.first_name = clean_first_name(first_name)
    if fields is not None:
        contact.fields = clean_fields(fields, org=org)
    if number is not None:
        contact.number = normalise(number)
        _taken(contact.number, org=org, exclude=contact.id)
    contact.save()
    if groups is not None:
        contact.groups.set(_groups_by_id(groups, org=org))
    after: dict[str, object] = _contact_state(contact)
    if groups is not None:
        after["groups"] = sorted(contact.groups.values_list("id", flat=True))
    changed = [k for k in after if before.get(k) != after[k]]
    audit.record(
        Action.CONTACT_UPDATE,
        contact,
        before={k: before.get(k) for k in changed},
        after={k: after[k] for k in changed},
    )
    return contact


def get_contact(contact_id: int, *, for_update: bool = False, org: Any = None) -> Contact:
    org = tenancy.resolve(org)
    qs = (
        Contact.objects.for_org(org).select_for_update()
        if for_update
        else Contact.objects.for_org(org)
    )
    try:
        return qs.get(id=contact_id)
    except Contact.DoesNotExist:
        raise errors.NotFound(_("No contact with id %(id)s.") % {"id": contact_id}) from None


@transaction.atomic
def delete_contacts(contact_ids: Sequence[int], *, org: Any = None) -> int:
    org = tenancy.resolve(org)
    deleted = 0
    gone: list[dict[str, object]] = []
    for chunk in _chunks(list(contact_ids)):
        rows = Contact.objects.for_org(org).filter(id__in=chunk).values("id", "name", "number")
        gone += [dict(c) for c in rows]
        deleted += (
            Contact.objects.for_org(org)
            .filter(id__in=chunk)
            .delete()[1]
            .get("directory.Contact", 0)
        )
    if deleted:
        audit.record(
            Action.CONTACT_DELETE,
            ("contact", ",".join(str(c["id"]) for c in gone[:10])),
            before=gone[:1000],
            label=", ".join(str(c["name"]) for c in gone[:5]) + (" …" if deleted > 5 else ""),
        )
    return deleted


def contact_list(search: str = "", *, org: Any = None) -> QuerySet[Contact]:
    org = tenancy.resolve(org)
    qs = Contact.objects.for_org(org).all()
    search = search_safe(search)  # a NUL must not reach the database (PostgreSQL refuses it)
    if search:
        qs = qs.filter(contact_search(search, org=org))
    return qs


def contact_search(q: str, *, org: Any = None) -> Q:
    """A contact by name, first name ("Jean Dupont" too) or number in any common format."""
    prefix = numbers.search_prefix(q, default_region=region())
    if prefix is not None and prefix[1]:
        return starts_with("number", prefix[0])  # "06 98…": a number, found by the index
    cond = name_matches(q)
    if prefix is not None:
        cond |= Q(number__contains=prefix[0])
    return cond


def starts_with(field_name: str, prefix: str) -> Q:
    """E.164 numbers starting with `prefix`, as a range the column's index can serve (LIKE
    cannot, on SQLite: it ignores case) and the exact test."""
    return Q(
        **{
            f"{field_name}__gte": prefix,
            f"{field_name}__lte": prefix + "9" * 16,
            f"{field_name}__startswith": prefix,
        }
    )


def name_matches(q: str) -> Q:
    """Contacts whose name or first name holds `q`, case and accents ignored ("helene" finds
    Hélène, "durand hel" finds Hélène DURAND): one LIKE on the folded `search_name`, which a
    trigram index serves on PostgreSQL. Spaces typed twice count once."""
    return Q(search_name__contains=search_form(q))


def suggest_contacts(q: str, *, limit: int = 10, org: Any = None) -> list[Contact]:
    q = q.strip()[:100]
    if len(q) < MIN_SUGGEST:
        return []
    return list(contact_list(q, org=org).order_by("name", "id")[:limit])


def lookup_contact(name_or_number: str, *, org: Any = None) -> Contact:
    org = tenancy.resolve(org)
    """One contact by its number (any format) or its exact name (CLI `--contact`)."""
    try:
        return Contact.objects.for_org(org).get(
            number=numbers.normalise(name_or_number, default_region=region())
        )
    except (sms_errors.InvalidNumber, Contact.DoesNotExist):
        pass
    matches = list(Contact.objects.for_org(org).filter(name__iexact=name_or_number.strip())[:2])
    if len(matches) == 1:
        return matches[0]
    raise errors.UnknownTargets(
        (
            _("Several contacts are named “%(name)s”: give the number instead.")
            if matches
            else _("No contact named or numbered “%(name)s”.")
        )
        % {"name": name_or_number[:100]},
        field="contacts",
    )


# --- groups ---------------------------------------------------------------------------------


def _clean_group_name(name: str, *, org: Any, exclude: int | None = None) -> str:
    cleaned = clean_text(name, limit=MAX_NAME, label=GROUP_NAME_LABEL, field_name="name")
    if not cleaned:
        raise errors.InvalidField(_("The group name is empty."), field="name")
    same = Group.objects.for_org(org).filter(name__iexact=cleaned)
    if (same.exclude(id=exclude) if exclude is not None else same).exists():
        raise errors.GroupNameTaken(
            _("A group named “%(name)s” already exists.") % {"name": cleaned}, field="name"
        )
    return cleaned


def group_list(search: str = "", *, org: Any = None) -> QuerySet[Group]:
    org = tenancy.resolve(org)
    qs = Group.objects.for_org(org).annotate(size=Count("contacts"))
    search = search_safe(search)
    if search:
        qs = qs.filter(search_name__contains=search_form(search))
    return qs


def get_group(group_id: int, *, org: Any = None) -> Group:
    org = tenancy.resolve(org)
    try:
        return Group.objects.for_org(org).get(id=group_id)
    except Group.DoesNotExist:
        raise errors.NotFound(_("No group with id %(id)s.") % {"id": group_id}) from None


def lookup_group(name: str, *, org: Any = None) -> Group:
    org = tenancy.resolve(org)
    group = Group.objects.for_org(org).filter(name__iexact=name.strip()).first()
    if group is None:
        raise errors.UnknownTargets(
            _("No group named “%(name)s”.") % {"name": name[:100]}, field="groups"
        )
    return group


def check_rule(rule: object, *, org: Any = None) -> dict:
    """A dynamic group's rule, validated against the fields of `org` (directory/rules.py)."""
    known = ContactField.objects.for_org(tenancy.resolve(org)).values_list("key", flat=True)
    return rules.check_rule(rule, known=known)


def rule_members(rule: dict, *, org: Any = None) -> QuerySet[Contact]:
    """The contacts of `org` a (checked) rule selects now: one query."""
    return Contact.objects.for_org(tenancy.resolve(org)).filter(rules.to_q(rule))


def group_contacts(group: Group) -> QuerySet[Contact]:
    """A group's members as they are now: chosen ones, or the rule's matches (in the
    group's own organisation)."""
    if group.rule is not None:
        return rule_members(group.rule, org=group.organisation_id)
    return Contact.objects.for_org(group.organisation_id).filter(groups=group)


def group_size(group: Group) -> int:
    return group_contacts(group).count()


@transaction.atomic
def create_group(
    *, name: str, contacts: Sequence[int] = (), rule: object = None, org: Any = None
) -> Group:
    """A group of chosen contacts, or (with `rule`) a dynamic group, which has no chosen
    members: its members are the contacts matching the rule when it is read."""
    org = tenancy.resolve(org)
    checked = check_rule(rule, org=org) if rule is not None else None
    if checked is not None and contacts:
        raise errors.InvalidRule(
            _("A dynamic group has no chosen members: give a rule or contacts, not both."),
            field="contacts",
        )
    group = Group.objects.for_org(org).create(
        name=_clean_group_name(name, org=org), rule=checked, organisation=org
    )
    _add_members(group, _existing_contact_ids(contacts, org=org))
    audit.record(
        Action.GROUP_CREATE,
        group,
        after={"name": group.name, "rule": checked, "contacts": len(contacts)},
    )
    return group


@transaction.atomic
def update_group(
    group_id: int,
    *,
    name: str | None = None,
    add: Sequence[int] = (),
    remove: Sequence[int] = (),
    contacts: Sequence[int] | None = None,
    rule: object = None,
    org: Any = None,
) -> Group:
    """Rename, add and remove members; `contacts` replaces the whole membership; `rule`
    replaces a dynamic group's conditions."""
    org = tenancy.resolve(org)
    group = get_group(group_id, org=org)
    before = {"name": group.name, "rule": group.rule}
    if name is not None and name.strip() != group.name:
        group.name = _clean_group_name(name, org=org, exclude=group.id)
        group.save(update_fields=["name"])
    if rule is not None:
        if group.rule is None:
            raise errors.InvalidRule(
                _("This group's members were chosen one by one: it cannot get a rule."),
                field="rule",
            )
        group.rule = check_rule(rule, org=org)
        group.save(update_fields=["rule"])
    if group.rule is not None and (contacts or add or remove):
        raise errors.InvalidRule(
            _("A dynamic group's members follow its rule: change the rule, not the members."),
            field="contacts",
        )
    through = Group.contacts.through
    if contacts is not None:
        through.objects.filter(group_id=group.id).delete()
        _add_members(group, _existing_contact_ids(contacts, org=org))
    if add:
        _add_members(group, _existing_contact_ids(add, org=org))
    for chunk in _chunks(list(remove)):
        through.objects.filter(group_id=group.id, contact_id__in=chunk).delete()
    after: dict[str, object] = {"name": group.name, "rule": group.rule}
    if contacts is not None:
        after["contacts"] = len(contacts)
    if add:
        after["added"] = list(add)[:1000]
    if remove:
        after["removed"] = list(remove)[:1000]
    audit.record(Action.GROUP_UPDATE, group, before=before, after=after)
    return group


@transaction.atomic
def delete_groups(group_ids: Sequence[int], *, org: Any = None) -> int:
    org = tenancy.resolve(org)
    """Delete the groups, never their contacts."""
    ids = list(group_ids)[:CHUNK]
    gone = list(Group.objects.for_org(org).filter(id__in=ids).values("id", "name"))
    deleted = Group.objects.for_org(org).filter(id__in=ids).delete()[1].get("directory.Group", 0)
    if deleted:
        audit.record(
            Action.GROUP_DELETE,
            ("group", ",".join(str(g["id"]) for g in gone[:10])),
            before=gone,
            label=", ".join(str(g["name"]) for g in gone[:5]),
        )
    return deleted


def suggest_groups(q: str, *, limit: int = 10, org: Any = None) -> list[Group]:
    q = q.strip()[:100]
    if len(q) < MIN_SUGGEST:
        return []
    return list(group_list(q, org=org).order_by("name")[:limit])


def _add_members(group: Group, contact_ids: Iterable[int]) -> None:
    through = Group.contacts.through
    through.objects.bulk_create(
        [through(group_id=group.id, contact_id=cid) for cid in contact_ids],
        batch_size=CHUNK,
        ignore_conflicts=True,
    )


def _existing_contact_ids(contact_ids: Sequence[int], *, org: Any) -> list[int]:
    wanted = list(dict.fromkeys(int(c) for c in contact_ids))
    found: set[int] = set()
    for chunk in _chunks(wanted):
        found.update(Contact.objects.for_org(org).filter(id__in=chunk).values_list("id", flat=True))
    missing = [c for c in wanted if c not in found]
    if missing:
        raise errors.UnknownTargets(
            _("No contact with id %(ids)s (deleted meanwhile?).")
            % {"ids": ", ".join(map(str, missing[:10]))},
            field="contacts",
        )
    return wanted


def _groups_by_id(group_ids: Sequence[int], *, org: Any) -> list[Group]:
    wanted = list(dict.fromkeys(int(g) for g in group_ids))
    found = list(Group.objects.for_org(org).filter(id__in=wanted[:CHUNK]))
    if len(found) != len(wanted):
        missing = set(wanted) - {g.id for g in found}
        raise errors.UnknownTargets(
            _("No group with id %(ids)s (deleted meanwhile?).")
            % {"ids": ", ".join(map(str, sorted(missing)[:10]))},
            field="groups",
        )
    return found


def _chunks(values: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


# --- who a send goes to ---------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """What a user chose in New SMS (or the API, or the CLI): typed numbers, contact ids,
    group ids."""

    numbers: Sequence[str] = ()
    contacts: Sequence[int] = ()
    groups: Sequence[int] = ()

    def as_record(self) -> dict:
        """For Campaign.targets: what was chosen, bounded."""
        return {
            "numbers": [str(n)[:64] for n in self.numbers][:1000],
            "contacts": list(self.contacts)[:1000],
            "groups": list(self.groups)[:100],
        }


def members(
    contact_ids: Sequence[int], group_ids: Sequence[int], *, org: Any = None
) -> tuple[list[str], int]:
    """The numbers of these contacts, then of these groups' members, in the order chosen
    (duplicates kept: messaging.recipients removes them), and how many were chosen. An
    unknown id is an error."""
    org = tenancy.resolve(org)
    found: list[str] = []
    contact_ids = _existing_contact_ids(contact_ids, org=org)
    for chunk in _chunks(contact_ids):
        by_id = dict(Contact.objects.for_org(org).filter(id__in=chunk).values_list("id", "number"))
        found.extend(by_id[c] for c in chunk)
    groups = _groups_by_id(group_ids, org=org)
    if groups:
        # Stored numbers are already E.164: no parsing, one query however big the group.
        in_groups = (
            Group.contacts.through.objects.filter(group_id__in=[g.id for g in groups])
            .order_by("group_id", "contact__name", "contact_id")
            .values_list("contact__number", flat=True)
        )
        found.extend(in_groups.iterator(chunk_size=5000))
    for group in groups:
        if group.rule is not None:  # its members as they are now, one query
            found.extend(
                rule_members(group.rule)
                .order_by("name", "id")
                .values_list("number", flat=True)
                .iterator(chunk_size=5000)
            )
    return found, len(found)


# --- names beside numbers -------------------------------------------------------------------


def contact_name_of(field_name: str) -> Subquery:
    """The name of the contact whose number is in `field_name` (OuterRef), as one expression
    the lists add to their query: one query per page, however many rows."""
    return Subquery(
        Contact.objects.across_orgs()  # matched on the outer row's organisation
        .filter(organisation=OuterRef("organisation"), number=OuterRef(field_name))
        .annotate(
            full=Case(
                When(first_name="", then=F("name")),
                # "DURAND Sophie" with the first name Sophie: as typed (Contact.full_name)
                When(name__icontains=F("first_name"), then=F("name")),
                default=Concat(F("first_name"), Value(" "), F("name")),
            )
        )
        .values("full")[:1]
    )


def who(number: str, *, org: Any = None) -> str:
    """A number as a sentence names it: the name `org`'s contact with that number has and the
    number in national format ("Hélène DURAND (06 11 11 11 11)"), or the number alone."""
    return who_many([number], org=org)[number]


def who_many(numbers: Iterable[str], *, org: Any = None) -> dict[str, str]:
    """`who` of each number, with one query."""
    wanted = list(dict.fromkeys(numbers))[:CHUNK]
    mine = Contact.objects.for_org(tenancy.resolve(org))
    names = {c.number: c.full_name for c in mine.filter(number__in=wanted)}
    shown = {n: display(n) if n.startswith("+") else n for n in wanted}
    return {n: f"{names[n]} ({shown[n]})" if n in names else shown[n] for n in wanted}


def with_names(queryset: QuerySet, field_name: str) -> QuerySet:
    return queryset.annotate(contact_name=contact_name_of(field_name))


def number_search(
    q: str,
    field_name: str,
    *,
    containing: Callable[[str], QuerySet] | None = None,
    org: Any = None,
) -> Q:
    """The shared "Rechercher" of every list showing numbers.

    A search written like the start of a number (`06 98…`, `+33 6 98…`, `0033 698…`, `06.98…`)
    is looked up ONLY as the start of an E.164 number: a range the column's index serves.
    Digits alone ("7654") are found anywhere in a number; anything else finds the numbers of
    the contacts of that name and the numbers stored as text (an alphanumeric sender such as
    "BANK"). For a large table, `containing(text)` gives the values of `field_name` holding
    `text` from a small table (one row per number), so that the large one is read by its index.
    """
    q = search_safe(q).strip()
    if not q:
        return Q()
    prefix = numbers.search_prefix(q, default_region=region())
    if prefix is not None and prefix[1]:
        return starts_with(field_name, prefix[0])

    def holding(text: str) -> Q:
        if containing is None:
            return Q(**{f"{field_name}__icontains": text})
        return Q(**{f"{field_name}__in": _few_values(containing(text))})

    if prefix is not None:
        return holding(prefix[0])
    named = Contact.objects.for_org(tenancy.resolve(org)).filter(name_matches(q))
    by_name = Q(
        **{f"{field_name}__in": _few_values(named.order_by().values_list("number", flat=True))}
    )
    return by_name | holding(q)


FEW = 500  # values read beforehand, so that PostgreSQL can OR their index scans


def _few_values(values: QuerySet) -> QuerySet | list[str]:
    """`values` as a list when there are few (an IN list the planner combines with other
    indexed conditions), else the query itself (a subquery: many matches, found early)."""
    found = list(values[: FEW + 1])
    return found if len(found) <= FEW else values
