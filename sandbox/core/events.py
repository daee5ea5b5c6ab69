"""Delivery of EventBridge-format events (``ctx.emit_event``) to the configured webhook.

Each event is POSTed as JSON to ``config.event_webhook_url`` with the header
``config.event_webhook_header: config.event_webhook_secret``, from a background thread, with up
to 3 attempts and exponential backoff. Delivery never blocks or fails the call that emitted it.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request

from sandbox.core.engine import Sandbox

ATTEMPTS = 3
FIRST_BACKOFF_SECONDS = 0.5
TIMEOUT_SECONDS = 5
log = logging.getLogger("sandbox.events")


class WebhookDelivery:
    """A queue and one daemon worker posting events in the order they were emitted."""

    def __init__(self, engine: Sandbox, backoff_seconds: float = FIRST_BACKOFF_SECONDS):
        self.engine = engine
        self.backoff_seconds = backoff_seconds
        self._queue: queue.Queue = queue.Queue()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()

    def __call__(self, events: list[dict]) -> None:
        """Queue ``events`` for delivery (the engine's ``on_events`` callback)."""
        config = self.engine.config
        if not config.event_webhook_url:
            return
        for event in events:
            self._queue.put((config.event_webhook_url, config.event_webhook_header,
                             config.event_webhook_secret, event))
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="sandbox-events", daemon=True)
                self._worker.start()

    def _run(self) -> None:
        while True:
            url, header, secret, event = self._queue.get()
            try:
                self._deliver(url, header, secret, event)
            finally:
                self._queue.task_done()

    def _deliver(self, url: str, header: str, secret: str, event: dict) -> bool:
        body = json.dumps(event).encode()
        headers = {"Content-Type": "application/json"}
        if header and secret:
            headers[header] = secret
        delay = self.backoff_seconds
        for attempt in range(1, ATTEMPTS + 1):
            try:
                request = urllib.request.Request(url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                    if response.status < 300:
                        return True
            except (urllib.error.URLError, OSError) as error:
                log.warning("event %s delivery attempt %d failed: %s", event.get("id"), attempt, error)
            if attempt < ATTEMPTS:
                time.sleep(delay)
                delay *= 2
        log.error("event %s dropped after %d attempts", event.get("id"), ATTEMPTS)
        return False

    def wait(self) -> None:
        """Block until every queued event was delivered or dropped (tests)."""
        self._queue.join()


def attach_webhook(engine: Sandbox) -> WebhookDelivery:
    delivery = WebhookDelivery(engine)
    engine.on_events = delivery
    return delivery
