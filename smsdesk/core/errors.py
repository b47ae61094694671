"""Base of every error a service raises: one shape for the web, the API and the CLI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


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


class ServiceErrors(ServiceError):
    """Several refusals at once, so a form shows every error in one go.

    Reads as its first error (code, field) for a caller that shows one; `errors` has them all.
    """

    def __init__(self, errors: list[ServiceError]) -> None:
        super().__init__(" ".join(str(e.message) for e in errors), field=errors[0].field)
        self.errors = errors
        self.code = errors[0].code
        self.http_status = errors[0].http_status

    def as_dict(self) -> dict[str, str | None]:
        return self.errors[0].as_dict() | {"message": str(self.message)}


def collect(*checks: Callable[[], Any]) -> list[Any]:
    """Run each check (a callable); raise every ServiceError they raise together, or return
    their results in order."""
    results: list[Any] = []
    failures: list[ServiceError] = []
    for check in checks:
        try:
            results.append(check())
        except ServiceErrors as e:
            failures.extend(e.errors)
        except ServiceError as e:
            failures.append(e)
    if len(failures) == 1:
        raise failures[0]
    if failures:
        raise ServiceErrors(failures)
    return results
