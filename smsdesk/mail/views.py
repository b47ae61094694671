"""The one-click "stop these mails" link of every mail but the account's own (RFC 8058).

GET shows a page with one button (a link opened by a mail scanner must not act); POST acts,
whether from that button or from the mail client's own "unsubscribe" (which POSTs
`List-Unsubscribe=One-Click` with no cookie and no CSRF token: the signed token in the
address is the authority, and all it can do is stop mail to the address it was made for).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from smsdesk.mail import services


@csrf_exempt
@login_not_required
def stop(request: HttpRequest, token: str) -> HttpResponse:
    found = services.read_unsubscribe_token(token)
    if found is None:
        return render(request, "mail/stop.html", {"invalid": True}, status=404)
    kind, address = found
    done = False
    if request.method == "POST":
        services.stop(address=address, kind=kind)
        done = True
    return render(
        request,
        "mail/stop.html",
        {"kind": services.Kind(kind).label, "address": address, "done": done},
    )
