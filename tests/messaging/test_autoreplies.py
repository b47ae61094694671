"""Keyword auto-replies: after STOP/START, once per delay, never to a STOP number."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from smsdesk.directory import services as directory
from smsdesk.messaging import autoreplies, errors, receiving
from smsdesk.messaging.models import AutoReply, AutoReplyHit, Message
from smsdesk.optout import services as optout
from smsdesk.optout.models import OptOut

OUT = Message.Direction.OUTBOUND
PEER = "+33612345678"


def inbound(text: str, *, sender: str = PEER, gateway: str = "simulator") -> Message | None:
    return receiving.receive_inbound(
        gateway=gateway, sender=sender, text=text, received_at=timezone.now()
    )


def answers(peer: str = PEER) -> list[str]:
    return list(
        Message.objects.filter(direction=OUT, peer=peer, opt_out_notice=False)
        .order_by("id")
        .values_list("body", flat=True)
    )


def rule(keyword: str = "horaires", **kw) -> AutoReply:  # type: ignore[no-untyped-def]
    kw.setdefault("text", "Ouvert de 9h à 18h.")
    return autoreplies.create_rule(by=None, keyword=keyword, **kw)


@pytest.mark.django_db
def test_a_keyword_is_answered_once_per_delay() -> None:
    rule(delay_minutes=60)
    inbound("Horaires ?")
    inbound("HORAIRES")  # within the delay: no second answer
    assert answers() == ["Ouvert de 9h à 18h."]
    assert Message.objects.get(direction=OUT).status == Message.Status.QUEUED
    AutoReplyHit.objects.update(last_at=timezone.now() - timedelta(minutes=61))
    inbound("horaires")
    assert len(answers()) == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "match, text, answered",
    [
        ("whole", "Horaires", True),
        ("whole", "  « HÖRAIRES » !", True),
        ("whole", "horaires svp", False),
        ("word", "horaires svp", True),
        ("word", "les horaires", False),
        ("contains", "quels sont les horaires ?", True),
        ("contains", "horairesX", False),
    ],
)
def test_matching_ignores_case_and_accents_as_stop_does(match, text, answered) -> None:  # type: ignore[no-untyped-def]
    rule(match=match)
    inbound(text)
    assert bool(answers()) is answered


@pytest.mark.django_db
def test_never_to_a_number_on_the_stop_list() -> None:
    rule(keyword="info", match="contains")
    optout.opt_out(PEER, source=OptOut.Source.MANUAL)
    inbound("info")
    assert answers() == []


@pytest.mark.django_db
def test_stop_and_start_stay_first_and_cannot_be_a_rule() -> None:
    rule(keyword="bonjour", match="contains")
    inbound("STOP")
    assert OptOut.objects.filter(number=PEER).exists()
    assert answers() == []  # only the STOP confirmation, if any
    for reserved in ("stop", "Arrêt", "START"):
        with pytest.raises(errors.InvalidAutoReply) as e:
            rule(keyword=reserved)
        assert e.value.field == "keyword"


@pytest.mark.django_db
def test_two_lines_answering_each_other_stop_after_the_delay() -> None:
    # Two smsdesk robots: our line "a" (+33600000001) and line "b" (+33600000002), each
    # answering anything that contains "bonjour" with "Bonjour !". Each answer sent by one
    # line arrives at the other: without the delay they would talk forever.
    rule(keyword="bonjour", match="contains", text="Bonjour !", delay_minutes=30)
    numbers = {"a": "+33600000001", "b": "+33600000002"}
    other = {"a": "b", "b": "a"}
    inbound("Bonjour", sender=numbers["a"], gateway="b")  # a writes to b first
    handled: set[int] = set()
    for _round in range(20):
        pending = Message.objects.filter(direction=OUT).exclude(id__in=handled)
        if not pending:
            break
        for sms in pending:
            handled.add(sms.id)
            line = sms.gateway_id
            inbound(sms.body, sender=numbers[line], gateway=other[line])
    assert Message.objects.filter(direction=OUT).count() == 2  # one answer per robot
    assert _round < 5


@pytest.mark.django_db
def test_fields_and_the_group() -> None:
    group = directory.create_group(name="Inscrits")
    rule(keyword="inscription", text="Merci {prénom|à vous}, {numéro}.", group=group.id)
    inbound("inscription")
    assert answers() == ["Merci à vous, 06 12 34 56 78."]
    assert list(group.contacts.values_list("number", flat=True)) == [PEER]


@pytest.mark.django_db
def test_rules_are_tried_in_order() -> None:
    first = rule(keyword="prix", match="contains", text="Tarifs : voir le site.")
    rule(keyword="prix promo", match="contains", text="Promo en cours !")
    assert autoreplies.try_text("prix promo").rule == first
    autoreplies.move_rule(first.id, by=None, up=False)
    assert autoreplies.try_text("prix promo").answer == "Promo en cours !"
    assert not Message.objects.exists()  # the test box sends nothing


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kw, field",
    [
        ({"keyword": ""}, "keyword"),
        ({"keyword": "!!!"}, "keyword"),
        ({"keyword": "a\x00b"}, "keyword"),
        ({"keyword": "x" * 61}, "keyword"),
        ({"match": "regex"}, "match"),
        ({"text": ""}, "text"),
        ({"text": "Bonjour {prénom}"}, "text"),
        ({"text": "x" * 5000}, "text"),
        ({"delay_minutes": 0}, "delay_minutes"),
        ({"delay_minutes": "1e3"}, "delay_minutes"),
        ({"delay_minutes": True}, "delay_minutes"),
        ({"gateway": "nowhere"}, "gateway"),
    ],
)
def test_hostile_rules_are_refused_and_nothing_is_stored(kw, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception) as e:
        rule(**{"keyword": "horaires", **kw})
    assert getattr(e.value, "field", None) == field
    assert not AutoReply.objects.exists()


@pytest.mark.django_db
def test_only_an_administrator_changes_the_rules(operator) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception) as e:
        autoreplies.create_rule(by=operator, keyword="x", text="y")
    assert getattr(e.value, "http_status", None) == 403
