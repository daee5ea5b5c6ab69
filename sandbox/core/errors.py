"""AWS-style errors raised by operation handlers and turned into protocol error responses."""


class AwsError(Exception):
    """An error AWS would return: ``code`` is the modelled error name (e.g.
    ``ResourceNotFoundException``), ``status`` the HTTP status, ``extra`` extra members of the
    error shape (e.g. ``{"Reason": "ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED"}``)."""

    def __init__(self, code: str, message: str, status: int = 400, extra: dict | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra or {}


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def not_found(code: str, message: str) -> AwsError:
    return AwsError(code, message)


INTERNAL_FAILURE_MESSAGE = ("The request processing has failed because of an unknown error, exception or "
                            "failure.")


def internal_failure(message: str = INTERNAL_FAILURE_MESSAGE) -> AwsError:
    """AWS's generic server-side failure (HTTP 500, which SDKs retry)."""
    return AwsError("InternalFailure", message, status=500)
