"""`metadata`: the client's own references on a message or a contact (an order number, a
CRM id), kept as given, returned by the API and searched by key.

Bounded, as Stripe bounds its metadata: at most MAX_KEYS keys of at most MAX_KEY characters
(none of `" \\ [ ]`), each value a string of at most MAX_VALUE characters, no control
character. Anything else is
refused with 400 `invalid_metadata` naming the key and the problem (the API declares the
bounds in its schema too, but the rule is here, for every entry point).

Searched with `?metadata[key]=value` (OpenAPI's deepObject style): each pair must match
exactly. The lookup goes through `KeyTextTransform` with the key as one JSON key (a key
holding `__` or quotes is a key, never a path or a lookup). The column has no index: a
search by metadata alone reads the rows of the list's other filters (date, tag, line).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from smsdesk.core.errors import ServiceError
from smsdesk.core.text import has_controls

MAX_KEYS = 16
MAX_KEY = 40
MAX_VALUE = 500
PARAM = re.compile(r"^metadata\[([^\[\]]*)\]$")
# Not in a key: brackets cannot be written in `?metadata[key]=`, and SQLite's JSON paths
# cannot hold a quote or a backslash (PostgreSQL's can): refused on both, so that a key
# stored on one database is found on the other.
FORBIDDEN = frozenset('"\\[]')

# What the API's schema says of a metadata object (the rule itself is check_metadata).
SCHEMA: dict[str, Any] = {
    "type": "object",
    "maxProperties": MAX_KEYS,
    "propertyNames": {"minLength": 1, "maxLength": MAX_KEY},
    "additionalProperties": {"type": "string", "maxLength": MAX_VALUE},
    "description": f"your own references: at most {MAX_KEYS} keys of at most {MAX_KEY} "
    f"characters, each value a string of at most {MAX_VALUE}; searched with "
    "?metadata[key]=value",
}


class InvalidMetadata(ServiceError):
    code = "invalid_metadata"
    http_status = 400


def _refuse(message: str, key: str | None = None) -> InvalidMetadata:
    return InvalidMetadata(message, field=f"metadata.{key[:MAX_KEY]}" if key else "metadata")


def check_metadata(value: object) -> dict[str, str] | None:
    """`value` as stored (None: none given), or InvalidMetadata naming what is wrong."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _refuse(_("metadata must be an object of keys and texts."))
    if len(value) > MAX_KEYS:
        raise _refuse(
            _("metadata has %(n)d keys: at most %(max)d.") % {"n": len(value), "max": MAX_KEYS}
        )
    checked: dict[str, str] = {}
    for key, item in value.items():
        key = str(key)
        if not key or len(key) > MAX_KEY or has_controls(key) or FORBIDDEN & set(key):
            raise _refuse(
                _(
                    "The metadata key %(key)s must have from 1 to %(max)d visible characters, "
                    "none of %(forbidden)s."
                )
                % {"key": repr(key[:MAX_KEY]), "max": MAX_KEY, "forbidden": '" \\ [ ]'},
                key,
            )
        if not isinstance(item, str):
            raise _refuse(
                _("The metadata value of %(key)s must be a text (in quotes).") % {"key": key},
                key,
            )
        if len(item) > MAX_VALUE or has_controls(item):
            raise _refuse(
                _(
                    "The metadata value of %(key)s must be a text of at most %(max)d "
                    "characters, without control characters."
                )
                % {"key": key, "max": MAX_VALUE},
                key,
            )
        checked[key] = item
    return checked


def wanted(params: Mapping[str, Any]) -> dict[str, str]:
    """The `metadata[key]=value` pairs of a query string, checked like metadata."""
    pairs = {m.group(1): params[name] for name in params if (m := PARAM.match(name))}
    return check_metadata(pairs) or {}


def matching(qs: QuerySet, pairs: Mapping[str, str], field: str = "metadata") -> QuerySet:
    """The rows of `qs` whose metadata holds every pair of `pairs`."""
    for i, (key, value) in enumerate(pairs.items()):
        name = f"_metadata_{i}"
        # as text: compared as text, not as JSON (Django would read `value` as JSON)
        text = Cast(KeyTextTransform(key, field), output_field=TextField())
        qs = qs.alias(**{name: text}).filter(**{name: value})
    return qs
