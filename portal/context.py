"""Per-request context (request id, client IP) that services read for audit events.

Set by ``RequestContextMiddleware`` for web requests and by Celery tasks for worker code.
"""
import contextvars
import uuid
from contextlib import contextmanager

_request_id = contextvars.ContextVar("request_id", default="")
_ip_address = contextvars.ContextVar("ip_address", default=None)


def current_request_id() -> str:
    return _request_id.get()


def current_ip_address() -> str | None:
    return _ip_address.get()


@contextmanager
def request_context(*, request_id: str | None = None, ip_address: str | None = None):
    """Bind a request id (a new one if not given) and client IP for the duration of the block."""
    rid_token = _request_id.set(request_id or uuid.uuid4().hex)
    ip_token = _ip_address.set(ip_address)
    try:
        yield
    finally:
        _request_id.reset(rid_token)
        _ip_address.reset(ip_token)
