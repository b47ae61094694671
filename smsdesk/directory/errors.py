from __future__ import annotations

from smsdesk.core.errors import ServiceError


class InvalidNumber(ServiceError):
    code = "invalid_number"


class NumberTaken(ServiceError):
    """One contact per number: the message names who already has it."""

    code = "number_taken"
    http_status = 409

    def __init__(self, message: str, *, contact_id: int) -> None:
        super().__init__(message, field="number")
        self.contact_id = contact_id


class InvalidField(ServiceError):
    code = "invalid_field"


class GroupNameTaken(ServiceError):
    code = "group_name_taken"
    http_status = 409


class NotFound(ServiceError):
    code = "not_found"
    http_status = 404


class UnknownTargets(ServiceError):
    code = "unknown_target"


class ImportRefused(ServiceError):
    """The whole file is refused (empty, binary, too big, no number column)."""

    code = "import_refused"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="file")


class UploadsFull(ImportRefused):
    """The user already has as many files waiting as SMSDESK_UPLOADS_* allow."""

    code = "uploads_full"


class ImportExpired(ServiceError):
    code = "import_expired"
    http_status = 404


class InvalidRule(ServiceError):
    """A dynamic group's rule that cannot be stored: the message says which condition."""

    code = "invalid_rule"


class ContactsChanged(ServiceError):
    """The contacts a cleanup would delete are not those the person confirmed."""

    code = "contacts_changed"
    http_status = 409
