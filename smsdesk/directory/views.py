from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext_lazy
from django.views.decorators.http import require_POST

from smsdesk.accounts import access
from smsdesk.core import bounds
from smsdesk.core.errors import ServiceError
from smsdesk.core.lists import Column, paginate, search_text, sort_order, table_page
from smsdesk.directory import exports, imports, invalid, services, uploads
from smsdesk.directory.forms import ContactFieldForm, ContactForm, GroupForm, ImportForm
from smsdesk.directory.models import Group

MAX_SELECTED = 1000  # boxes ticked in one list page at most (the page shows 100)
PREVIEW_ROWS = 20


def _ids(values: list[str]) -> list[int]:
    return bounds.ids(values, limit=MAX_SELECTED)


def _form_error(form, e: ServiceError) -> None:  # type: ignore[no-untyped-def]
    form.add_error(e.field if e.field in form.fields else None, e.message)


# --- contacts -------------------------------------------------------------------------------


def contacts(request: HttpRequest) -> HttpResponse:
    columns = [
        # indexes contact_name, contact_first_name and the unique number
        Column(_("Contact name"), "name", ("name", "id")),
        Column(_("First name"), "first_name", ("first_name", "name", "id")),
        Column(_("Number"), "number", ("number",)),
        Column(_("Groups")),
    ]
    q = search_text(request)
    qs = services.contact_list(q, org=request.organisation).prefetch_related("groups")
    context = paginate(request, qs, sort_order(request, columns, "name"))
    return render(request, "directory/contacts.html", {"q": q, "columns": columns, **context})


def contact(request: HttpRequest, contact_id: int) -> HttpResponse:
    person = _get(request, services.get_contact, contact_id)
    return render(
        request,
        "directory/contact.html",
        {
            "contact": person,
            "groups": person.groups.all(),
            "custom": [
                (f.label, person.fields.get(f.key, ""))
                for f in services.custom_fields(org=request.organisation)
            ],
        },
    )


def _get(request, getter, object_id: int):  # type: ignore[no-untyped-def]
    """A row of the user's organisation: another's answers exactly as a missing one."""
    from django.http import Http404

    try:
        return getter(object_id, org=request.organisation)
    except ServiceError as e:
        raise Http404(e.message) from None


def contact_new(request: HttpRequest) -> HttpResponse:
    return _contact_form(request, None)


def contact_edit(request: HttpRequest, contact_id: int) -> HttpResponse:
    return _contact_form(request, _get(request, services.get_contact, contact_id))


