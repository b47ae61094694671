"""Typed errors of the SMS domain. Reasons are short English phrases; the services above
translate them into what a user should fix."""

from __future__ import annotations


class SmsError(ValueError):
    code = "sms_error"


class InvalidNumber(SmsError):
    code = "invalid_number"

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(f"{value!r}: {reason}")
        self.value = value
        self.reason = reason


class EmptyText(SmsError):
    code = "empty_text"

    def __init__(self) -> None:
        super().__init__("the text is empty")


class TextTooLong(SmsError):
    code = "text_too_long"

    def __init__(self, segments: int, max_segments: int) -> None:
        super().__init__(f"the text takes {segments} SMS, at most {max_segments} are allowed")
        self.segments = segments
        self.max_segments = max_segments


class PduError(SmsError):
    """A PDU that cannot be read, or a message that cannot be encoded as one (TS 23.040)."""

    code = "pdu_error"
