"""core.bulk: many rows in, many rows read, exactly as the ORM would store them."""

from __future__ import annotations

import pytest
from django.utils import timezone

from smsdesk.core import tenancy
from smsdesk.core.bulk import SMALL, insert_one, insert_rows, select_among
from smsdesk.messaging.models import Campaign, Conversation, Message

AWKWARD = ["tab\there", "back\\slash \\N", "new\nline\r\nCRLF", "\\.", "é😀 « » {x}", ""]


# a few rows: one plain INSERT; more: COPY on PostgreSQL (both must store the same)
SIZES = pytest.mark.parametrize("copies", [1, SMALL // len(AWKWARD) + 1])


@pytest.mark.django_db
@SIZES
def test_awkward_text_goes_in_as_it_was(copies: int) -> None:
    # COPY's text format on PostgreSQL: each of these must be escaped, or it breaks the row
    now = timezone.now()
    template = Message(
        direction="out",
        body="constant\twith\\ a\nnewline",
        created_at=now,
        status_at=now,
        organisation=tenancy.sole_organisation(),
    )
    rows = [(f"+336123456{i:02d}", "queued", text) for i, text in enumerate(AWKWARD * copies)]
    insert_rows(Message, template, ["peer", "status", "error"], rows)
    stored = dict(Message.objects.values_list("peer", "error"))
    assert stored == {peer: text for peer, _s, text in rows}
    assert set(Message.objects.values_list("body", flat=True)) == {"constant\twith\\ a\nnewline"}
    assert all(m.created_at == now and m.due_at is None for m in Message.objects.all())


@pytest.mark.django_db
@pytest.mark.parametrize("more", [0, SMALL])
def test_an_upsert_updates_existing_rows_and_adds_new_ones(more: int) -> None:
    now = timezone.now()
    Conversation.objects.create(peer="+33612345670", last_at=now, last_body="old", unread_count=3)
    template = Conversation(
        last_at=now, last_body="", last_direction="out", organisation=tenancy.sole_organisation()
    )
    insert_rows(
        Conversation,
        template,
        ["peer", "last_body"],
        [("+33612345670", "new\tone"), ("+33612345671", "other\\")]
        + [(f"+336000000{i:02d}", "") for i in range(more)],
        conflict=["organisation", "peer"],
        update=["last_at", "last_body", "last_direction"],
    )
    Conversation.objects.filter(peer__startswith="+336000000").delete()
    got = {c.peer: (c.last_body, c.unread_count) for c in Conversation.objects.all()}
    assert got == {"+33612345670": ("new\tone", 3), "+33612345671": ("other\\", 0)}
    # twice in one transaction: the temporary table of the first call is gone
    insert_rows(
        Conversation,
        template,
        ["peer"],
        [("+33612345672",)],
        conflict=["organisation", "peer"],
        update=["last_at"],
    )
    assert Conversation.objects.count() == 3


@pytest.mark.django_db
def test_select_among_reads_only_the_keys_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    import smsdesk.core.bulk as bulk

    monkeypatch.setattr(bulk, "SELECT_CHUNK", 2)  # several queries, one answer
    now = timezone.now()
    for i in range(5):
        Conversation.objects.create(peer=f"+3361234567{i}", last_at=now, last_body=f"b{i}")
    keys = ["+33612345670", "+33612345673", "+33612345674", "+33699999999", "x' OR 1=1 --"]
    org = tenancy.sole_organisation()
    got = sorted(select_among(Conversation, "peer", keys, ["peer", "last_body"], org=org))
    assert got == [("+33612345670", "b0"), ("+33612345673", "b3"), ("+33612345674", "b4")]
    assert list(select_among(Conversation, "peer", [], ["peer"], org=org)) == []


@pytest.mark.django_db
def test_select_among_reads_json_keys_in_the_database() -> None:
    from smsdesk.directory.models import Contact

    Contact.objects.create(name="A", number="+33612345670", fields={"ville": "Lyon", "n": 5})
    Contact.objects.create(name="B", number="+33612345671", fields={})
    rows = sorted(
        select_among(
            Contact,
            "number",
            ["+33612345670", "+33612345671"],
            ["name"],
            json_keys=[("fields", "ville"), ("fields", "n"), ("fields", 'x"; DROP')],
            org=tenancy.sole_organisation(),
        )
    )
    assert [(r[0], r[1], str(r[2]) if r[2] is not None else None, r[3]) for r in rows] == [
        ("A", "Lyon", "5", None),
        ("B", None, None, None),
    ]


@pytest.mark.django_db
def test_a_few_rows_return_what_was_written_and_more_return_nothing() -> None:
    now = timezone.now()
    template = Message(
        direction="out",
        body="b",
        created_at=now,
        status_at=now,
        organisation=tenancy.sole_organisation(),
    )
    few = [(f"+3361234560{i}", "queued") for i in range(3)]
    written = insert_rows(Message, template, ["peer", "status"], few, returning=["id", "peer"])
    assert written is not None
    assert sorted(written) == sorted(Message.objects.values_list("id", "peer"))
    many = [(f"+336123457{i:02d}", "queued") for i in range(SMALL + 1)]
    assert insert_rows(Message, template, ["peer", "status"], many, returning=["id"]) is None
    assert Message.objects.count() == 3 + SMALL + 1


@pytest.mark.django_db
def test_insert_one_saves_as_save_does() -> None:
    org = tenancy.sole_organisation()
    campaign = Campaign(
        organisation=org, body="Bonjour", send_at=timezone.now(), targets={"numbers": 1}
    )
    insert_one(campaign)
    assert campaign.pk is not None and not campaign._state.adding
    stored = Campaign.objects.get(pk=campaign.pk)
    assert stored.created_at is not None  # auto_now_add, as save() would
    assert (stored.body, stored.targets, stored.tag) == ("Bonjour", {"numbers": 1}, "")
    campaign.tag = "x"
    campaign.save(update_fields=["tag"])  # an instance saved like any other
    assert Campaign.objects.get(pk=campaign.pk).tag == "x"
