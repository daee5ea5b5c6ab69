"""Domain errors that views turn into messages and the API into stable JSON error codes."""


class DomainError(Exception):
    """A request that cannot be carried out as asked. ``code`` is stable for scripts."""
    code = "invalid"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class InvalidTransition(DomainError):
    """The object is not in a state that allows this action (HTTP 409)."""
    code = "invalid_transition"
    status = 409


class Conflict(DomainError):
    code = "conflict"
    status = 409
