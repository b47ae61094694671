"""The STOP list: who asked never to be texted again."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from smsdesk.optout.models import OptOut


def blocked_among(numbers: Iterable[str]) -> set[str]:
    """The numbers (E.164) of `numbers` that are on the STOP list."""
    numbers = list(numbers)
    found: set[str] = set()
    for i in range(0, len(numbers), 900):  # stay under SQLite's bound-parameter limit
        chunk = numbers[i : i + 900]
        found.update(OptOut.objects.filter(number__in=chunk).values_list("number", flat=True))
    return found


def is_blocked(number: str) -> bool:
    return OptOut.objects.filter(number=number).exists()


def opt_out(number: str, *, source: str, keyword: str = "", by=None) -> tuple[OptOut, bool]:  # type: ignore[no-untyped-def]
    """Put `number` on the STOP list; returns (entry, created). Idempotent."""
    try:
        with transaction.atomic():
            return OptOut.objects.create(
                number=number, source=source, keyword=keyword[:160], by=by
            ), True
    except IntegrityError:
        return OptOut.objects.get(number=number), False
