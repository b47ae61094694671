"""Base of every error a service raises: one shape for the web, the API and the CLI."""

from __future__ import annotations


class ServiceError(Exception):
    """A refusal a user can act on. `message` is translated and says what to fix;
    `field` names the input at fault (None when it is not about one field)."""

    code = "invalid"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "field": self.field, "message": str(self.message)}
