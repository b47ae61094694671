"""The left-hand menu of the manual, with the current entry highlighted and the numbers the
apps register beside their entries (core/hooks.py: the unread SMS beside "SMS non lus").
Entries are url names: the menu is the manual's layout, it imports no app."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from smsdesk.core import hooks

# (section title or None, [(url name, label, icon)])
MENU = [
    (
        None,
        [
            ("dashboard:home", _("Home"), "house"),
            ("dashboard:statistics", _("Statistics"), "bar-chart-line"),
        ],
    ),
    (None, [("messaging:conversations", _("Conversations"), "chat-dots")]),
    (
        _("SMS"),
        [
            ("messaging:new", _("New SMS"), "pencil-square"),
            ("messaging:sent", _("Sent SMS"), "send"),
            ("messaging:scheduled", _("Scheduled SMS"), "clock"),
            ("messaging:campaigns", _("Campaigns"), "megaphone"),
            ("messaging:recurring", _("Recurring sends"), "arrow-repeat"),
            ("messaging:autoreplies", _("Auto-replies"), "reply-all"),
            ("messaging:received", _("Received SMS"), "inbox"),
            ("messaging:unread", _("Unread SMS"), "envelope"),
        ],
    ),
    (
        _("Directory"),
        [
            ("directory:contacts", _("Contacts"), "person-lines-fill"),
            ("directory:groups", _("Groups"), "people"),
        ],
    ),
    (
        _("Logs"),
        [
            ("optout:list", _("STOP SMS"), "slash-circle"),
            ("calls:list", _("Calls"), "telephone-inbound"),
        ],
    ),
]

# Pages that light up a menu entry other than their own.
PART_OF = {
    "accounts:users": ("accounts:user", "accounts:suspend"),
    "messaging:recurring": ("messaging:recurring_edit",),
    "messaging:scheduled": ("messaging:campaign_edit",),
    "webhooks:list": ("webhooks:detail", "webhooks:delete"),
}

# Shown to administrators only.
ADMIN_MENU = [
    (
        _("Administration"),
        [
            ("accounts:users", _("Users"), "person-gear"),
            ("worker:gateways", _("Gateways"), "broadcast"),
            ("webhooks:list", _("Webhooks"), "plug"),
            ("accounts:journal", _("Journal"), "journal-text"),
        ],
    )
]


# Shown to the platform administrator (the provider) only.
PLATFORM_MENU = [(_("Platform"), [("platform:home", _("Organisations"), "buildings")])]


def menu(request: HttpRequest) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    current = request.resolver_match.view_name if request.resolver_match else ""
    # the request's (a page answered before the organisation middleware: the user's own)
    org = getattr(request, "organisation", None) or getattr(request.user, "organisation", None)
    badges = hooks.menu_badges(org)
    sections = [
        (
            title,
            [
                {
                    "url": reverse(name),
                    "label": label,
                    "icon": icon,
                    "active": name == current or current in PART_OF.get(name, ()),
                    "badge": badges.get(name, 0),
                }
                for name, label, icon in items
            ],
        )
        for title, items in (
            (MENU if org is not None else [])
            + (ADMIN_MENU if getattr(request.user, "is_admin", False) else [])
            + (PLATFORM_MENU if getattr(request.user, "is_platform", False) else [])
        )
    ]
    return {"menu": sections, "notify_seconds": max(0, settings.SMSDESK_NOTIFY_SECONDS)}
