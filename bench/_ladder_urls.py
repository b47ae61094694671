"""The ladder's two Django views (bench/ingest_ladder.py), then smsdesk's own URLs."""

from __future__ import annotations

import json

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from smsdesk.accounts import tokens
from smsdesk.api.endpoints import scope_for
from smsdesk.urls import urlpatterns as smsdesk_urls


@csrf_exempt
def view(request: HttpRequest) -> JsonResponse:
    json.loads(request.body)
    return JsonResponse({"id": 1, "status": "queued"}, status=201)


@csrf_exempt
def insert(request: HttpRequest) -> JsonResponse:
    payload = json.loads(request.body)
    # what api.endpoints.TokenAuth checks: the token's row, its rate (counted), its scope
    found = tokens.find(request.headers["Authorization"].partition(" ")[2])
    if found is None:
        return JsonResponse({"error": "unauthorized"}, status=401)
    if tokens.count(found, address=request.META.get("REMOTE_ADDR")).exceeded:
        return JsonResponse({"error": "rate_limited"}, status=429)
    if scope_for("POST", "/api/v1/messages") not in found.granted():
        return JsonResponse({"error": "missing_scope"}, status=403)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_ladder (peer, body) VALUES (%s, %s) RETURNING id",
            [payload["to"][0], payload["text"]],
        )
        (new_id,) = cursor.fetchone()
    return JsonResponse({"id": new_id, "status": "queued"}, status=201)


urlpatterns = [path("api/ladder/view", view), path("api/ladder/insert", insert), *smsdesk_urls]