def _contact_form(request: HttpRequest, person) -> HttpResponse:  # type: ignore[no-untyped-def]
    custom = services.custom_fields(org=request.organisation)
    initial = {}
    if person is not None:
        initial = {
            "name": person.name,
            "first_name": person.first_name,
            "number": services.display(person.number),
            "groups": person.groups.all(),
            **{f"field_{f.key}": person.fields.get(f.key, "") for f in custom},
        }
    form = ContactForm(
        request.POST or None, initial=initial, custom=custom, org=request.organisation
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        values = {
            "name": data["name"],
            "first_name": data["first_name"],
            "number": data["number"],
            "fields": form.field_values(),
            "groups": [g.id for g in data["groups"]],
        }
        try:
            if person is None:
                person = services.create_contact(**values, org=request.organisation)
            else:
                person = services.update_contact(person.id, **values, org=request.organisation)
        except ServiceError as e:
            _form_error(form, e)
        else:
            messages.success(request, _("Contact “%(name)s” saved.") % {"name": person.full_name})
            return redirect("directory:contact", contact_id=person.id)
    status = 400 if form.errors else 200
    return render(
        request, "directory/contact_form.html", {"form": form, "contact": person}, status=status
    )


def contacts_delete(request: HttpRequest) -> HttpResponse:
    """Delete ticked contacts (or one): a confirmation page, then the deletion."""
    ids = _ids(request.POST.getlist("contact") or request.GET.getlist("contact"))
    chosen = list(services.contact_list(org=request.organisation).filter(id__in=ids))
    if not chosen:
        messages.info(request, _("Tick the contacts to delete first."))
        return redirect("directory:contacts")
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        count = services.delete_contacts([c.id for c in chosen], org=request.organisation)
        messages.success(
            request,
            ngettext("%(count)d contact deleted.", "%(count)d contacts deleted.", count)
            % {"count": count},
        )
        return redirect("directory:contacts")
    return render(request, "directory/contacts_delete.html", {"chosen": chosen})


def export(request: HttpRequest) -> HttpResponse:
    qs = services.contact_list(search_text(request), org=request.organisation)
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    if request.GET.get("format") == "json":
        response = StreamingHttpResponse(
            exports.json_chunks(qs), content_type="application/json; charset=utf-8"
        )
        name = f"contacts-{stamp}.json"
    else:
        response = StreamingHttpResponse(
            exports.csv_chunks(qs, org=request.organisation), content_type="text/csv; charset=utf-8"
        )
        name = f"contacts-{stamp}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def import_upload(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > imports.max_bytes():
            form.add_error("file", imports.too_big(upload.size).message)
        else:
            data = upload.read()
            try:
                imports.decode(data)  # refuse empty or binary files at once, on this page
            except ServiceError as e:
                form.add_error("file", e.message)
            else:
                try:
                    token = uploads.save(data, user_id=request.user.id, filename=upload.name)
                except ServiceError as e:
                    form.add_error("file", e.message)
                else:
                    url = redirect("directory:import_preview", token=token).url
                    group = form.cleaned_data["group"].strip()
                    return redirect(f"{url}?{urlencode({'group': group})}" if group else url)
    return render(
        request,
        "directory/import.html",
        {"form": form, "max_size": imports._megabytes(imports.max_bytes())},
        status=400 if form.errors else 200,
    )


def import_preview(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST" and request.POST.get("cancel"):
        uploads.discard(token, user_id=request.user.id)
        messages.info(request, _("Import cancelled: the file was removed from the server."))
        return redirect("directory:import")
    try:
        data, filename = uploads.load(token, user_id=request.user.id)
    except ServiceError as e:
        messages.error(request, e.message)
        return redirect("directory:import")
    group = (request.POST.get("group") or request.GET.get("group") or "").strip()[:200]
    try:
        if request.method == "POST":
            result = imports.apply(
                data, group=group, org=request.organisation, by=request.user, name=filename
            )
        else:
            result = imports.plan(data, group=group, org=request.organisation)
    except ServiceError as e:
        uploads.discard(token)
        messages.error(request, e.message)
        return redirect("directory:import")
    if request.method == "POST":
        uploads.discard(token)
        messages.success(
            request,
            _(
                "Import done: %(create)d contacts created, %(update)d updated, %(skip)d "
                "skipped, %(reject)d rejected."
            )
            % result.counts(),
        )
        if result.invalid_report is not None:
            return redirect("directory:invalid", report_id=result.invalid_report.id)
        return redirect("directory:contacts")
    return render(
        request,
        "directory/import_preview.html",
        {
            "token": token,
            "filename": filename,
            "plan": result,
            "group": group,
            "summary": imports.summary_line(result),
            "ignored": imports.ignored_note(result),
            "create": result.create[:PREVIEW_ROWS],
            "update": result.update[:PREVIEW_ROWS],
            "duplicates": result.duplicates[:PREVIEW_ROWS],
            "rejected": result.rejected[:1000],
            "preview_rows": PREVIEW_ROWS,
            "delimiter": {";": ";", ",": ",", "\t": _("tab")}.get(result.delimiter, ""),
        },
    )


# --- custom fields (administrators) ---------------------------------------------------------


@access.admin_required
def fields(request: HttpRequest) -> HttpResponse:
    form = ContactFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            field = services.create_field(
                label=form.cleaned_data["label"],
                key=form.cleaned_data["key"],
                by=request.user,
                org=request.organisation,
            )
        except ServiceError as e:
            form.add_error(None, e.message)
        else:
            messages.success(request, _("Field “%(label)s” added.") % {"label": field.label})
            return redirect("directory:fields")
    return render(
        request,
        "directory/fields.html",
        {"form": form, "fields": services.custom_fields(org=request.organisation)},
    )


@require_POST
@access.admin_required
def field_delete(request: HttpRequest, field_id: int) -> HttpResponse:
    services.delete_field(field_id, by=request.user, org=request.organisation)
    messages.success(request, _("Field deleted (values already stored stay in the contacts)."))
    return redirect("directory:fields")


# --- groups ---------------------------------------------------------------------------------


def groups(request: HttpRequest) -> HttpResponse:
    columns = [
        Column(_("Group name"), "name", ("name",)),  # unique, so indexed
        Column(_("Contacts")),  # a count per group: no index can order by it
    ]
    q = search_text(request)
    context = paginate(
        request,
        services.group_list(q, org=request.organisation),
        sort_order(request, columns, "name"),
    )
    return render(request, "directory/groups.html", {"q": q, "columns": columns, **context})


def group_new(request: HttpRequest) -> HttpResponse:
    form = GroupForm(request.POST or None)
    chosen = _chosen_contacts(request)
    if request.method == "POST" and form.is_valid():
        try:
            group = services.create_group(
                name=form.cleaned_data["name"],
                contacts=[c.id for c in chosen],
                org=request.organisation,
            )
        except ServiceError as e:
            _form_error(form, e)
        else:
            messages.success(request, _("Group “%(name)s” saved.") % {"name": group.name})
            return redirect("directory:groups")
    return render(
        request,
        "directory/group_form.html",
        {"form": form, "picked": [(c.id, c.full_name) for c in chosen]},
        status=400 if form.errors else 200,
    )


def _chosen_contacts(request: HttpRequest) -> list:  # type: ignore[type-arg]
    """Contacts picked with the type-ahead (or ticked in the contact list)."""
    source = request.POST if request.method == "POST" else request.GET
    ids = _ids(source.getlist("contacts") or source.getlist("contact"))
    return list(services.contact_list(org=request.organisation).filter(id__in=ids))


@require_POST
def group_pick(request: HttpRequest) -> HttpResponse:
    """The manual: tick a group on the right, then "Modifier" (or delete the ticked ones)."""
    ids = _ids(request.POST.getlist("group"))
    if request.POST.get("action") == "delete" and ids:
        chosen = list(Group.objects.for_org(request.organisation).filter(id__in=ids))
        return render(request, "directory/groups_delete.html", {"chosen": chosen})
    if not ids:
        messages.info(request, _("Tick one group, then click “Edit”."))
        return redirect("directory:groups")
    if len(ids) > 1:
        messages.info(
            request,
            _(
                "You ticked %(count)d groups: “Edit” changes one at a time, tick only one "
                "(“Delete” takes several)."
            )
            % {"count": len(ids)},
        )
        return redirect("directory:groups")
    return redirect("directory:group_edit", group_id=ids[0])


MEMBERS_SHOWN = 200


def group_edit(request: HttpRequest, group_id: int) -> HttpResponse:
    group = _get(request, services.get_group, group_id)
    if group.rule is not None:
        return dynamic_group_form(request, group)
    form = GroupForm(request.POST or None, initial={"name": group.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.update_group(
                group.id,
                name=form.cleaned_data["name"],
                add=[c.id for c in _chosen_contacts(request)],
                remove=_unticked(request),
                org=request.organisation,
            )
        except ServiceError as e:
            _form_error(form, e)
        else:
            messages.success(
                request, _("Group “%(name)s” saved.") % {"name": form.cleaned_data["name"]}
            )
            return redirect("directory:groups")
    members = group.contacts.order_by("name", "id")
    return render(
        request,
        "directory/group_form.html",
        {
            "form": form,
            "group": group,
            "members": members[:MEMBERS_SHOWN],
            "member_count": members.count(),
            "members_shown": MEMBERS_SHOWN,
            "picked": [(c.id, c.full_name) for c in _chosen_contacts(request)]
            if request.method == "POST"
            else [],
        },
        status=400 if form.errors else 200,
    )


# --- dynamic groups -------------------------------------------------------------------------

RULE_ROWS = 4  # conditions shown on the editor


def _posted_rule(data) -> dict:  # type: ignore[no-untyped-def]
    """The editor's rows as a rule (directory/rules.py checks it): rows without a field are
    left out; `in` takes values separated by commas."""
    conditions = []
    for i in range(RULE_ROWS):
        field, op = data.get(f"field-{i}", ""), data.get(f"op-{i}", "")
        if not field:
            continue
        value: object = data.get(f"value-{i}", "")
        if op == "in":
            value = [v.strip() for v in str(value).split(",") if v.strip()]
        conditions.append(
            {"field": field, "op": op, **({} if op == "is_empty" else {"value": value})}
        )
    return {"any" if data.get("mode") == "any" else "all": conditions}


def _rule_rows(rule: dict | None) -> list[dict]:
    conditions = next(iter(rule.values())) if rule else []
    rows = [
        {
            "field": c["field"],
            "op": c["op"],
            "value": ", ".join(c["value"])
            if isinstance(c.get("value"), list)
            else c.get("value", ""),
        }
        for c in conditions
    ]
    return (rows + [{"field": "", "op": "equals", "value": ""}] * RULE_ROWS)[:RULE_ROWS]


def dynamic_group_new(request: HttpRequest) -> HttpResponse:
    return dynamic_group_form(request, None)


def dynamic_group_form(request: HttpRequest, group: Group | None) -> HttpResponse:
    """A group defined by conditions on the contacts' fields; its count shown live."""
    form = GroupForm(request.POST or None, initial={"name": group.name if group else ""})
    rule = (
        _posted_rule(request.POST) if request.method == "POST" else (group.rule if group else None)
    )
    if request.method == "POST" and form.is_valid():
        try:
            if group is None:
                saved = services.create_group(
                    name=form.cleaned_data["name"], rule=rule, org=request.organisation
                )
            else:
                saved = services.update_group(
                    group.id, name=form.cleaned_data["name"], rule=rule, org=request.organisation
                )
        except ServiceError as e:
            _form_error(form, e)
        else:
            messages.success(request, _("Group « %(name)s » saved.") % {"name": saved.name})
            return redirect("directory:groups")
    return render(
        request,
        "directory/dynamic_group_form.html",
        {
            "form": form,
            "group": group,
            "rows": _rule_rows(rule),
            "mode": next(iter(rule)) if rule else "all",
            "fields": [
                ("name", _("Contact name")),
                ("first_name", _("First name")),
                ("number", _("Number")),
            ]
            + [(f.key, f.label) for f in services.custom_fields(org=request.organisation)],
            "ops": OPS,
        },
        status=400 if form.errors else 200,
    )


OPS = [
    ("equals", pgettext_lazy("rule operator", "is")),
    ("contains", pgettext_lazy("rule operator", "contains")),
    ("starts_with", pgettext_lazy("rule operator", "starts with")),
    ("is_empty", pgettext_lazy("rule operator", "is empty")),
    ("in", pgettext_lazy("rule operator", "is one of (commas)")),
]


@require_POST
def dynamic_group_count(request: HttpRequest) -> HttpResponse:
    """The live count of the editor (htmx): how many contacts the rule selects now."""
    try:
        org = request.organisation
        rule = services.check_rule(_posted_rule(request.POST), org=org)
        count = services.rule_members(rule, org=org).count()
    except ServiceError as e:
        return render(request, "directory/_rule_count.html", {"error": e.message})
    return render(request, "directory/_rule_count.html", {"count": count})


def _unticked(request: HttpRequest) -> list[int]:
    """Members shown on the form whose box was unticked."""
    kept = set(_ids(request.POST.getlist("keep")))
    return [cid for cid in _ids(request.POST.getlist("shown")) if cid not in kept]


@require_POST
def groups_delete(request: HttpRequest) -> HttpResponse:
    ids = _ids(request.POST.getlist("group"))
    count = services.delete_groups(ids, org=request.organisation)
    messages.success(
        request,
        ngettext(
            "%(count)d group deleted (its contacts are kept).",
            "%(count)d groups deleted (their contacts are kept).",
            count,
        )
        % {"count": count},
    )
    return redirect("directory:groups")


# --- type-ahead -----------------------------------------------------------------------------


def suggest(request: HttpRequest, kind: str) -> HttpResponse:
    """Suggestions for the pickers of New SMS and the group form (an htmx fragment)."""
    q = request.GET.get("q", "")
    if kind == "groups":
        found = [
            (g.id, g.name, ngettext("%(n)d contact", "%(n)d contacts", n) % {"n": n})
            for g in services.suggest_groups(q, org=request.organisation)
            for n in (services.group_size(g) if g.rule is not None else g.size,)
        ]
    else:
        found = [
            (c.id, c.full_name, services.display(c.number))
            for c in services.suggest_contacts(q, org=request.organisation)
        ]
    return render(
        request,
        "directory/_suggestions.html",
        {"found": found, "kind": kind, "too_short": len(q.strip()) < services.MIN_SUGGEST},
    )


# --- the invalid numbers of a send or an import (directory/invalid.py) ---------------------


def _campaign_id(report) -> int | None:  # type: ignore[no-untyped-def]
    try:
        return int(report.campaign.id)
    except ObjectDoesNotExist:
        return None


def invalid_numbers(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _get(request, invalid.get_report, report_id)
    columns = [
        Column(_("Line"), "line", ("id",)),  # lines were kept in their order
        Column(_("Number as given")),
        Column(_("Why")),
    ]
    if report.kind == invalid.Kind.SEND:
        title = _("Invalid numbers of a send")
    else:
        title = _("Invalid numbers of a contact import")
    return table_page(
        request,
        title=title,
        queryset=invalid.numbers_of(report),
        search=lambda qs, q: qs.filter(number__icontains=q),
        columns=columns,
        default_sort="line",
        row=lambda n: (n.line or "", n.number, invalid.reason_text(n)),
        empty=_("No number matches this search."),
        template="directory/invalid.html",
        extra={
            "report": report,
            "campaign_id": _campaign_id(report),
            "may_clean": not access.is_read_only(request.user),
        },
    )


def invalid_csv(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _get(request, invalid.get_report, report_id)
    response = StreamingHttpResponse(
        invalid.csv_chunks(report), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime(report.created_at).strftime("%Y-%m-%d")
    name = f"invalid-numbers-{report.id}-{stamp}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def invalid_cleanup(request: HttpRequest, report_id: int) -> HttpResponse:
    """Remove from the contacts the numbers of a report: a confirmation naming how many
    contacts, then the deletion (of those contacts only if they are still the same count)."""
    report = _get(request, invalid.get_report, report_id)
    back = reverse("directory:invalid", args=[report.id])
    if request.method == "POST" and request.POST.get("confirmed") == "1":
        expected = bounds.parse_id(request.POST.get("expected", "")) or 0
        try:
            count = invalid.remove_contacts(
                report.id, by=request.user, expected=expected, org=request.organisation
            )
        except ServiceError as e:
            messages.error(request, e.message)
            return redirect(back)
        messages.success(
            request,
            ngettext("%(count)d contact deleted.", "%(count)d contacts deleted.", count)
            % {"count": count},
        )
        return redirect(back)
    if access.is_read_only(request.user):
        raise PermissionDenied(_("A read-only account cannot delete contacts."))
    ids = invalid.contacts_to_remove(report)
    return render(
        request,
        "directory/invalid_cleanup.html",
        {"report": report, "count": len(ids), "back": back},
    )
