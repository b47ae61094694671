from urllib.parse import urlencode

from django import template
from django.utils.html import conditional_escape, format_html

from smsdesk.core import display, once
from smsdesk.core.lists import CURSOR_PARAMS, Column

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_header(context: template.Context, column: Column) -> str:
    """A column's header: a link that sorts the list by it (again: the other way)."""
    if not column.sort:
        return conditional_escape(column.label)
    current = context.get("sort") or ""
    ascending = current == column.sort
    query = context["request"].GET.copy()
    query["sort"] = f"-{column.sort}" if ascending else column.sort
    for key in CURSOR_PARAMS:  # a new order starts at the first page
        query.pop(key, None)
    arrow = ""
    if current.removeprefix("-") == column.sort:
        arrow = " ▲" if ascending else " ▼"
    return format_html(
        '<a class="link-dark text-decoration-none" href="?{}">{}{}</a>',
        query.urlencode(),
        column.label,
        arrow,
    )


@register.filter(is_safe=True)
def when(value: object) -> str:
    """A date as every page shows it: "aujourd’hui 15:02", "25/11/2026 15:02" (core/display.py)."""
    return display.when_html(value)


@register.filter(is_safe=True)
def linkify(value: object) -> str:
    """A message text, escaped, with its http(s) URLs clickable and safe (core/display.py)."""
    return display.linkify("" if value is None else str(value))


@register.simple_tag(takes_context=True)
def form_key(context: template.Context) -> str:
    """The hidden one-time key of a form that creates something (core/once.py)."""
    return format_html(
        '<input type="hidden" name="{}" value="{}">', once.FIELD, once.key_for(context["request"])
    )


@register.simple_tag(takes_context=True)
def next_query(context: template.Context) -> str:
    """`next=<this page>` for a link to a confirmation step that comes back here."""
    return urlencode({"next": context["request"].get_full_path()})
