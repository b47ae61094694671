"""The WSGI applications of bench/ingest_ladder.py's rungs, served by granian as `smsdesk web`
serves smsdesk.wsgi (the same processes and threads). LADDER_RUNG picks one:

- "bare": a WSGI function answering 201 with a small JSON body (granian's own ceiling);
- "view": smsdesk's WSGI handler (core/handler.py, the API's middleware chain for a bearer
  request) routing POST /api/ladder to a Django view that answers 201 JSON;
- "insert": the same view after the token's check (api.endpoints.TokenAuth: the token's row,
  its rate, its scope) and one INSERT committed (a row of a table of the bench's own);
- anything else: smsdesk.wsgi's application (the full send: bench/api.py).
"""

from __future__ import annotations

import os

RUNG = os.environ.get("LADDER_RUNG", "full")
BODY = b'{"id": 1, "status": "queued"}'


def bare(environ, start_response):  # type: ignore[no-untyped-def]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    start_response(
        "201 Created", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
    )
    return [BODY]


if RUNG == "bare":
    application = bare
else:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench._ladder_settings"
    from smsdesk.wsgi import application  # noqa: F401
