from django import template

from smsdesk.messaging.models import STATUS_COLOURS

register = template.Library()


@register.filter
def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, "secondary")
