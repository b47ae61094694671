"""Organisations (*Espaces clients*): created, suspended and resumed by the platform
administrator (the provider), who also assigns them lines. Used by the platform pages and by
`smsdesk org`."""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import LineAssignment, Organisation
from smsdesk.audit import services as audit
from smsdesk.audit.models import Action
from smsdesk.core import text
from smsdesk.core.errors import ServiceError, collect
from smsdesk.gateways import registry
from smsdesk.messaging import gateway_state, lines

MAX_NAME = 100
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,49}")


class OrganisationError(ServiceError):
    code = "invalid_organisation"


class UnknownOrganisation(OrganisationError):
    code = "not_found"
    http_status = 404


def check_name(name: str) -> str:
    name = text.check_typed(str(name).strip(), field="name", label=_("Name"))
    if not name:
        raise OrganisationError(_("An organisation needs a name."), field="name")
    if len(name) > MAX_NAME:
        raise OrganisationError(
            _("A name has at most %(max)d characters.") % {"max": MAX_NAME}, field="name"
        )
    return name


def check_slug(slug: str) -> str:
    slug = str(slug).strip()
    if not SLUG.fullmatch(slug):
        raise OrganisationError(
            _(
                "A short name has 1 to 50 lower-case letters, digits and dashes, and starts "
                "with a letter or a digit (e.g. cabinet-martin)."
            ),
            field="slug",
        )
    if Organisation.objects.filter(slug=slug).exists():
        raise OrganisationError(
            _("The short name %(slug)s is taken.") % {"slug": slug}, field="slug"
        )
    return slug


def check_time_zone(zone: str) -> str:
    zone = str(zone).strip()
    if not zone:
        return ""
    if len(zone) > 64 or zone not in zoneinfo.available_timezones():
        raise OrganisationError(
            _("Unknown time zone “%(zone)s”: give one like Europe/Paris.") % {"zone": zone[:64]},
            field="time_zone",
        )
    return zone


def check_language(language: str) -> str:
    language = str(language).strip()
    if not language:
        return ""
    known = [code for code, _name in settings.LANGUAGES]
    if language not in known:
        raise OrganisationError(
            _("Unknown language “%(language)s”: one of %(known)s.")
            % {"language": language[:8], "known": ", ".join(known)},
            field="language",
        )
    return language


@transaction.atomic
def create_organisation(
    *, name: str, slug: str = "", time_zone: str = "", language: str = ""
) -> Organisation:
    """A new organisation, empty; its short name made from its name when none is given."""
    name = check_name(name)
    slug = slug or slugify(name)[:50].strip("-") or "org"
    slug, time_zone, language = collect(
        lambda: check_slug(slug),
        lambda: check_time_zone(time_zone),
        lambda: check_language(language),
    )
    try:
        with transaction.atomic():
            return Organisation.objects.create(
                name=name, slug=slug, time_zone=time_zone, language=language
            )
    except IntegrityError:  # the same short name created meanwhile
        check_slug(slug)
        raise


def get_organisation(slug: str) -> Organisation:
    # a NUL byte is refused by PostgreSQL (an error, not "no such row"): no slug holds one
    found = (
        None if "\x00" in str(slug) else Organisation.objects.filter(slug=str(slug)[:50]).first()
    )
    if found is None:
        raise UnknownOrganisation(
            _("No organisation “%(slug)s”.") % {"slug": str(slug)[:50].replace("\x00", "")},
            field="slug",
        )
    return found


@transaction.atomic
def set_active(org: Organisation, *, active: bool) -> Organisation:
    """Suspend (its users cannot log in, its tokens answer 401, its waiting messages are
    held: the worker claims none of them) or resume it (they go out again)."""
    org.is_active = active
    org.save(update_fields=["is_active"])
    lines.forget_held()
    return org


def check_senders(value: object) -> str:
    """A shared line's sender names or numbers for one organisation, separated by commas
    (the first sends): each a number (up to 20 digits, + allowed) or a name of 1 to 11
    letters, digits, space, . _ -."""
    names = [n.strip() for n in str(value or "").split(",") if n.strip()]
    if not names:
        raise OrganisationError(
            _(
                "A shared line needs this organisation's sender name or number "
                "(e.g. CABINET or +33612345678)."
            ),
            field="sender",
        )
    for name in names:
        if not registry.SENDER.fullmatch(name):
            raise OrganisationError(
                _(
                    "“%(name)s” is not a sender: a number (up to 20 digits) or a name of 1 to "
                    "11 letters, digits, spaces, . _ -."
                )
                % {"name": name[:40]},
                field="sender",
            )
    return ",".join(names)


