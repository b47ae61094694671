"""`--org SLUG`: how every command that reads or writes a customer's data names its
organisation (needed only when the installation has more than one)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from smsdesk.accounts.models import Organisation


def add_org_argument(parser: Any) -> None:
    parser.add_argument(
        "--org",
        metavar="SLUG",
        default="",
        help="the organisation (its short name); needed only when there are several",
    )


def organisation_from(options: dict[str, Any]) -> Organisation:
    """The organisation `--org` names; without it, the only one. A wrong or missing one: a
    one-line error listing the short names, exit code 2."""
    slug = str(options.get("org") or "").strip()
    if slug:
        # a NUL byte: PostgreSQL refuses it (an error, not "no such row"); no slug holds one
        found = None if "\x00" in slug else Organisation.objects.filter(slug=slug[:50]).first()
        if found is None:
            raise CommandError(
                _("--org: no organisation “%(slug)s”. Known: %(slugs)s.")
                % {"slug": slug[:50].replace("\x00", ""), "slugs": _slugs()},
                returncode=2,
            )
        return found
    orgs = list(Organisation.objects.order_by("slug")[:2])
    if len(orgs) == 1:
        return orgs[0]
    if not orgs:
        from smsdesk.core.tenancy import sole_organisation

        return sole_organisation()
    raise CommandError(
        _("There are several organisations: say which one with --org SLUG (%(slugs)s).")
        % {"slugs": _slugs()},
        returncode=2,
    )


def _slugs() -> str:
    return ", ".join(Organisation.objects.order_by("slug").values_list("slug", flat=True)[:50])
