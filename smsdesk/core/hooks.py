"""What the apps plug into `core`. Every app uses core and core imports no app
(docs/architecture.md, "may import"), so what a shared page needs from an app above (the
unread count beside "SMS non lus", where a phone number links to) is registered here by that
app, in its `AppConfig.ready()`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# url name of a menu entry -> the number shown beside it for an organisation (0: nothing)
_menu_badges: dict[str, Callable[..., int]] = {}
_number_link: list[Callable[[str], str]] = []


def add_menu_badge(url_name: str, count: Callable[..., int]) -> None:
    """`count(org=organisation)`: the figure of that organisation."""
    _menu_badges[url_name] = count


def menu_badges(org: Any) -> dict[str, int]:
    if org is None:  # a platform administrator outside any organisation
        return {}
    return {name: count(org=org) for name, count in _menu_badges.items()}


def set_number_link(link: Callable[[str], str]) -> None:
    """`link(number)`: the page a phone number (or a sender's name) leads to."""
    _number_link[:] = [link]


def number_link(number: str) -> str | None:
    """Where `number` links to, or None when no app offers a page for it."""
    return _number_link[0](number) if _number_link else None


_user_quota_use: list[Callable[[Any, list[Any]], dict[int, Any]]] = []


def set_user_quota_use(use: Callable[[Any, list[Any]], dict[int, Any]]) -> None:
    """`use(org, users)`: each user's (day, month) use of their own quota (the users page;
    messaging/quotas.py counts them)."""
    _user_quota_use[:] = [use]


def user_quota_use(org: Any, users: list[Any]) -> dict[int, Any]:
    return _user_quota_use[0](org, users) if _user_quota_use else {}


# model -> (its partition column, `ranges(using, newest_first=...)`: contiguous [start, end)
# ranges of that column covering every value, one per partition, in reading order; none
# when the table is not partitioned). The lists read such a table's pages range by range
# (core/lists.first_rows); messaging registers its message table (messaging/partitions.py).
_partitioned: dict[type, tuple[str, Callable[..., Any]]] = {}


def set_partitioned(model: type, column: str, ranges: Callable[..., Any]) -> None:
    _partitioned[model] = (column, ranges)


def partitioned(model: type) -> tuple[str, Callable[..., Any]] | None:
    return _partitioned.get(model)
