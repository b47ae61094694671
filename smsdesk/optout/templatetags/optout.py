"""The STOP list's own tags, for any app's templates: `{% load optout %}`."""

from __future__ import annotations

from django import template

from smsdesk.optout.models import OptOut

register = template.Library()


@register.inclusion_tag("optout/_stop_state.html")
def stop_state(number: str, org: int) -> dict:
    """Whether `number` sent STOP to organisation `org` (id), and when (a contact's page)."""
    return {"stop": OptOut.objects.for_org(org).filter(number=number).first()}
