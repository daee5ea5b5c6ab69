"""Template helpers for provisioning pages: state colours, durations."""
from django import template

register = template.Library()

_STATE_CLASSES = {
    "draft": "secondary", "submitted": "info", "pending_approval": "warning", "approved": "info",
    "rejected": "danger", "cancelled": "secondary", "provisioning": "primary", "available": "success",
    "updating": "primary", "terminating": "primary", "terminated": "secondary", "failed": "danger",
    "ok": "success", "waiting": "info", "retry": "warning", "error": "danger",
}


@register.filter
def state_class(state: str) -> str:
    return _STATE_CLASSES.get(state, "secondary")


@register.filter
def duration(delta) -> str:
    """A timedelta as '1 h 02 min', '3 min 05 s' or '12 s'."""
    seconds = int(delta.total_seconds()) if hasattr(delta, "total_seconds") else int(delta or 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
