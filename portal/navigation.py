"""The main navigation: each app contributes items with the check that decides who sees them.

Apps call ``add_item`` from their AppConfig.ready(); the order is the order of ``SECTIONS``.
"""
from dataclasses import dataclass
from typing import Callable

from django.urls import reverse

SECTIONS = ["Home", "Catalog", "Requests", "Approvals", "Models", "Costs", "Audit", "Admin"]


@dataclass(frozen=True)
class NavItem:
    section: str
    label: str
    url_name: str
    visible: Callable    # fn(user) -> bool
    count: Callable | None = None    # fn(user) -> int, shown as a badge (e.g. items waiting)


_ITEMS: list[NavItem] = []


def add_item(section: str, label: str, url_name: str, visible: Callable, count: Callable | None = None) -> None:
    if section not in SECTIONS:
        raise ValueError(f"Unknown navigation section {section!r}")
    if not any(item.url_name == url_name for item in _ITEMS):
        _ITEMS.append(NavItem(section, label, url_name, visible, count))


def navigation_for(request) -> list[dict]:
    """Sections with the items this user may open, in menu order; empty for anonymous users."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    current = request.path
    sections = []
    for section in SECTIONS:
        items = [{"label": item.label, "url": reverse(item.url_name),
                  "count": item.count(user) if item.count else None}
                 for item in _ITEMS if item.section == section and item.visible(user)]
        for item in items:
            item["active"] = current == item["url"] or (item["url"] != "/" and current.startswith(item["url"]))
        if items:
            counts = [item["count"] for item in items if item["count"]]
            sections.append({"name": section, "items": items, "count": sum(counts) if counts else None,
                             "active": any(item["active"] for item in items)})
    return sections
