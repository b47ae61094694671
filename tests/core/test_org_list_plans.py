"""PostgreSQL: each hot list of one organisation is read in order from an index led by the
organisation (no sort, no scan of the table): the keyset pages stay one index range."""

from __future__ import annotations

import pytest
from django.db import connection

from smsdesk.calls.models import Call
from smsdesk.core import tenancy
from smsdesk.directory.models import Contact
from smsdesk.messaging.models import Campaign, Conversation, Message
from smsdesk.optout.models import OptOut

pytestmark = pytest.mark.django_db

LISTS = [
    (Message, {"direction": "out"}, ("-created_at", "-id"), "msg_list"),
    (Message, {"peer": "+33612345678"}, ("-created_at", "-id"), "msg_peer"),
    (Message, {}, ("-id",), "msg_org_id"),  # since_id, exports by id
    (Message, {}, ("-created_at", "-id"), "msg_org_recent"),  # the API's pages
    (Conversation, {}, ("-last_at", "-id"), "conv_recent"),
    (Campaign, {}, ("-created_at", "-id"), "campaign_recent"),
    (Contact, {}, ("name", "id"), "contact_name"),
    (OptOut, {}, ("-created_at", "-id"), "optout_recent"),
    (Call, {}, ("-at", "-id"), "call_recent"),
]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
@pytest.mark.parametrize("model,where,order,index", LISTS)
def test_a_list_of_one_organisation_reads_its_index_in_order(model, where, order, index) -> None:  # type: ignore[no-untyped-def]
    org = tenancy.sole_organisation()
    qs = model.objects.for_org(org).filter(**where).order_by(*order)[:51]
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        # An empty table: any plan is cheap, so take the others away and see whether an
        # index gives the list in its order by itself.
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            cursor.execute(f"SET LOCAL {setting} = off")
        if model is Message and index != "msg_org_recent":
            # It gives every list of messages by date too, reading past the rows another
            # filter (a direction, a number) leaves out: on a table this empty the planner
            # cannot tell it from the list's own index, so it goes (rolled back after).
            cursor.execute("DROP INDEX msg_org_recent")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan
    assert "Sort" not in plan, plan
