"""Personalised texts: `{field}` and `{field|default text}` replaced by each recipient's values.

A tiny renderer that runs no code and reads no attribute: the text is cut into literal pieces
and field names once (`parse`), then each recipient's text is those pieces joined with the
values found under the names (`render`). Neither Django templates nor `str.format` see the
user's text, so `{0.__class__}` or `{% load %}` are just unknown names or plain text.

Syntax (README, "Textes personnalisés"):
- `{prénom}`: the value of the field `prénom` (names are compared without case);
- `{prénom|cher client}`: the value, or `cher client` when the recipient has none;
- `{{` and `}}`: a literal `{` and `}`.
A `{` that opens no field, a field never closed, or a lone `}` is an error with its position,
so that a typo is never sent as is to thousands of people.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

MAX_NAME = 40
# A field name: letters (accents too), digits, "_" and "-", as ContactField keys and labels.
_NAME = re.compile(r"^[^\W_][\w\- ]*$")


class PlaceholderError(ValueError):
    """The text is not well formed. `reason` is one of the REASONS keys (translated at the
    edge), `position` the 0-based index of the character at fault, `excerpt` what is there."""

    REASONS = ("unclosed", "unopened", "bad_name", "nested")

    def __init__(self, reason: str, position: int, excerpt: str) -> None:
        super().__init__(f"{reason} at {position}: {excerpt}")
        self.reason = reason
        self.position = position
        self.excerpt = excerpt


class MissingField(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass(frozen=True)
class Field:
    name: str  # as written
    default: str | None = None  # None: no default, a missing value is an error

    @property
    def key(self) -> str:
        return field_key(self.name)


@dataclass(frozen=True)
class Template:
    parts: tuple[str | Field, ...]

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(p for p in self.parts if isinstance(p, Field))

    @property
    def has_fields(self) -> bool:
        return bool(self.fields)


def valid_name(name: str) -> bool:
    """Whether `{name}` can name a field (a column title of a file of recipients)."""
    return 0 < len(name) <= MAX_NAME and bool(_NAME.match(name))


def field_key(name: str) -> str:
    """How names are compared: `{Prénom}` and `{prénom}` are one field."""
    return " ".join(name.split()).casefold()


def parse(text: str) -> Template:
    parts: list[str | Field] = []
    literal: list[str] = []
    i = 0
    length = len(text)
    while i < length:
        char = text[i]
        if char == "{" and text.startswith("{{", i):
            literal.append("{")
            i += 2
        elif char == "}" and text.startswith("}}", i):
            literal.append("}")
            i += 2
        elif char == "}":
            raise PlaceholderError("unopened", i, text[max(0, i - 10) : i + 1])
        elif char == "{":
            end = text.find("}", i + 1)
            if end == -1:
                raise PlaceholderError("unclosed", i, text[i : i + 20])
            inside = text[i + 1 : end]
            if "{" in inside:
                raise PlaceholderError("nested", i, text[i : end + 1][:50])
            name, bar, default = inside.partition("|")
            name = name.strip()
            if not valid_name(name):
                raise PlaceholderError("bad_name", i, text[i : end + 1][:50])
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(Field(name, default if bar else None))
            i = end + 1
        else:
            literal.append(char)
            i += 1
    if literal:
        parts.append("".join(literal))
    return Template(tuple(parts))


def render(template: Template, values: Mapping[str, str]) -> str:
    """The text for one recipient. `values` is keyed by `field_key`; an empty or blank value
    counts as missing. Raises MissingField for a field without value nor default."""
    out: list[str] = []
    for part in template.parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = (values.get(part.key) or "").strip()
        if not value:
            if part.default is None:
                raise MissingField(part.name)
            value = part.default
        out.append(value)
    return "".join(out)