@transaction.atomic
def assign_line(
    org: Organisation, line: str, *, share: bool = False, sender: str = ""
) -> LineAssignment:
    """Give line `line` (a gateway of SMSDESK_GATEWAYS, by name) to `org`: to it alone, or
    with `share` beside the organisations it has already, `org` sending and receiving with
    its own `sender` names or numbers (messaging/lines.py). A line of a kind with one number
    (a modem) cannot be shared; nor one whose organisations the configuration names."""
    specs = {s.name: s for s in gateway_state.configured()}
    spec = specs.get(line)
    if spec is None:
        raise OrganisationError(
            _("No line named “%(line)s”. Lines: %(names)s.")
            % {"line": str(line)[:50], "names": ", ".join(specs)},
            field="line",
        )
    if not share:
        LineAssignment.objects.filter(line=line).exclude(organisation=org).delete()
        assignment, _created = LineAssignment.objects.update_or_create(
            line=line, organisation=org, defaults={"sender": ""}
        )
        return assignment
    if not registry.shareable(spec.kind):
        raise OrganisationError(
            _(
                "The line %(line)s is a %(kind)s: it has one number and cannot tell which "
                "organisation an SMS was sent to, so it cannot be shared. Give it to one "
                "organisation, or share an SMPP line or an HTTP provider."
            )
            % {"line": line, "kind": spec.kind},
            field="line",
        )
    if spec.org:
        raise OrganisationError(
            _(
                "The configuration (SMSDESK_GATEWAYS, org=) says whose line %(line)s is: "
                "share it there (org=a,b&sender.a=NAME&sender.b=NAME)."
            )
            % {"line": line},
            field="line",
        )
    names = check_senders(sender)
    taken = {
        registry.norm_sender(n)
        for other in LineAssignment.objects.filter(line=line).exclude(organisation=org)
        for n in other.sender.split(",")
        if n.strip()
    }
    if any(registry.norm_sender(n) in taken for n in names.split(",")):
        raise OrganisationError(
            _("Another organisation of the line %(line)s already has this sender.")
            % {"line": line},
            field="sender",
        )
    assignment, _created = LineAssignment.objects.update_or_create(
        line=line, organisation=org, defaults={"sender": names}
    )
    return assignment


MAX_QUOTA = accounts.MAX_QUOTA
_check_quota = accounts.check_quota  # one rule for an organisation's quota and a user's


def _check_recipients(value: object, field: str) -> int:
    return accounts.whole_limit(
        value,
        field,
        _("A limit of recipients per day is a whole number from 0 (no limit) to %(max)d.")
        % {"max": MAX_QUOTA},
        OrganisationError,
    )


@transaction.atomic
def set_quota(
    org: Organisation,
    *,
    per_day: object = None,
    per_month: object = None,
    recipients_per_day: object = None,
) -> Organisation:
    """The SMS parts `org` may send per local day and per month, and the recipients its
    sends may reach per local day (0: no limit); None keeps what is set. A send over any is
    refused whole (messaging/quotas.py)."""
    day, month, recipients = collect(
        lambda: org.quota_day if per_day is None else _check_quota(per_day, "per_day"),
        lambda: org.quota_month if per_month is None else _check_quota(per_month, "per_month"),
        lambda: (
            org.recipients_day
            if recipients_per_day is None
            else _check_recipients(recipients_per_day, "recipients_per_day")
        ),
    )
    org.quota_day, org.quota_month, org.recipients_day = day, month, recipients
    org.save(update_fields=["quota_day", "quota_month", "recipients_day"])
    return org


MAX_RETENTION_MONTHS = 1200  # a hundred years: more is a typing mistake


def _check_retention_months(value: object) -> int:
    text_value = str(value if value is not None else "").strip()
    if not text_value:
        return 0
    if not (text_value.isascii() and text_value.isdigit()) or int(text_value) > (
        MAX_RETENTION_MONTHS
    ):
        raise OrganisationError(
            _(
                "A retention is a whole number of months from 0 (the platform's: "
                "%(platform)s) to %(max)d."
            )
            % {"platform": settings.SMSDESK_RETENTION_MONTHS or "-", "max": MAX_RETENTION_MONTHS},
            field="retention_months",
        )
    return int(text_value)


