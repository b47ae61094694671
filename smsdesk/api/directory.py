"""REST API v1: contacts and groups, on the same services as the Répertoire pages."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status

from smsdesk.api.schemas import (
    COUNT_EXACT_HELP,
    COUNT_HELP,
    MAX_ID,
    METADATA_HELP,
    METADATA_PARAM,
    ErrorOut,
    MetadataIn,
    RowId,
    StrictIn,
)
from smsdesk.core import metadata
from smsdesk.core.lists import MAX_CURSOR, Order, api_count, keyset_page
from smsdesk.directory import services
from smsdesk.directory.models import Contact, Group

router = Router(tags=["directory"])

ID = Path(..., ge=1, le=MAX_ID)  # every id in a path
AFTER_HELP = "pass it as `after` for the next page; null on the last page"
# Keyset pages on the indexes contact_name and the unique group name (core/lists.py).
CONTACT_ORDER = Order("name", ("name", "id"), descending=False)
GROUP_ORDER = Order("name", ("name",), descending=False)


class ContactIn(StrictIn):
    name: str = Field(..., max_length=400)
    number: str = Field(..., max_length=64, description="E.164 or national format")
    first_name: str = Field("", max_length=200)
    fields: dict[str, str] = Field(default_factory=dict, description="custom fields by key")
    groups: list[RowId] = Field(default_factory=list, max_length=1000, description="group ids")
    metadata: MetadataIn = Field(None, description=METADATA_HELP)


class ContactPatch(StrictIn):
    name: str | None = Field(None, max_length=400)
    number: str | None = Field(None, max_length=64)
    first_name: str | None = Field(None, max_length=200)
    fields: dict[str, str] | None = Field(None, description="replaces all custom fields")
    groups: list[RowId] | None = Field(None, max_length=1000, description="replaces the groups")
    metadata: MetadataIn = Field(None, description="replaces all the metadata")


class ContactOut(Schema):
    id: int
    name: str
    first_name: str
    number: str
    fields: dict[str, str]
    groups: list[int]
    metadata: dict[str, str] = Field(default_factory=dict, description=METADATA_HELP)


class ContactPage(Schema):
    count: int = Field(..., description=COUNT_HELP)
    count_exact: bool = Field(..., description=COUNT_EXACT_HELP)
    next_cursor: str | None = Field(..., description=AFTER_HELP)
    contacts: list[ContactOut]


RULE_HELP = (
    'a dynamic group: {"all" | "any": [{"field", "op", "value"}]}, ops equals, contains, '
    "starts_with, is_empty, in (README, Dynamic groups); its members are the contacts matching "
    "it when it is read"
)


class GroupIn(StrictIn):
    name: str = Field(..., max_length=400)
    contacts: list[RowId] = Field(default_factory=list, max_length=100_000)
    rule: dict | None = Field(None, description=RULE_HELP)


class GroupPatch(StrictIn):
    name: str | None = Field(None, max_length=400)
    add: list[RowId] = Field(default_factory=list, max_length=100_000)
    remove: list[RowId] = Field(default_factory=list, max_length=100_000)
    contacts: list[RowId] | None = Field(None, max_length=100_000, description="replaces members")
    rule: dict | None = Field(None, description="replaces a dynamic group's rule")


class GroupOut(Schema):
    id: int
    name: str
    size: int
    rule: dict | None = Field(None, description="null: members chosen one by one")


class GroupPage(Schema):
    count: int = Field(..., description=COUNT_HELP)
    count_exact: bool = Field(..., description=COUNT_EXACT_HELP)
    next_cursor: str | None = Field(..., description=AFTER_HELP)
    groups: list[GroupOut]


def _contact_out(c: Contact) -> dict:
    return {
        "id": c.id,
        "name": c.name,
        "first_name": c.first_name,
        "number": c.number,
        "fields": c.fields,
        "groups": [g.id for g in c.groups.all()],
        "metadata": c.metadata or {},
    }


def _group_out(g: Group) -> dict:
    size = getattr(g, "size", None)
    if g.rule is not None or size is None:
        size = services.group_size(g)
    return {"id": g.id, "name": g.name, "size": size, "rule": g.rule}


ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


@router.get(
    "/contacts",
    response={200: ContactPage, 401: ErrorOut, 422: ErrorOut},
    summary="Contacts, by name",
    openapi_extra={"parameters": [METADATA_PARAM]},
)
def list_contacts(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    q: str = Query("", max_length=100, description="name or number, any format"),
    after: str = Query("", max_length=MAX_CURSOR, description="the previous page's next_cursor"),
    limit: int = Query(100, ge=1, le=1000),
):
    qs = metadata.matching(
        services.contact_list(q, org=request.organisation), metadata.wanted(request.GET)
    )
    page = keyset_page(
        qs.prefetch_related("groups"), CONTACT_ORDER, per_page=limit, after=after, count=False
    )
    return {
        **api_count(qs),
        "next_cursor": page.next_cursor if page.has_next else None,
        "contacts": [_contact_out(c) for c in page],
    }


@router.post("/contacts", response={201: ContactOut, **ERRORS}, summary="Add a contact")
def create_contact(request: HttpRequest, payload: ContactIn):  # type: ignore[no-untyped-def]
    contact = services.create_contact(**payload.dict(), org=request.organisation)
    return Status(201, _contact_out(contact))


@router.get(
    "/contacts/{contact_id}",
    response={200: ContactOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def get_contact(request: HttpRequest, contact_id: int = ID):  # type: ignore[no-untyped-def]
    return _contact_out(services.get_contact(contact_id, org=request.organisation))


@router.patch("/contacts/{contact_id}", response={200: ContactOut, **ERRORS})
def update_contact(request: HttpRequest, payload: ContactPatch, contact_id: int = ID):  # type: ignore[no-untyped-def]
    return _contact_out(
        services.update_contact(contact_id, **payload.dict(), org=request.organisation)
    )


@router.delete(
    "/contacts/{contact_id}", response={204: None, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
)
def delete_contact(request: HttpRequest, contact_id: int = ID):  # type: ignore[no-untyped-def]
    services.get_contact(contact_id, org=request.organisation)
    services.delete_contacts([contact_id], org=request.organisation)
    return Status(204, None)


@router.get(
    "/groups", response={200: GroupPage, 401: ErrorOut, 422: ErrorOut}, summary="Groups, with sizes"
)
def list_groups(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    q: str = Query("", max_length=100),
    after: str = Query("", max_length=MAX_CURSOR, description="the previous page's next_cursor"),
    limit: int = Query(100, ge=1, le=1000),
):
    qs = services.group_list(q, org=request.organisation)
    page = keyset_page(qs, GROUP_ORDER, per_page=limit, after=after, count=False)
    return {
        **api_count(qs),
        "next_cursor": page.next_cursor if page.has_next else None,
        "groups": [_group_out(g) for g in page],
    }


@router.post("/groups", response={201: GroupOut, **ERRORS}, summary="Add a group")
def create_group(request: HttpRequest, payload: GroupIn):  # type: ignore[no-untyped-def]
    return Status(
        201, _group_out(services.create_group(**payload.dict(), org=request.organisation))
    )


@router.get(
    "/groups/{group_id}", response={200: GroupOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
)
def get_group(request: HttpRequest, group_id: int = ID):  # type: ignore[no-untyped-def]
    return _group_out(services.get_group(group_id, org=request.organisation))


@router.patch("/groups/{group_id}", response={200: GroupOut, **ERRORS})
def update_group(request: HttpRequest, payload: GroupPatch, group_id: int = ID):  # type: ignore[no-untyped-def]
    return _group_out(services.update_group(group_id, **payload.dict(), org=request.organisation))


@router.delete(
    "/groups/{group_id}", response={204: None, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
)
def delete_group(request: HttpRequest, group_id: int = ID):  # type: ignore[no-untyped-def]
    services.get_group(group_id, org=request.organisation)
    services.delete_groups([group_id], org=request.organisation)
    return Status(204, None)
