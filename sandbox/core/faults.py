"""Injected failures: random throttling and 5xx by rate, and scripted faults from the admin route.

Scripted fault kinds:

- ``error``: the next ``count`` matching calls are answered with ``code``/``message``/``status``
  without running.
- ``drop_response``: the next ``count`` matching calls run (their effect stays), then the client
  gets ``500 InternalFailure`` as if the answer had been lost, so it retries or fails.
- ``record_failure``: a flag handlers consume with ``ctx.take_fault("record_failure", service,
  subject)``, e.g. to make the next provisioning record of a product FAIL.

Faults apply to calls arriving over HTTP only: never to ``ctx.call`` nor to admin routes.
The random generator is seeded once per process (``SANDBOX_FAULT_SEED``, default 0), so a run
with the same rates and the same calls fails the same calls.
"""
from __future__ import annotations

import os
import random
import threading

from sandbox.core.errors import INTERNAL_FAILURE_MESSAGE, AwsError, internal_failure

KINDS = ("error", "drop_response", "record_failure")

# The throttling error each service models (botocore retries all of these with backoff).
_THROTTLING_CODES = {
    "organizations": ("TooManyRequestsException", 400),
    "ce": ("LimitExceededException", 400),
    "sts": ("Throttling", 400),
    "ram": ("ThrottlingException", 429),
    "s3": ("SlowDown", 503),
}


class Faults:
    """Scripted faults plus the random ones the config's rates ask for. Thread-safe."""

    def __init__(self, config):
        self.config = config
        self._scripted: list[dict] = []
        self._lock = threading.Lock()
        self._random = random.Random(os.environ.get("SANDBOX_FAULT_SEED", "0"))

    def add(self, spec: dict) -> dict:
        """Validate and keep a scripted fault; returns it as stored."""
        kind = spec.get("kind")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        count = int(spec.get("count", 1))
        if count < 1:
            raise ValueError("count must be at least 1")
        fault = {
            "kind": kind, "service": spec.get("service"), "operation": spec.get("operation"),
            "subject": spec.get("subject"), "count": count,
            "code": spec.get("code") or ("InternalFailure" if kind == "drop_response" else None),
            "message": spec.get("message") or "", "status": int(spec.get("status", 400)),
        }
        if kind == "error" and not fault["code"]:
            raise ValueError("an error fault needs a code")
        with self._lock:
            self._scripted.append(fault)
        return dict(fault)

    def clear(self) -> None:
        with self._lock:
            self._scripted.clear()

    def pending(self) -> list[dict]:
        with self._lock:
            return [dict(fault) for fault in self._scripted]

    def take(self, kind: str, service: str | None, operation: str | None, subject: str | None = None) -> dict | None:
        """Use up one matching scripted fault of ``kind``; None when there is none."""
        with self._lock:
            for fault in self._scripted:
                if (fault["kind"] == kind and fault["service"] in (None, service)
                        and fault["operation"] in (None, operation)
                        and fault["subject"] in (None, subject)):
                    fault["count"] -= 1
                    if fault["count"] == 0:
                        self._scripted.remove(fault)
                    return dict(fault)
        return None

    def before_call(self, service: str | None, operation: str | None) -> AwsError | None:
        """The error to answer instead of running the call, if any (scripted first, then random)."""
        fault = self.take("error", service, operation)
        if fault is not None:
            return AwsError(fault["code"], fault["message"] or f"Injected fault for {service}:{operation}.",
                            status=fault["status"])
        draw = self._random.random()
        if draw < self.config.throttle_rate:
            code, status = _THROTTLING_CODES.get(service, ("ThrottlingException", 400))
            return AwsError(code, "Rate exceeded", status=status)
        if draw < self.config.throttle_rate + self.config.error_5xx_rate:
            return internal_failure()
        return None

    def drops_response(self, service: str | None, operation: str | None) -> AwsError | None:
        """After a call ran: the error that replaces its answer, if a drop_response fault matches."""
        fault = self.take("drop_response", service, operation)
        if fault is None:
            return None
        return AwsError(fault["code"], fault["message"] or INTERNAL_FAILURE_MESSAGE, status=500)
