"""The message search (messaging/filters.py, messaging/words.py) on both databases: words through
the text index, numbers through the peer index, the same answers from the pages and the API."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import ApiToken, User
from smsdesk.directory import services as directory
from smsdesk.messaging import filters, receiving, sending, words
from smsdesk.messaging.models import Campaign, Message

pytestmark = pytest.mark.django_db

TEXTS = {
    "+33611111111": "Rendez-vous l'été prochain, à Noël",
    "+33622222222": "Bonjour, RDV demain 10h",
    "+33633333333": 'Un "devis" pour vous : 4521 * NEAR(x) OR -y 😀',
    "+33644444444": "Колобок и Ёлка",
    "BANK": "Votre code : 77881",
}


@pytest.fixture
def sent() -> None:
    for number, text in TEXTS.items():
        receiving.receive_inbound(
            gateway="sim", sender=number, text=text, received_at=timezone.now()
        )
    directory.create_contact(name="Martin", first_name="Zoé", number="+33622222222")


def found(search: str) -> set[str]:
    return set(filters.message_list(search=search).values_list("peer", flat=True))


@pytest.mark.parametrize(
    "search,peers",
    [
        ("ete", {"+33611111111"}),  # accents and case ignored
        ("ÉTÉ", {"+33611111111"}),
        ("l'été", {"+33611111111"}),  # the apostrophe separates words
        ("noel", {"+33611111111"}),
        ("rdv dem", {"+33622222222"}),  # every word, each as the start of a word
        ("dem rdv", {"+33622222222"}),
        ("rdv devis", set()),
        ("jour", set()),  # not the middle of a word
        ("bonj", {"+33622222222"}),
        ('"devis"', {"+33633333333"}),  # quotes are not syntax
        ("devis*", {"+33633333333"}),
        ("NEAR(x", {"+33633333333"}),
        ("OR", {"+33633333333"}),
        ("-y", {"+33633333333"}),
        ("ёлка", {"+33644444444"}),
        ("😀", set()),  # no letter or digit: no text matches
        ('"*' * 50, set()),
        ("é" * 100, set()),
        ("Zoé", {"+33622222222"}),  # a contact's name
        ("martin", {"+33622222222"}),
        ("bank", {"BANK"}),  # an alphanumeric sender
        ("4521", {"+33633333333"}),  # digits: a word of the text...
        ("2222", {"+33622222222"}),  # ...or anywhere in a number
        ("06 22 22", {"+33622222222"}),  # a number in any format
        ("+33 6 22 22 22 22", {"+33622222222"}),
        ("0033622222222", {"+33622222222"}),
        ("06.11.11", {"+33611111111"}),
    ],
)
def test_a_search_finds(sent, search: str, peers: set[str]) -> None:  # type: ignore[no-untyped-def]
    assert found(search) == peers


def test_a_number_written_as_a_number_is_searched_only_among_numbers(sent) -> None:  # type: ignore[no-untyped-def]
    receiving.receive_inbound(
        gateway="sim",
        sender="+33655555555",
        text="rappelle le 06 22 22 22 22",
        received_at=timezone.now(),
    )
    assert found("06 22 22 22 22") == {"+33622222222"}  # not the text quoting it


def test_a_number_search_is_one_range_on_the_peer(sent) -> None:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as queries:
        list(filters.message_list(search="06 22 22"))
    captured = queries.captured_queries
    sql = " ".join(q["sql"] for q in captured if "messaging_message" in q["sql"]).lower()
    assert '"messaging_message"."body"' not in sql.split(" from ", 1)[1]  # not the text
    assert "messaging_message_words" not in sql and "smsdesk_words" not in sql
    assert '"messaging_message"."peer" >=' in sql


def test_the_words_of_a_search() -> None:
    assert words.words("L'Été, l'ÉTÉ !") == ["l", "été"]
    assert words.words('"a" OR b* NEAR(c) -d') == ["a", "or", "b", "near", "c", "d"]
    assert words.words("😀 ** --") == []
    assert len(words.words("a " * 50)) == 1
    assert len(words.words(" ".join(str(i) for i in range(50)))) == words.MAX_WORDS


def test_a_message_is_searchable_as_soon_as_it_is_saved() -> None:
    sending.create_campaign(author=None, body="Soldes d'hiver", to=["0612345678"])
    received = receiving.receive_inbound(
        gateway="sim", sender="+33698765432", text="Il neige", received_at=timezone.now()
    )
    assert found("hiver") == {"+33612345678"} and found("neige") == {"+33698765432"}
    Message.objects.filter(id=received.id).update(body="autre chose")  # the CLI, an admin
    assert found("neige") == set() and found("autre") == {"+33698765432"}
    Message.objects.all().delete()
    Campaign.objects.all().delete()
    assert found("autre") == set() and found("hiver") == set()


def test_a_campaign_is_found_by_its_text_as_written() -> None:
    directory.create_contact(name="Martin", first_name="Zoé", number="+33612345678")
    sending.create_campaign(
        author=None, body="Bonne année {prénom|à vous}", to=["0612345678", "0698765432"]
    )
    both = {"+33612345678", "+33698765432"}
    assert found("année") == both and found("bonne annee") == both
    assert found("zoé") == {"+33612345678"}  # the name, through the contact


@pytest.fixture
def api(operator: User) -> Client:
    _token, raw = accounts.create_token(user=operator)
    ApiToken.objects.update(name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.mark.parametrize("search", ["ete", "06 22 22", "martin", "NEAR(", '"'])
def test_the_pages_and_the_api_find_the_same(
    sent, api: Client, client_bob: Client, search: str
) -> None:  # type: ignore[no-untyped-def]
    from_api = {
        m["to"] if m["direction"] == "out" else m["from"]
        for m in api.get("/api/v1/messages", {"q": search}).json()["messages"]
    }
    html = client_bob.get("/sms/received/", {"q": search}).content.decode()
    assert from_api == found(search)
    for number in TEXTS:
        assert (directory.display(number) in html) == (number in from_api) or number == "BANK"


@pytest.mark.parametrize("few", [0, 1, 3])
def test_common_words_find_the_same_as_rare_ones(monkeypatch, few: int) -> None:  # type: ignore[no-untyped-def]
    # Matches read by id, or kept aside while the list reads in its order: the same answer.
    for i in range(4):
        sending.create_campaign(author=None, body=f"Soldes n°{i}", to=[f"06123456{i:02d}"])
    sending.create_campaign(author=None, body="autre chose", to=["0699999999"])
    expected = {f"+336123456{i:02d}" for i in range(4)}
    monkeypatch.setattr(words, "FEW", few)
    assert found("sold") == expected
    assert found("soldes n") == expected
    page = filters.message_list(search="sold").order_by("-created_at", "-id")[:2]
    assert len(list(page)) == 2


@pytest.mark.parametrize("few", [0, 2, 5_000])
def test_a_word_of_another_organisation_is_not_carried_into_the_list(
    settings, monkeypatch, few: int
) -> None:  # type: ignore[no-untyped-def]
    # The index holds every organisation's words: the ids an organisation's list is given
    # are its own (the others' made PostgreSQL read the whole list for nothing), and the
    # answer is the same whether the word is rare (read by id) or common (kept aside).
    from smsdesk.accounts.models import Organisation
    from smsdesk.core import tenancy

    settings.SMSDESK_GATEWAYS = ["simulator", "sim-b=simulator?org=b"]
    a = tenancy.sole_organisation()
    b = Organisation.objects.create(name="B", slug="b")
    for i in range(3):
        receiving.receive_inbound(
            gateway="sim-b", sender=f"+3361111111{i}", text="parapluie", received_at=timezone.now()
        )
    sending.create_campaign(author=None, body="parapluie rouge", to=["0622222222"], org=b)
    receiving.receive_inbound(
        gateway="simulator", sender="+33633333333", text="un parapluie", received_at=timezone.now()
    )
    monkeypatch.setattr(words, "FEW", few)
    condition = words.match("parapluie", org=a)
    mine = set(Message.objects.for_org(a).filter(condition).values_list("peer", flat=True))
    assert mine == {"+33633333333"}
    theirs = set(
        Message.objects.for_org(b)
        .filter(words.match("parapl", org=b))
        .values_list("peer", flat=True)
    )
    assert theirs == {"+33611111110", "+33611111111", "+33611111112", "+33622222222"}
    if few >= 5:  # rare: the ids given are A's only
        b_ids = set(Message.objects.for_org(b).values_list("id", flat=True))
        given = {
            v
            for child in condition.children
            for v in (child[1] if isinstance(child, tuple) else [])
        }
        assert given and not given & b_ids
