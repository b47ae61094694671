"""Helpers shared by the forms of every app."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from smsdesk.core import bounds
from smsdesk.core.errors import ServiceError


def add_service_error(
    form: forms.Form, error: ServiceError, fields: Mapping[str, str] | None = None
) -> None:
    """Show a service's refusal on the form: each error beside its field (mapped from the
    service's name through `fields`), or above the form; all of them at once."""
    for e in getattr(error, "errors", [error]):
        name = (fields or {}).get(e.field or "", e.field)
        form.add_error(name if name in form.fields else None, str(e.message))


class StyledForm(forms.Form):
    """A form whose widgets carry Bootstrap's classes (red when the field has an error)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def add_error(self, field: str | None, error: Any) -> None:  # whatever Django's takes
        super().add_error(field, error)
        for name in self.errors:
            attrs = self.fields[name].widget.attrs if name in self.fields else {}
            if attrs and "is-invalid" not in attrs["class"]:
                attrs["class"] += " is-invalid"


class RowsChoiceField(forms.ModelMultipleChoiceField):
    """Ticked rows by id; an id no column can hold (2**63, "²") is refused as an unknown
    choice before the query (Django's own field sends it: OverflowError on SQLite)."""

    def clean(self, value: Any) -> QuerySet[Any]:
        for pk in value if isinstance(value, list | tuple) else ():
            if bounds.parse_id(str(pk)) is None:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": str(pk)[:40]},
                )
        return super().clean(value)
