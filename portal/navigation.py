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


_ITEMS: list[NavItem] = []


def add_item(section: str, label: str, url_name: str, visible: Callable) -> None:
    if section not in SECTIONS:
        raise ValueError(f"Unknown navigation section {section!r}")
    if not any(item.url_name == url_name for item in _ITEMS):
        _ITEMS.append(NavItem(section, label, url_name, visible))


def navigation_for(request) -> list[dict]:
    """Sections with the items this user may open, in menu order; empty for anonymous users."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    current = request.path
    sections = []
    for section in SECTIONS:
        items = [{"label": item.label, "url": reverse(item.url_name)}
                 for item in _ITEMS if item.section == section and item.visible(user)]
        for item in items:
            item["active"] = current == item["url"] or (item["url"] != "/" and current.startswith(item["url"]))
        if items:
            sections.append({"name": section, "items": items,
                             "active": any(item["active"] for item in items)})
    return sections
