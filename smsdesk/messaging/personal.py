"""Personalised texts: each recipient's values for the fields of `sms.personalise`.

The names a text may use: `{prénom}`, `{nom}`, `{numéro}` (and their English forms
`{first_name}`, `{name}`, `{number}`), and every custom field of the directory by its key or
its label (`{ville}`, `{Ville}`). A recipient who is not a contact has only `{numéro}`; extra
values (the columns of an uploaded file) come on top, by column name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from smsdesk.core import tenancy
from smsdesk.core.bulk import select_among
from smsdesk.directory import services as directory
from smsdesk.directory.models import Contact, ContactField
from smsdesk.messaging import errors
from smsdesk.sms import personalise
from smsdesk.sms.personalise import Template, field_key

FIRST_NAME = ("prénom", "prenom", "first name", "first_name", "firstname")
NAME = ("nom", "name", "last name", "last_name", "lastname")
NUMBER = ("numéro", "numero", "number", "téléphone", "telephone")
SHOWN_MISSING = 10  # recipients named in the error; the API's detail lists up to MAX_DETAIL
MAX_DETAIL = 1000

REASONS = {
    "unclosed": gettext_lazy("is opened but never closed with “}”"),
    "unopened": gettext_lazy("closes nothing (no “{” before it)"),
    "bad_name": gettext_lazy("does not name a field (letters, digits, “-” or “_”, at most 40)"),
    "nested": gettext_lazy("contains another “{”"),
}


def literal(body: str) -> Template:
    """A text sent exactly as typed (a reply in a discussion): no fields, braces kept."""
    return Template(parts=(body,) if body else ())


def check_template(body: str) -> Template:
    try:
        return personalise.parse(body)
    except personalise.PlaceholderError as e:
        raise errors.BadPlaceholder(
            _(
                "The text has a mistake at character %(position)d: “%(excerpt)s” %(reason)s. "
                "Fields are written {first_name} or {first_name|default text}; write {{ and }} "
                "for a plain brace."
            )
            % {
                "position": e.position + 1,
                "excerpt": e.excerpt,
                "reason": REASONS.get(e.reason, e.reason),
            },
            field="text",
        ) from None


def _custom_keys(org: Any) -> dict[str, str]:
    """Each custom field of `org`'s, its stored key by the names a text may call it."""
    names: dict[str, str] = {}
    for field in ContactField.objects.for_org(org):
        names[field_key(field.key)] = field.key
        names[field_key(field.label)] = field.key
    return names


def values_for(
    recipients: Sequence[str],
    extra: Mapping[str, Mapping[str, str]] | None = None,
    *,
    needed: set[str] | None = None,
    org: Any = None,
) -> dict[str, dict[str, str]]:
    """Each recipient's values by `field_key` (only the `needed` keys when given): the
    contacts read in one query per 50,000 numbers (core.bulk.select_among), a number
    formatted only when a text shows it. `extra` (an uploaded file's columns) wins over a
    contact's field of the same name: it is what the sender gave for this very send."""
    org = tenancy.resolve(org)
    wanted = (lambda key: True) if needed is None else needed.__contains__
    number_keys = [k for k in map(field_key, NUMBER) if wanted(k)]
    first_keys = [k for k in map(field_key, FIRST_NAME) if wanted(k)]
    name_keys = [k for k in map(field_key, NAME) if wanted(k)]
    custom = {alias: key for alias, key in _custom_keys(org).items() if wanted(alias)}
    values: dict[str, dict[str, str]] = {}
    for number in recipients:
        shown = directory.display(number) if number_keys else ""
        values[number] = dict.fromkeys(number_keys, shown)
    if first_keys or name_keys or custom:
        aliases = list(custom)
        stored_keys = list(dict.fromkeys(custom.values()))
        position = {key: i for i, key in enumerate(stored_keys)}
        contact_keys = (*first_keys, *name_keys, *aliases)
        for number, first_name, name, *stored in select_among(
            Contact,
            "number",
            recipients,
            ["number", "first_name", "name"],
            json_keys=[("fields", key) for key in stored_keys],
            org=org,
        ):
            found = [_text(stored[position[custom[alias]]]) for alias in aliases]
            values[number].update(
                zip(
                    contact_keys,
                    (*[first_name] * len(first_keys), *[name] * len(name_keys), *found),
                    strict=True,
                )
            )
    if extra:
        keys_of = {name: _aliases(field_key(name)) for c in extra.values() for name in c}
        for number, columns_ in extra.items():
            if number in values:
                mine = values[number]
                for name, value in columns_.items():
                    mine.update(dict.fromkeys(keys_of[name], str(value)))
    return values


def _text(value: object) -> str:
    """A custom field's value as read from the JSON (a number comes back as a number)."""
    return "" if value is None else str(value)


def _aliases(key: str) -> tuple[str, ...]:
    """A file's column “Prenom” fills {prénom} and {first_name} too, as a contact would."""
    for names in (FIRST_NAME, NAME, NUMBER):
        keys = tuple(map(field_key, names))
        if key in keys:
            return keys
    return (key,)


def render_all(
    template: Template,
    recipients: Sequence[str],
    extra: Mapping[str, Mapping[str, str]] | None = None,
    *,
    org: Any = None,
) -> dict[str, str]:
    """Every recipient's text, or MissingFields naming those a field without default lacks.

    Rendered once per distinct tuple of values (many recipients share a first name and a
    town): the same values give the same text."""
    keys = tuple(dict.fromkeys(f.key for f in template.fields))
    org = tenancy.resolve(org)
    values = values_for(recipients, extra, needed=set(keys), org=org)
    rendered: dict[tuple[str, ...], str | personalise.MissingField] = {}
    bodies: dict[str, str] = {}
    missing: list[tuple[str, str]] = []
    for number in recipients:
        mine = values[number]
        seen = tuple(mine.get(k, "") for k in keys)
        text = rendered.get(seen)
        if text is None:
            try:
                text = personalise.render(template, mine)
            except personalise.MissingField as e:
                text = e
            rendered[seen] = text
        if isinstance(text, str):
            bodies[number] = text
        elif len(missing) < MAX_DETAIL:
            missing.append((text.name, number))
        else:
            missing.append((text.name, ""))
    if missing:
        raise _missing(missing, org)
    return bodies


def _missing(missing: list[tuple[str, str]], org: Any) -> errors.MissingFields:
    shown = missing[:SHOWN_MISSING]
    names = dict(
        Contact.objects.for_org(org)
        .filter(number__in=[n for _f, n in shown])
        .values_list("number", "name")
    )
    listed = ", ".join(
        f"{names[n]} ({directory.display(n)})" if n in names else directory.display(n)
        for _f, n in shown
    )
    fields = ", ".join(dict.fromkeys(f"{{{f}}}" for f, _n in missing))
    message = ngettext(
        "%(count)d recipient has no value for %(fields)s: %(list)s. Give a default, "
        "as in {first_name|Sir or Madam}, or fill in the contact.",
        "%(count)d recipients have no value for %(fields)s, among them: %(list)s. Give a "
        "default, as in {first_name|Sir or Madam}, or fill in the contacts.",
        len(missing),
    ) % {"count": len(missing), "fields": fields, "list": listed}
    detail = [(f, n) for f, n in missing if n]
    return errors.MissingFields(message, missing=detail)


def preview(
    body: str,
    number: str,
    extra: Mapping[str, Mapping[str, str]] | None = None,
    *,
    org: Any = None,
) -> str:
    """The text `number` would get (MissingFields if it lacks a field without default)."""
    template = check_template(body)
    return render_all(template, [number], extra, org=org)[number]
