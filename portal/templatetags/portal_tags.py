"""Template helpers: Bootstrap-styled, accessible form fields; state badges; masked webhook URLs."""
from django import template
from django.forms import CheckboxInput, RadioSelect, Select, SelectMultiple

from portal import webhooks

register = template.Library()


@register.filter
def display_url(url):
    """A webhook URL without its path and query, which may be a credential (portal.webhooks.display_url)."""
    return webhooks.display_url(url)


@register.filter
def bootstrap(field):
    """Render a bound field's widget with Bootstrap classes, error state and described-by ids."""
    widget = field.field.widget
    if isinstance(widget, CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, (Select, SelectMultiple)):
        css = "form-select"
    elif isinstance(widget, RadioSelect):
        css = ""
    else:
        css = "form-control"
    attrs = {"class": f"{css}{' is-invalid' if field.errors else ''}".strip()}
    described = []
    if field.help_text:
        described.append(f"{field.auto_id}_help")
    if field.errors:
        described.append(f"{field.auto_id}_errors")
        attrs["aria-invalid"] = "true"
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return field.as_widget(attrs=attrs)
