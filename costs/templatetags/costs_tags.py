"""Money formatting for cost pages (plain string formatting: faster than floatformat|intcomma
on tables of many rows)."""
from django import template

register = template.Library()


@register.filter
def usd(value, places: int = 0) -> str:
    """1234.5 -> "$1,235"; usd:2 -> "$1,234.50"; None -> "—"."""
    if value is None or value == "":
        return "—"
    return f"${value:,.{int(places)}f}" if value >= 0 else f"-${-value:,.{int(places)}f}"
