"""Journey: a team lead adds a webhook from the team page (a wrong URL first: the form says why
and keeps what was typed), copies the secret shown once, sends a test event that a local receiver
gets with a signature the secret verifies, and sees it delivered; a data scientist of the team may
look but not manage.

Celery runs eagerly, so the delivery happens inside the web request that queues it."""
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command

from portal.demo import DEMO_PASSWORD
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def receiver():
    """An HTTP receiver on loopback that records every POST (headers and raw body)."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"headers": dict(self.headers), "body": body})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/portal-events", received
    server.shutdown()


@pytest.fixture
def demo_org(transactional_db, settings, eager_tasks):
    settings.SHOW_DEMO_PASSWORDS = True
    settings.PORTAL_WEBHOOK_ALLOW_LOOPBACK = True      # the receiver runs on this machine
    call_command("seed_demo")                           # teams and users; no AWS needed for webhooks


def _verifies(secret: str, header: str, body: bytes) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def test_lead_adds_a_webhook_and_a_signed_test_event_arrives(demo_org, receiver, live_server, page, screenshot):
    url, received = receiver
    sign_in(page, live_server.url, "fraud-detection-lead", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/teams/fraud-detection/")
    page.get_by_role("link", name="Webhooks").click()
    form = page.locator("form", has=page.get_by_role("heading", name="New webhook"))
    form.get_by_label("Name").fill("team chat bridge")
    form.get_by_label("URL").fill("http://example.com/hook")
    form.get_by_label("Events").fill("request.*, approval.needed")
    form.get_by_role("button", name="Create webhook").click()
    form = page.locator("form", has=page.get_by_role("heading", name="New webhook"))
    assert "https://" in form.inner_text()                                     # says what to fix
    assert form.get_by_label("Name").input_value() == "team chat bridge"       # kept what was typed
    assert form.get_by_label("Events").input_value() == "request.*, approval.needed"
    screenshot("webhooks-01-wrong-url")

    form.get_by_label("URL").fill(url)
    form.get_by_role("button", name="Create webhook").click()
    secret = page.get_by_test_id("new-secret").inner_text().strip()
    assert secret.startswith("whsec_")
    screenshot("webhooks-02-secret-shown-once")
    page.reload()
    assert page.get_by_test_id("new-secret").count() == 0                     # shown once only

    with page.expect_navigation():                # the POST delivers (eagerly) before it redirects
        page.get_by_role("button", name="Send a test event").click()
    assert len(received) == 1
    headers, body = received[0]["headers"], received[0]["body"]
    assert _verifies(secret, headers["X-Portal-Signature"], body)
    event = json.loads(body)
    assert event["kind"] == "webhook.test" and event["team"] == "fraud-detection"
    page.reload()
    history = page.locator("main").inner_text()
    assert "webhook.test" in history and "Delivered" in history
    screenshot("webhooks-03-delivered")

    sign_in(page, live_server.url, "fraud-detection-ds", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/teams/fraud-detection/")
    page.get_by_role("link", name="Webhooks").click()
    assert page.get_by_test_id("manage-note").is_visible()
    assert page.get_by_role("button", name="Create webhook").count() == 0
    assert "/portal-events" not in page.locator("main").inner_text()          # members see the host only
