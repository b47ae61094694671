from django import template
from django.utils.html import conditional_escape, format_html

from smsdesk.core.lists import Column
from smsdesk.messaging.models import STATUS_COLOURS

register = template.Library()


@register.filter
def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, "secondary")


@register.simple_tag(takes_context=True)
def sort_header(context: template.Context, column: Column) -> str:
    """A column's header: a link that sorts the list by it (again: the other way)."""
    if not column.sort:
        return conditional_escape(column.label)
    current = context.get("sort", "")
    ascending = current == column.sort
    query = context["request"].GET.copy()
    query["sort"] = f"-{column.sort}" if ascending else column.sort
    query.pop("page", None)  # a new order starts at the first page
    arrow = ""
    if current.removeprefix("-") == column.sort:
        arrow = " ▲" if ascending else " ▼"
    return format_html(
        '<a class="link-dark text-decoration-none" href="?{}">{}{}</a>',
        query.urlencode(),
        column.label,
        arrow,
    )