def _check_retention_mode(value: object) -> str:
    text_value = str(value if value is not None else "").strip()
    if text_value not in Organisation.Retention.values:
        raise OrganisationError(
            _("The retention mode is “delete” or “mask”."), field="retention_mode"
        )
    return text_value


def retention_text(org: Organisation) -> str:
    """The months `org`'s data is kept, in words: its own, the platform's, or for ever."""
    if org.retention_months:
        return _("%(n)d months") % {"n": org.retention_months}
    if settings.SMSDESK_RETENTION_MONTHS:
        return _("%(n)d months (the platform's)") % {"n": settings.SMSDESK_RETENTION_MONTHS}
    return _("kept for ever (the platform's)")


@transaction.atomic
def set_retention(org: Organisation, *, months: object = None, mode: object = None) -> Organisation:
    """How long `org`'s messages, calls and audit entries are kept (0: the platform's
    SMSDESK_RETENTION_MONTHS) and what happens then (deleted, or the text blanked and the
    number masked: retention/services.py); None keeps what is set. Recorded in the audit log."""
    new_months, new_mode = collect(
        lambda: org.retention_months if months is None else _check_retention_months(months),
        lambda: org.retention_mode if mode is None else _check_retention_mode(mode),
    )
    before = {"retention_months": org.retention_months, "retention_mode": org.retention_mode}
    org.retention_months, org.retention_mode = new_months, new_mode
    org.save(update_fields=["retention_months", "retention_mode"])
    audit.record(
        Action.SETTINGS,
        org,
        before=before,
        after={"retention_months": new_months, "retention_mode": new_mode},
        label=org.slug,
        org=org,
    )
    return org


def organisations() -> list[Organisation]:
    return list(Organisation.objects.order_by("name", "id"))


def is_multi() -> bool:
    """Whether the installation has more than one organisation (only then does the word
    appear anywhere)."""
    return Organisation.objects.count() > 1


def overview() -> list[dict]:
    """Every organisation with the platform's figures of it: SMS sent this month (from the
    maintained counters, not the messages), its lines, its users. A few grouped queries,
    whatever the number of organisations."""
    from django.db.models import Count, Sum

    from smsdesk.accounts.models import User
    from smsdesk.messaging.models import CountDelta, DailyCount

    first = timezone.localdate().replace(day=1)
    sent: dict[int, int] = {}
    parts: dict[int, int] = {}
    by_line: dict[int, dict[str, int]] = {}
    for model in (DailyCount, CountDelta):  # the platform's figures: every organisation
        rows = (
            model.objects.across_orgs()
            .filter(day__gte=first, event="sent")
            .values_list("organisation_id", "gateway")
            .annotate(n=Sum("count"), p=Sum("parts"))
            .order_by()
        )
        for org_id, gateway, n, p in rows:
            sent[org_id] = sent.get(org_id, 0) + int(n or 0)
            parts[org_id] = parts.get(org_id, 0) + int(p or 0)
            mine = by_line.setdefault(org_id, {})
            mine[gateway] = mine.get(gateway, 0) + int(p or 0)
    users = dict(
        User.objects.exclude(organisation=None)
        .values_list("organisation_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    owners = lines.owners()
    shared = lines.shared()
    return [
        {
            "org": org,
            "sent_this_month": sent.get(org.pk, 0),
            "parts_this_month": parts.get(org.pk, 0),
            "parts_by_line": sorted(by_line.get(org.pk, {}).items()),
            "lines": sorted(lines_text(org.pk, owners, shared)),
            "users": users.get(org.pk, 0),
        }
        for org in organisations()
    ]


def lines_text(org_id: int, owners: dict[str, int], shared: dict[str, Any]) -> list[str]:
    """`org`'s lines as the platform shows them: a shared line with its senders,
    "garage (shared: GARAGE)"."""
    found = []
    for name, owner in owners.items():
        senders = next((s for o, s in shared.get(name, ()) if o == org_id), None)
        if senders is not None:
            found.append(
                _("%(line)s (shared: %(senders)s)") % {"line": name, "senders": ", ".join(senders)}
            )
        elif owner == org_id and name not in shared:
            found.append(name)
    return found
