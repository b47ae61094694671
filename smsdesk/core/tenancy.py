"""Tenancy: every row a customer owns belongs to one organisation, and is read through it.

The rule lives here, once. A customer model subclasses `OrgOwned` (a foreign key
`organisation`, indexed, PROTECT) and its manager is `OrgManager`. Product code reads it with

    Message.objects.for_org(org).filter(...)

and nothing else; the worker and the platform's figures, which must see every organisation,
say so with `.across_orgs()`. A query of a customer model created by smsdesk's own code and
evaluated with neither raises `UnscopedQuery` when `settings.SMSDESK_STRICT_TENANCY` is true
(the tests), and logs an error otherwise (production: a page keeps working while the log names
the place to fix). A query reached through a row (`campaign.messages.all()`) is scoped by that
row. Tests may read the database directly to check what was stored: a query built outside the
`smsdesk` package is not checked.

core imports no app: the organisation model is named by its label, "accounts.Organisation".
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Self

from django.conf import settings
from django.db import models

ORGANISATION_MODEL = "accounts.Organisation"
log = logging.getLogger(__name__)

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_DJANGO_DIR = os.path.dirname(os.path.abspath(models.__file__)).rsplit(os.sep, 2)[0]
_HERE = os.path.abspath(__file__)


class UnscopedQuery(RuntimeError):
    """A query of a customer's data that names no organisation (`for_org`) and does not say
    it reads across organisations (`across_orgs`)."""


class OrganisationRequired(RuntimeError):
    """A service was called without an organisation on an installation that has several."""


def _created_by_product() -> str | None:
    """Where (file:line) smsdesk's own code built the query, or None when the caller is
    outside the package (a test reading the database, Django's own machinery)."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(_DJANGO_DIR) or name == _HERE or "/migrations/" in name:
            frame = frame.f_back  # type: ignore[assignment]
            continue
        if name.startswith(_PACKAGE_DIR):
            return f"{os.path.relpath(name, _PACKAGE_DIR)}:{frame.f_lineno}"
        return None
    return None


class OrgQuerySet(models.QuerySet):
    """A queryset that knows whether it was scoped to one organisation."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._scoped: bool = False
        self._origin: str | None = None

    def _clone(self) -> Self:
        clone = super()._clone()  # type: ignore[misc]
        clone._scoped = self._scoped
        clone._origin = self._origin
        return clone

    def for_org(self, org: Any) -> Self:
        """The rows of `org` (an Organisation or its id) only."""
        if org is None:
            raise OrganisationRequired("for_org(None): an organisation is required")
        org_id = org if isinstance(org, int) else org.pk
        clone = self.filter(organisation_id=org_id)
        clone._scoped = True
        return clone

    def across_orgs(self) -> Self:
        """Every organisation's rows: the worker, the platform's figures. Say why where used."""
        clone = self._chain()  # type: ignore[attr-defined]
        clone._scoped = True
        return clone

    def _check_scope(self) -> None:
        if self._scoped or self._origin is None or "instance" in self._hints:  # type: ignore[attr-defined]
            return
        message = (
            f"{self.model._meta.label} queried without for_org() or across_orgs() "
            f"(built at {self._origin})"
        )
        if getattr(settings, "SMSDESK_STRICT_TENANCY", False):
            raise UnscopedQuery(message)
        log.error("unscoped query: %s", message)

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> Any:
        """Rows without an organisation get the only one (as `OrgOwned.save` does); with
        several organisations that is an error (OrganisationRequired)."""
        objs = list(objs)
        if any(o.organisation_id is None for o in objs):
            sole = sole_organisation()
            for o in objs:
                if o.organisation_id is None:
                    o.organisation_id = sole.pk
        return super().bulk_create(objs, *args, **kwargs)

    # Every way a queryset reaches the database goes through one of these.
    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._check_scope()
        super()._fetch_all()

    def iterator(self, chunk_size: int | None = None) -> Any:
        self._check_scope()
        return super().iterator(chunk_size)

    def count(self) -> int:
        if self._result_cache is None:
            self._check_scope()
        return super().count()

    def exists(self) -> bool:
        if self._result_cache is None:
            self._check_scope()
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._check_scope()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._check_scope()
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._check_scope()
        return super().delete()


class OrgManager(models.Manager.from_queryset(OrgQuerySet)):  # type: ignore[misc]
    """The manager of every customer model: `for_org(org)` or `across_orgs()`."""

    def get_queryset(self) -> OrgQuerySet:
        qs: OrgQuerySet = super().get_queryset()
        qs._origin = _created_by_product()
        return qs


def sole_organisation(model: type[models.Model] | None = None) -> Any:
    """The organisation of a single-customer installation (the default one, created when the
    database has none: a freshly flushed test database); OrganisationRequired when there are
    several."""
    from django.apps import apps

    organisation = apps.get_model(ORGANISATION_MODEL)
    found = list(organisation.objects.order_by("id")[:2])
    if len(found) > 1:
        raise OrganisationRequired(
            "there are several organisations: say which one (--org SLUG on the command line)"
        )
    if found:
        return found[0]
    return organisation.objects.get_or_create(slug="default", defaults={"name": "default"})[0]


def org_id(org: Any) -> int:
    """The id of `org` (an Organisation or already its id)."""
    return org if isinstance(org, int) else int(org.pk)


def resolve(org: Any) -> Any:
    """`org` when given, else the only organisation (single-customer installation)."""
    return org if org is not None else sole_organisation()


class OrgOwned(models.Model):
    """A row a customer owns. Subclass it, use `OrgManager`, read through `for_org`."""

    # Indexed by each model's own indexes, which all lead with it (the lists filter by it
    # first): tests/core/test_tenancy.py checks that every customer model has one.
    organisation = models.ForeignKey(
        ORGANISATION_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    objects = OrgManager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.organisation_id is None:
            self.organisation = sole_organisation()
        super().save(*args, **kwargs)


def is_org_owned(model: type[models.Model]) -> bool:
    return issubclass(model, OrgOwned)


def of_request(request: Any) -> Any:
    """The organisation of a request: the user's (accounts.middleware), the token's (the
    API), or the one a platform administrator entered."""
    return request.organisation
