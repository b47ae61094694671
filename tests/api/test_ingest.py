"""Single-message ingest (issue 19): what the speed work must not lose. Group commit hands
each thread its own result or refusal, after the commit, in its own language; the token's
row is read at every request (a token revoked or a user suspended elsewhere is refused at
once, whatever this process kept); the rate counted in leases never lets more than the rate
through, another process's count included. Speed itself is in bench/api.py."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone, translation

from smsdesk.accounts import services, tokens
from smsdesk.accounts.models import ApiToken, LineAssignment, Organisation, User
from smsdesk.core.groupcommit import GroupCommit
from smsdesk.messaging import errors, sending
from smsdesk.messaging.models import Campaign, GatewayState, Message

SEND = {"to": ["0612345678"], "text": "Bonjour"}


def bearer(raw: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.mark.django_db(transaction=True)
def test_a_group_commits_together_and_each_gets_its_own_answer() -> None:
    group = GroupCommit()
    first_running = threading.Event()
    others_queued = threading.Event()
    results: dict[int, object] = {}

    def work(i: int) -> object:
        if i == 0:
            first_running.set()
            others_queued.wait(30)  # the others arrive while this one holds the transaction
        if i == 3:
            # a refusal in the middle of a group undoes its own work only
            return sending.create_campaign(author=None, body="", to=["0612345678"])
        campaign = sending.create_campaign(author=None, body=f"n{i}", to=[f"061234560{i}"])
        return (campaign.id, translation.get_language())  # the asking thread's

    def thread(i: int) -> None:
        if i:
            first_running.wait(30)
        translation.activate("en" if i % 2 else "fr")
        try:
            results[i] = group.run(lambda: work(i))
            # answered after the commit: another connection sees it
        except errors.EmptyText as e:
            results[i] = e
        finally:
            connection.close()

    threads = [threading.Thread(target=thread, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    while len(group._queue) < 7 and threads[0].is_alive():
        time.sleep(0.01)
    others_queued.set()
    for t in threads:
        t.join(60)
    assert isinstance(results[3], errors.EmptyText)
    ok = {i: r for i, r in results.items() if i != 3}
    assert len(ok) == 7
    for i, (campaign_id, language) in ok.items():  # type: ignore[misc]
        assert language == ("en" if i % 2 else "fr")
        assert Campaign.objects.filter(id=campaign_id, body=f"n{i}").exists()
    assert Message.objects.count() == 7  # the refused one left nothing
    # the first alone, then the six others in one transaction with the refused one
    assert (group.batches, group.jobs) == (2, 8)


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_the_work_runs_at_once() -> None:
    from django.db import transaction

    group = GroupCommit()
    with transaction.atomic():
        campaign = group.run(
            lambda: sending.create_campaign(author=None, body="x", to=["0612345678"])
        )
        transaction.set_rollback(True)
    assert group.batches == 0
    assert not Campaign.objects.filter(id=campaign.id).exists()


@pytest.mark.django_db
def test_a_token_revoked_in_another_process_is_refused_at_once(operator: User) -> None:
    token, raw = services.create_token(user=operator)
    client = bearer(raw)
    assert client.post("/api/v1/messages", SEND, content_type="application/json").status_code == 201
    # another process revokes it: no signal, no cache of ours told
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {ApiToken._meta.db_table} WHERE id = %s", [token.id])  # noqa: S608
    refused = client.post("/api/v1/messages", SEND, content_type="application/json")
    assert refused.status_code == 401


@pytest.mark.django_db
def test_a_user_suspended_or_demoted_elsewhere_loses_the_token_at_once(admin_user: User) -> None:
    User.objects.create_user("zoe", password="x" * 12, role=User.Role.ADMIN)
    _t, raw = services.create_token(user=admin_user)
    client = bearer(raw)
    assert client.get("/api/v1/webhooks").status_code == 200
    User.objects.filter(id=admin_user.id).update(role=User.Role.OPERATOR)  # no signal
    assert client.get("/api/v1/webhooks").status_code == 403
    User.objects.filter(id=admin_user.id).update(is_active=False)
    assert client.get("/api/v1/messages").status_code == 401


@pytest.mark.django_db
def test_the_rate_counts_what_other_processes_took(operator: User, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_API_RATE = 100  # leases of 10
    token, raw = services.create_token(user=operator)
    tokens.forget()
    client = bearer(raw)
    codes = []
    for _ in range(3):
        second = int(time.time())
        # other processes took 95 of this second's 100
        ApiToken.objects.filter(id=token.id).update(rate_second=second, rate_count=95)
        tokens.forget()
        codes = [client.get("/api/v1/messages").status_code for _ in range(8)]
        if int(time.time()) == second:  # all in the same second: the count applies
            break
    assert codes == [200] * 5 + [429] * 3
    ApiToken.objects.filter(id=token.id).update(rate_second=int(time.time()) - 5)
    tokens.forget()
    assert client.get("/api/v1/messages").status_code == 200  # a new second, a new count


@pytest.mark.django_db
def test_a_line_paused_or_given_away_elsewhere_counts_at_the_next_send(  # type: ignore[no-untyped-def]
    operator: User, settings
) -> None:
    # A send reads its organisation's lines once (issue 19): still at every send, so an
    # administrator's pause or assignment in another process (no signal here) counts at once.
    settings.SMSDESK_GATEWAYS = [
        "free=simulator?priority=1&delivery_delay=0",
        "orange=simulator?priority=5&delivery_delay=0",
    ]
    _t, raw = services.create_token(user=operator)
    client = bearer(raw)

    def line_of_next_send() -> str:
        answer = client.post("/api/v1/messages", SEND, content_type="application/json")
        assert answer.status_code == 201, answer.content
        [shown] = answer.json()["messages"]
        stored = Message.objects.get(id=shown["id"])
        assert (shown["line"], shown["status"]) == (stored.gateway_id, stored.status)
        return stored.gateway_id

    assert line_of_next_send() == "orange"  # the highest priority
    GatewayState.objects.filter(name="orange").update(paused_at=timezone.now())
    assert line_of_next_send() == "free"
    GatewayState.objects.filter(name="orange").update(paused_at=None)
    assert line_of_next_send() == "orange"
    other = Organisation.objects.bulk_create([Organisation(name="Other", slug="other")])[0]
    LineAssignment.objects.bulk_create([LineAssignment(line="orange", organisation=other)])
    assert line_of_next_send() == "free"  # orange is another organisation's now


@pytest.mark.django_db(transaction=True)
def test_a_refusal_alone_in_its_group_keeps_nothing_and_reaches_its_thread() -> None:
    # a group of one runs without a savepoint: its refusal rolls back the transaction
    group = GroupCommit()

    def written_then_refused() -> None:
        sending.create_campaign(author=None, body="y", to=["0612345678"])
        raise errors.EmptyText("refused after its writes")

    with pytest.raises(errors.EmptyText):
        group.run(written_then_refused)
    campaign = group.run(lambda: sending.create_campaign(author=None, body="x", to=["0612345679"]))
    assert (group.batches, group.jobs) == (2, 2)
    assert list(Campaign.objects.values_list("id", flat=True)) == [campaign.id]
    assert Message.objects.get().peer == "+33612345679"


@pytest.mark.django_db(transaction=True)
def test_a_send_counts_its_quota_last_and_a_refusal_keeps_none_of_its_writes(
    operator: User, settings
) -> None:
    # The organisation's counters (one row for all its sends) are locked from the quota's
    # statement to the commit: that statement is the send's last write, so that concurrent
    # sends do not queue on it while each writes its campaign, message, conversation and
    # audit entry (issue 19). Counted last, a refusal must still undo all of those.
    from django.test.utils import CaptureQueriesContext

    from smsdesk.audit.models import Entry
    from smsdesk.messaging.models import Conversation, QuotaUse

    _t, raw = services.create_token(user=operator)
    client = bearer(raw)
    Organisation.objects.update(quota_day=3)
    first = {"to": ["0612345670"], "text": "Bonjour"}  # the token's and the line's first use
    assert (
        client.post("/api/v1/messages", first, content_type="application/json").status_code == 201
    )
    with CaptureQueriesContext(connection) as queries:
        sent = client.post("/api/v1/messages", SEND, content_type="application/json")
    assert sent.status_code == 201
    statements = [q["sql"] for q in queries.captured_queries]
    begin = next(i for i, sql in enumerate(statements) if sql.startswith("BEGIN"))
    quota = next(i for i, sql in enumerate(statements) if i > begin and "quota" in sql)
    after = statements[quota:]
    assert not [s for s in after if s.startswith("INSERT") and "quotause" not in s], after
    assert any("messaging_quotause" in s for s in after), after
    if settings.SMSDESK_API_GROUP_COMMIT:  # SQLite's default: the reads before the write lock
        stop_list = next(i for i, sql in enumerate(statements) if "optout_optout" in sql)
        assert stop_list < begin, statements
    # what a send costs (bench/RESULTS.md): the token, 4 reads, the writes, the quota's
    # lock, usage and count, the transaction
    assert len(statements) <= 16, statements
    campaigns = Campaign.objects.count()
    entries = Entry.objects.count()
    # two of the day's three parts are used: a message of two parts goes over the quota
    two_parts = {"to": ["0612345699"], "text": "x" * 200}
    refused = client.post("/api/v1/messages", two_parts, content_type="application/json")
    assert refused.status_code == 429, refused.content
    assert Campaign.objects.count() == campaigns
    assert Entry.objects.count() == entries
    assert not Message.objects.filter(peer="+33612345699").exists()
    assert not Conversation.objects.filter(peer="+33612345699").exists()
    assert sum(QuotaUse.objects.filter(period__startswith="d").values_list("parts", flat=True)) == 2


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_a_refusal_undoes_its_own_work_only() -> None:
    # an Idempotency-Key holds the request in a transaction: the send's refusal (its quota,
    # counted after its writes) must not leave its writes in it
    from django.db import transaction

    group = GroupCommit()

    def written_then_refused() -> None:
        sending.create_campaign(author=None, body="y", to=["0612345678"])
        raise errors.EmptyText("refused after its writes")

    with transaction.atomic():
        kept = sending.create_campaign(author=None, body="x", to=["0612345679"])
        with pytest.raises(errors.EmptyText):
            group.run(written_then_refused)
    assert list(Campaign.objects.values_list("id", flat=True)) == [kept.id]
    assert Message.objects.get().peer == "+33612345679"


@pytest.mark.django_db(transaction=True)
def test_on_sqlite_a_group_waits_its_turn_on_the_writers_file() -> None:
    # the leaders of several processes queue on a lock file beside the database (woken when
    # the previous one is done) rather than on SQLite's sleeping busy handler
    import fcntl
    import os

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's one writer only")
    fd = os.open(f"{connection.settings_dict['NAME']}.writers", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process's leader, in its transaction
    group = GroupCommit()
    done = threading.Event()

    def send() -> None:
        try:
            group.run(lambda: sending.create_campaign(author=None, body="x", to=["0612345678"]))
            done.set()
        finally:
            connection.close()

    thread = threading.Thread(target=send)
    thread.start()
    try:
        assert not done.wait(0.5)  # still waiting its turn
        assert not Campaign.objects.exists()
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    thread.join(30)
    assert done.is_set()
    assert Campaign.objects.count() == 1
