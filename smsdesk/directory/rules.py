"""Dynamic groups: a group defined by conditions on the contacts' fields, its members the
contacts matching them at the moment they are read (a send, the live count while editing).

A rule is JSON, validated strictly here before it is stored (the page, the API and the CLI
all come through `check_rule`), then turned into one `Q` object: the members of a dynamic
group are one SQL query, never a loop over contacts.

    {"all": [{"field": "ville", "op": "equals", "value": "Lyon"},
             {"field": "name", "op": "starts_with", "value": "Du"}]}
    {"any": [{"field": "ville", "op": "in", "value": ["Lyon", "Paris"]}]}

Fields: `name`, `first_name`, `number` and the keys of the custom contact fields. Operators:
`equals`, `contains`, `starts_with` (case ignored), `is_empty` (no value) and `in` (equals
one of a list). A rule is one level deep: `all` (every condition) or `any` (at least one).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from smsdesk.core.text import ControlCharacter, check_typed
from smsdesk.directory import errors

OPS = ("equals", "contains", "starts_with", "is_empty", "in")
BUILTIN_FIELDS = ("name", "first_name", "number")
MAX_CONDITIONS = 20
MAX_VALUES = 100  # in a list of `in`
MAX_VALUE = 200


def _bad(message: str) -> errors.InvalidRule:
    return errors.InvalidRule(message, field="rule")


def check_rule(rule: object, *, known: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """The rule in its stored form, or InvalidRule saying what to fix. `known`: the custom
    field keys that exist."""
    fields = set(BUILTIN_FIELDS) | set(known)
    if not isinstance(rule, dict) or len(rule) != 1 or next(iter(rule)) not in ("all", "any"):
        raise _bad(_('A rule is {"all": [conditions]} or {"any": [conditions]}, one of the two.'))
    ((mode, conditions),) = rule.items()
    if not isinstance(conditions, list) or not conditions:
        raise _bad(_("Give at least one condition."))
    if len(conditions) > MAX_CONDITIONS:
        raise _bad(_("At most %(max)d conditions.") % {"max": MAX_CONDITIONS})
    return {mode: [_check_condition(c, i + 1, fields) for i, c in enumerate(conditions)]}


def _check_condition(condition: object, position: int, fields: set[str]) -> dict[str, Any]:
    where = {"n": position}
    if not isinstance(condition, dict):
        raise _bad(_("Condition %(n)d: give a field, an op and a value.") % where)
    extra = set(condition) - {"field", "op", "value"}
    if extra:
        raise _bad(
            _("Condition %(n)d: unknown key « %(key)s » (keys: field, op, value).")
            % {**where, "key": str(sorted(extra)[0])[:40]}
        )
    field, op = condition.get("field"), condition.get("op")
    if not isinstance(field, str) or field not in fields:
        raise _bad(
            _("Condition %(n)d: « %(field)s » is not a contact field. Fields: %(known)s.")
            % {**where, "field": str(field)[:40], "known": ", ".join(sorted(fields))}
        )
    if op not in OPS:
        raise _bad(
            _("Condition %(n)d: « %(op)s » is not an operator. Operators: %(ops)s.")
            % {**where, "op": str(op)[:40], "ops": ", ".join(OPS)}
        )
    value = condition.get("value")
    if op == "is_empty":
        if value not in (None, "", True):
            raise _bad(_("Condition %(n)d: is_empty takes no value.") % where)
        return {"field": field, "op": op}
    if op == "in":
        if not isinstance(value, list) or not value or len(value) > MAX_VALUES:
            raise _bad(
                _("Condition %(n)d: in takes a list of 1 to %(max)d values.")
                % {**where, "max": MAX_VALUES}
            )
        return {"field": field, "op": op, "value": [_check_value(v, where) for v in value]}
    checked = _check_value(value, where)
    if not checked:
        raise _bad(_("Condition %(n)d: the value is empty (for no value, use is_empty).") % where)
    return {"field": field, "op": op, "value": checked}


def _check_value(value: object, where: dict[str, int]) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _bad(_("Condition %(n)d: a value is a text.") % where)
    text = str(value).strip()
    if len(text) > MAX_VALUE:
        raise _bad(
            _("Condition %(n)d: a value has at most %(max)d characters.")
            % {**where, "max": MAX_VALUE}
        )
    try:
        check_typed(text, field="rule", label=_("A value"))
    except ControlCharacter:
        raise _bad(_("Condition %(n)d: a value contains an invisible character.") % where) from None
    return text


def _column(field: str) -> str:
    return field if field in BUILTIN_FIELDS else f"fields__{field}"


def _condition_q(c: dict[str, Any]) -> Q:
    column, op = _column(c["field"]), c["op"]
    if op == "equals":
        return Q(**{f"{column}__iexact": c["value"]})
    if op == "contains":
        return Q(**{f"{column}__icontains": c["value"]})
    if op == "starts_with":
        return Q(**{f"{column}__istartswith": c["value"]})
    if op == "in":
        q = Q()
        for value in c["value"]:
            q |= Q(**{f"{column}__iexact": value})
        return q
    # is_empty: a custom field absent (values are stored only when not empty) or empty
    if column.startswith("fields__"):
        return Q(**{f"{column}__isnull": True}) | Q(**{column: ""})
    return Q(**{column: ""})


def to_q(rule: dict[str, list[dict[str, Any]]]) -> Q:
    """The contacts a checked rule selects, as one filter."""
    ((mode, conditions),) = rule.items()
    q = Q()
    for c in conditions:
        q = (q & _condition_q(c)) if mode == "all" else (q | _condition_q(c))
    return q
