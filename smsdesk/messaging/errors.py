from __future__ import annotations

from smsdesk.core.errors import ServiceError


class InvalidNumbers(ServiceError):
    code = "invalid_number"

    def __init__(self, message: str, *, invalid: list[tuple[str, str]]) -> None:
        super().__init__(message, field="to")
        self.invalid = invalid  # (as typed, why) for each bad number


class FlashUnsupported(ServiceError):
    code = "flash_unsupported"


class NoRecipients(ServiceError):
    code = "no_recipients"


class TooManyRecipients(ServiceError):
    code = "too_many_recipients"


class EmptyText(ServiceError):
    code = "empty_text"


class TextTooLong(ServiceError):
    code = "text_too_long"


class SendAtInPast(ServiceError):
    code = "send_at_in_past"


class UnknownGateway(ServiceError):
    code = "unknown_gateway"


class NoLine(ServiceError):
    """The organisation has no line to send through (the provider has assigned none)."""

    code = "no_line"
    http_status = 409


class NotFound(ServiceError):
    code = "not_found"
    http_status = 404


class SendAtTooFar(ServiceError):
    code = "send_at_too_far"


class BadPlaceholder(ServiceError):
    code = "bad_placeholder"


class MissingFields(ServiceError):
    code = "missing_field"

    def __init__(self, message: str, *, missing: list[tuple[str, str]]) -> None:
        super().__init__(message, field="text")
        self.missing = missing  # (field, recipient as shown) for each recipient lacking one


class TagTooLong(ServiceError):
    code = "invalid_tag"


class BadExport(ServiceError):
    code = "bad_export"


class BadPeriod(ServiceError):
    code = "bad_period"


class InvalidRepeat(ServiceError):
    """A recurring send's rule that cannot fire (`field`: every, on, day, at, until, times)."""

    code = "invalid_repeat"


class InvalidAutoReply(ServiceError):
    code = "invalid_autoreply"


class QuotaExceeded(ServiceError):
    """A send over the organisation's daily or monthly quota: refused whole (429)."""

    code = "quota_exceeded"
    http_status = 429
    retry_after: int | None = None  # seconds until the quota renews (the API's Retry-After)


class RecipientLimitExceeded(ServiceError):
    """A send to more recipients than the organisation's or the API token's limit per day
    still allows: refused whole (429)."""

    code = "recipient_limit_exceeded"
    http_status = 429
    retry_after: int | None = None  # seconds to the next local midnight (Retry-After)
    limit: int | None = None  # the limit that refused (the RateLimit-* headers)
    remaining: int | None = None
