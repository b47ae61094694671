from __future__ import annotations

from smsdesk.core.errors import ServiceError


class InvalidNumber(ServiceError):
    code = "invalid_number"


class AlreadyOptedOut(ServiceError):
    code = "already_opted_out"
    http_status = 409


class NotOptedOut(ServiceError):
    code = "not_opted_out"
    http_status = 404


class ReasonRequired(ServiceError):
    code = "reason_required"


class AdminOnly(ServiceError):
    code = "forbidden"
    http_status = 403


class BadConfirmation(ServiceError):
    code = "bad_confirmation"
