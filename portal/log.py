"""Logging helpers referenced by settings.LOGGING."""
import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """Keeps the one-line record of a 4xx answer (a refused permission, a bad request, a disallowed
    host) but drops its traceback: those are ordinary outcomes, not faults. 5xx keep theirs."""
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
