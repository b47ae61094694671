"""Control characters in text: refused when a person typed them, replaced when a network sent them.

A NUL (U+0000) cannot be stored by PostgreSQL at all (the request fails with a 500), and the
other C0/C1 controls have no business in a name, a number or an SMS: they hide text, break
terminals and CSV files. Line breaks and tabs are kept where a text may hold them.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from smsdesk.core.errors import ServiceError

# C0 and C1 controls, DEL, lone surrogates (invalid UTF-8 read with surrogateescape) and the
# Unicode non-characters U+FFFE/U+FFFF. Tab, LF and CR are allowed in multi-line text only.
_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
_IN_TEXT = re.compile(f"[{_CONTROLS}]")
_IN_LINE = re.compile(f"[{_CONTROLS}\t\n\r]")

REPLACEMENT = "\ufffd"  # what a reader sees where a network sent a control character


class ControlCharacter(ServiceError):
    code = "control_character"


def has_controls(value: str, *, multiline: bool = False) -> bool:
    return bool((_IN_TEXT if multiline else _IN_LINE).search(value))


def check_typed(value: str, *, field: str, label: str = "", multiline: bool = False) -> str:
    """`value` as typed, or ControlCharacter naming `field` (shown as `label`) when it holds a
    control character."""
    match = (_IN_TEXT if multiline else _IN_LINE).search(value)
    if match:
        raise ControlCharacter(
            _(
                "%(field)s contains an invisible control character (U+%(code)04X) at position "
                "%(position)d: remove it and type the text again."
            )
            % {"field": label or field, "code": ord(match.group()), "position": match.start() + 1},
            field=field,
        )
    return value


def from_network(value: str, *, multiline: bool = True) -> str:
    """`value` with each control character replaced by U+FFFD: what arrives from a network is
    always stored, never refused (the sender cannot be asked to type it again)."""
    return (_IN_TEXT if multiline else _IN_LINE).sub(REPLACEMENT, value)


def search_safe(value: str) -> str:
    """A search box's text without control characters (a NUL must not reach the database)."""
    return _IN_LINE.sub("", value)


def quoted(value: object) -> str:
    """`value` between the quotes of the language: “value” in English, « value » in French."""
    return _("“%(text)s”") % {"text": value}
