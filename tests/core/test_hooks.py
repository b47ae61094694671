"""core/hooks.py: what the apps above core register, so that core imports none of them."""

from __future__ import annotations

import pytest

from smsdesk.core import hooks, tenancy
from smsdesk.directory.templatetags.directory import peer_link
from smsdesk.messaging import links


def test_messaging_registers_the_conversation_as_where_a_number_leads() -> None:
    assert hooks.number_link("A/B") == links.conversation_url("A/B")
    assert links.conversation_url("A/B") == "/sms/conversations/with/?number=A%2FB"


def test_a_number_is_plain_text_when_no_app_offers_a_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hooks, "_number_link", [])
    assert "<a" not in peer_link("+33612345678", "Dupont")
    assert "Dupont" in peer_link("+33612345678", "Dupont")


@pytest.mark.django_db
def test_messaging_registers_the_unread_count_beside_its_menu_entry() -> None:
    assert hooks.menu_badges(tenancy.sole_organisation()) == {"messaging:unread": 0}
