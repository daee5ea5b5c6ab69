"""Outbound webhooks: emission in the caller's transaction, signing, delivery with retries, permissions."""
import hashlib
import hmac
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from portal import webhooks
from portal.models import AuditEvent, Notification, TeamWebhook, WebhookDelivery
from portal.notifications import notify
from portal.permissions import SYSTEM
from tests.support.routes import RouteCase, run_case


class Receiver:
    """A real HTTP server on 127.0.0.1 that records every POST and answers ``status``."""

    def __init__(self, status=200):
        self.status, self.requests = status, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok" if receiver.status < 300 else b"boom")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook?src=portal"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.PORTAL_WEBHOOK_ALLOW_LOOPBACK = True
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def enqueued(monkeypatch):
    """Task messages the code enqueues (delivery id, countdown), instead of a broker."""
    from portal.tasks import deliver_webhook, send_notification_emails
    sent = []
    monkeypatch.setattr(deliver_webhook, "apply_async",
                        lambda args, countdown=0, **kw: sent.append((args[0], countdown)))
    monkeypatch.setattr(send_notification_emails, "delay", lambda *args, **kwargs: None)
    return sent


def _hook(world, url, team=None, actor="lead", **extra):
    return webhooks.webhook_create(actor=world[actor], team=team or world.team, name=extra.pop("name", "ci"), url=url, **extra)


def _event(world, team=None, kind="request.failed"):
    return notify(users=[world["lead"]], kind=kind, subject="Request failed", body="It broke.",
                  url="/requests/1/", team=team or world.team, email=False)


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """An independent receiver-side check, as docs/webhooks.md describes it."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    if abs(int(timezone.now().timestamp()) - int(fields["t"])) > tolerance:
        return False
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


def test_one_signed_post_per_event_reaches_a_real_receiver(world, receiver, enqueued,
                                                           django_capture_on_commit_callbacks):
    webhook, secret = _hook(world, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        _event(world)
    [delivery] = WebhookDelivery.objects.all()
    assert enqueued == [(delivery.pk, 0)]
    assert webhooks.webhook_deliver(delivery.pk) == "succeeded"
    assert webhooks.webhook_deliver(delivery.pk) is None     # a duplicate message sends nothing
    [request] = receiver.requests
    body, headers = request["body"], request["headers"]
    assert request["path"] == "/hook?src=portal"
    assert verify(secret, headers["X-Portal-Signature"], body)
    assert not verify("whsec_wrong", headers["X-Portal-Signature"], body)
    payload = json.loads(body)
    assert payload == {"id": str(delivery.event_id), "kind": "request.failed", "team": "fraud-detection",
                       "subject": "Request failed", "body": "It broke.", "url": "http://127.0.0.1:8000/requests/1/",
                       "occurred_at": payload["occurred_at"]}
    assert headers["X-Portal-Event"] == "request.failed" and headers["X-Portal-Delivery"] == str(delivery.pk)
    assert headers["X-Portal-Event-Id"] == str(delivery.event_id)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    assert delivery.delivered_at and delivery.response_excerpt == "ok"


def test_a_failing_receiver_is_retried_with_growing_pauses_then_leads_are_told(world, receiver, enqueued, settings,
                                                                               django_capture_on_commit_callbacks):
    settings.PORTAL_WEBHOOK_MAX_ATTEMPTS = 4
    receiver.status = 500
    _hook(world, receiver.url)
    _event(world)
    delivery = WebhookDelivery.objects.get()
    for _attempt in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            webhooks.webhook_deliver(delivery.pk)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())   # time passes
    countdowns = [countdown for _pk, countdown in enqueued]
    assert len(countdowns) == 3 and countdowns == sorted(countdowns) and countdowns[0] >= 30
    assert countdowns[1] >= 2 * 30 and countdowns[2] >= 4 * 30
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("failed", 4, 500)
    assert len(receiver.requests) == 4
    assert webhooks.webhook_deliver(delivery.pk) is None and len(receiver.requests) == 4
    [notice] = Notification.objects.filter(kind="webhook.failed")
    assert notice.user == world["lead"] and "/webhooks/" in notice.url
    assert WebhookDelivery.objects.count() == 1      # the notice about a webhook is never a webhook event


def test_backoff_grows_and_is_capped(settings):
    settings.PORTAL_WEBHOOK_BACKOFF_SECONDS, settings.PORTAL_WEBHOOK_BACKOFF_MAX_SECONDS = 30, 3600
    delays = [webhooks.backoff_seconds(n) for n in range(1, 12)]
    assert 30 <= delays[0] <= 36 and 60 <= delays[1] <= 72 and delays[-1] == 3600


def test_a_delivery_being_sent_elsewhere_or_done_is_not_sent_again(world, receiver, enqueued):
    _hook(world, receiver.url)
    _event(world)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state="delivering")   # another worker holds it
    assert webhooks.webhook_deliver(delivery.pk) is None
    assert receiver.requests == []


def test_lost_messages_are_requeued_by_the_beat_task(world, receiver, enqueued, django_capture_on_commit_callbacks):
    _hook(world, receiver.url)
    _event(world)
    delivery = WebhookDelivery.objects.get()
    long_ago = timezone.now() - timezone.timedelta(hours=1)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state="delivering", next_attempt_at=long_ago)
    webhooks.webhook_requeue()      # the worker died mid-attempt: back to pending, not yet overdue
    assert WebhookDelivery.objects.get().state == "pending"
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=long_ago)
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.webhook_requeue() == 1
    assert enqueued == [(delivery.pk, 0)]


def test_requeue_enqueues_an_overdue_delivery_once_per_grace_period(world, enqueued,
                                                                     django_capture_on_commit_callbacks):
    _hook(world, "https://hooks.example.com/x")
    _hook(world, "https://hooks.example.com/y", name="other")
    _event(world)
    long_ago = timezone.now() - timezone.timedelta(hours=1)
    WebhookDelivery.objects.update(next_attempt_at=long_ago)     # a backlog: the workers are behind
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.webhook_requeue() == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.webhook_requeue() == 0                   # the next minute's run
    assert sorted(enqueued) == sorted((pk, 0) for pk in WebhookDelivery.objects.values_list("pk", flat=True))


def test_a_rolled_back_change_emits_nothing(world, receiver, enqueued, django_capture_on_commit_callbacks):
    _hook(world, receiver.url)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                _event(world)
                raise RuntimeError("the change fails")
    assert WebhookDelivery.objects.count() == 0 and callbacks == [] and enqueued == []


def test_events_stay_in_their_team_and_follow_subscriptions(world):
    mine, _ = _hook(world, "https://hooks.example.com/all")
    models_only, _ = _hook(world, "https://hooks.example.com/models", name="models", events=["model.*"])
    inactive, _ = _hook(world, "https://hooks.example.com/off", name="off", active=False)
    theirs, _ = webhooks.webhook_create(actor=world["other_lead"], team=world.other_team, name="theirs",
                                        url="https://hooks.example.com/theirs")
    _event(world, kind="request.failed")
    _event(world, kind="model.in_prod")
    notify(users=[], kind="budget.actual.100", subject="Budget", team=world.other_team)
    notify(users=[world["lead"]], kind="approval.delegated", subject="no team")
    sent = sorted(WebhookDelivery.objects.values_list("webhook__name", "kind"))
    assert sent == [("ci", "model.in_prod"), ("ci", "request.failed"), ("models", "model.in_prod"),
                    ("theirs", "budget.actual.100")]
    assert not inactive.deliveries.exists()
    event_ids = set(WebhookDelivery.objects.filter(kind="model.in_prod").values_list("event_id", flat=True))
    assert len(event_ids) == 1                        # one event, whatever the number of webhooks


def test_urls_must_be_https_and_events_well_formed(world, settings):
    settings.PORTAL_WEBHOOK_ALLOW_LOOPBACK = False
    for url in ("http://hooks.example.com/x", "http://127.0.0.1:9000/x", "https://user:pw@hooks.example.com/x",
                "ftp://hooks.example.com/x"):
        with pytest.raises(webhooks.DomainError) as caught:
            _hook(world, url)
        assert "url" in caught.value.fields, url
    with pytest.raises(webhooks.DomainError) as caught:
        _hook(world, "https://hooks.example.com/x", events=["Model In Prod"])
    assert "events" in caught.value.fields
    settings.PORTAL_WEBHOOK_ALLOW_LOOPBACK = True
    assert _hook(world, "http://localhost:9000/x")[0].url == "http://localhost:9000/x"


def test_metadata_and_loopback_addresses_are_refused_at_send_time(world, receiver, enqueued, settings, monkeypatch):
    _hook(world, receiver.url)
    _event(world)
    settings.PORTAL_WEBHOOK_ALLOW_LOOPBACK = False     # e.g. a host name that resolves to 127.0.0.1
    assert webhooks.webhook_deliver(WebhookDelivery.objects.get().pk) == "pending"
    assert WebhookDelivery.objects.get().last_error == "refused: address not allowed" and receiver.requests == []
    settings.PORTAL_WEBHOOK_ALLOW_LOOPBACK = True      # loopback allowed, but the name now points at the metadata
    _resolve_to(monkeypatch, "169.254.169.254")
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    assert webhooks.webhook_deliver(WebhookDelivery.objects.get().pk) == "pending"
    assert WebhookDelivery.objects.get().last_error == "refused: address not allowed" and receiver.requests == []


def _resolve_to(monkeypatch, address):
    """Every host name resolves to ``address``; returns the list of (ip, port) the code connects to,
    and the connection is refused instead of made."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sockaddr = (address, 443, 0, 0) if family == socket.AF_INET6 else (address, 443)
    monkeypatch.setattr(socket, "getaddrinfo",
                        lambda *args, **kwargs: [(family, socket.SOCK_STREAM, 6, "", sockaddr)])
    connections = []

    def create_connection(address, *args, **kwargs):
        connections.append(address)
        raise ConnectionRefusedError(111, "Connection refused")
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return connections


@pytest.mark.parametrize("address", ["169.254.169.254", "::ffff:169.254.169.254", "::169.254.169.254",
                                     "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::", "fd00:ec2::254", "10.0.0.5",
                                     "100.100.100.200", "224.0.0.1", "0.0.0.0"])
def test_non_public_addresses_are_refused_without_connecting(world, enqueued, monkeypatch, address):
    _hook(world, "https://hooks.example.com/T000/B000/secretpart")
    _event(world)
    connections = _resolve_to(monkeypatch, address)
    assert webhooks.webhook_deliver(WebhookDelivery.objects.get().pk) == "pending"
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_error == "refused: address not allowed" and connections == []


@pytest.mark.parametrize(("address", "allowed"), [("10.0.0.5", ["10.0.0.0/8"]), ("fd00:ec2::254", ["fd00::/8"]),
                                                  ("93.184.216.34", []), ("2606:4700::1111", [])])
def test_public_and_allowed_internal_addresses_are_connected_to_exactly(world, enqueued, monkeypatch, settings,
                                                                         address, allowed):
    settings.PORTAL_WEBHOOK_ALLOWED_NETWORKS = allowed
    _hook(world, "https://hooks.example.com/T000/B000/secretpart")
    _event(world)
    connections = _resolve_to(monkeypatch, address)
    assert webhooks.webhook_deliver(WebhookDelivery.objects.get().pk) == "pending"
    assert connections == [(address, 443)]            # the very address that was checked
    assert WebhookDelivery.objects.get().last_error == "could not connect"   # not the exception's text


def test_a_malformed_allowed_network_names_the_setting(settings):
    settings.PORTAL_WEBHOOK_ALLOWED_NETWORKS = ["10.0.0.0/33"]
    with pytest.raises(ImproperlyConfigured, match="PORTAL_WEBHOOK_ALLOWED_NETWORKS"):
        webhooks._receiver_ip("https", "hooks.example.com", 443)


@pytest.mark.parametrize(("error", "reason"), [
    (TimeoutError("timed out"), "timed out"), (ssl.SSLCertVerificationError(1, "certificate verify failed"), "TLS error"),
    (ConnectionResetError(104, "Connection reset by peer"), "could not connect"),
    (socket.gaierror(-2, "Name or service not known"), "could not connect")])
def test_failures_without_an_answer_store_a_generic_reason(world, enqueued, monkeypatch, error, reason):
    _hook(world, "https://hooks.example.com/x")
    _event(world)

    def fail(*args, **kwargs):
        raise error
    monkeypatch.setattr(webhooks, "_http_post", fail)
    webhooks.webhook_deliver(WebhookDelivery.objects.get().pk)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.last_error, delivery.last_status_code, delivery.response_excerpt) == (reason, None, "")


def test_an_outcome_is_not_recorded_when_the_claim_was_lost(world, enqueued, monkeypatch):
    _hook(world, "https://hooks.example.com/x")
    _event(world)
    delivery = WebhookDelivery.objects.get()

    def slow_send(row):      # the lease ran out meanwhile and webhook_requeue took the row back
        WebhookDelivery.objects.filter(pk=row.pk).update(state="pending", last_error="interrupted")
        return 200, "", "ok"
    monkeypatch.setattr(webhooks, "_attempt", slow_send)
    assert webhooks.webhook_deliver(delivery.pk) is None
    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_error, delivery.delivered_at) == ("pending", "interrupted", None)


def test_who_may_manage_webhooks(world):
    webhook, _ = _hook(world, "https://hooks.example.com/x")
    for persona in ("ds", "mle", "auditor", "other_lead", "outsider"):
        with pytest.raises(PermissionDenied):
            webhooks.webhook_create(actor=world[persona], team=world.team, name=persona,
                                    url="https://hooks.example.com/y")
        with pytest.raises(PermissionDenied):
            webhooks.webhook_rotate_secret(actor=world[persona], webhook=webhook)
    assert webhooks.webhook_update(actor=world["platform_admin"], webhook=webhook, active=False).active is False


def test_audit_events_never_hold_the_secret(world, receiver, enqueued):
    webhook, secret = _hook(world, receiver.url)
    webhook = webhooks.webhook_update(actor=world["lead"], webhook=webhook, events=["request.*"])
    _webhook, rotated = webhooks.webhook_rotate_secret(actor=world["lead"], webhook=webhook)
    delivery = webhooks.webhook_send_test(actor=world["lead"], webhook=webhook)
    webhooks.webhook_deliver(delivery.pk)
    webhooks.webhook_delivery_redeliver(actor=world["lead"], delivery=delivery)
    webhooks.webhook_delete(actor=world["lead"], webhook=webhook)
    events = AuditEvent.objects.filter(action__startswith="webhook")
    assert sorted(events.values_list("action", flat=True)) == [
        "webhook.create", "webhook.delete", "webhook.rotate_secret", "webhook.test", "webhook.update",
        "webhook_delivery.redeliver"]
    dumped = json.dumps(list(events.values("before", "after", "target_label")), default=str)
    assert secret not in dumped and rotated not in dumped and "whsec_" not in dumped
    assert json.loads(receiver.requests[0]["body"])["kind"] == "webhook.test"


def test_the_secret_is_encrypted_at_rest_and_signs_after_rotation(world):
    webhook, secret = _hook(world, "https://hooks.example.com/x")
    with connection.cursor() as cursor:
        cursor.execute("SELECT signing_secret FROM portal_teamwebhook WHERE id = %s", [webhook.pk])
        stored = cursor.fetchone()[0]
    assert secret not in stored and stored.startswith("gAAAAA")
    assert TeamWebhook.objects.get(pk=webhook.pk).signing_secret == secret
    _webhook, rotated = webhooks.webhook_rotate_secret(actor=world["lead"], webhook=webhook)
    assert rotated != secret and TeamWebhook.objects.get(pk=webhook.pk).signing_secret == rotated


def test_redeliver_keeps_the_event_id_and_refuses_unfinished_deliveries(world, receiver, enqueued):
    _hook(world, receiver.url)
    _event(world)
    delivery = WebhookDelivery.objects.get()
    with pytest.raises(webhooks.InvalidTransition):
        webhooks.webhook_delivery_redeliver(actor=world["lead"], delivery=delivery)
    webhooks.webhook_deliver(delivery.pk)
    copy = webhooks.webhook_delivery_redeliver(actor=world["lead"], delivery=delivery)
    assert copy.pk != delivery.pk and copy.event_id == delivery.event_id and copy.state == "pending"
    webhooks.webhook_deliver(copy.pk)
    assert [json.loads(r["body"])["id"] for r in receiver.requests] == [str(delivery.event_id)] * 2


def test_send_now_sends_a_pending_delivery_without_waiting_for_its_retry(world, receiver, enqueued,
                                                                        django_capture_on_commit_callbacks):
    receiver.status = 500
    webhook, _ = _hook(world, receiver.url)
    _event(world)
    delivery = WebhookDelivery.objects.get()
    assert webhooks.webhook_deliver(delivery.pk) == "pending"          # failed once, waits for its retry
    assert webhooks.webhook_deliver(delivery.pk) is None               # not due yet
    for persona in ("ds", "auditor", "other_lead"):
        with pytest.raises(PermissionDenied):
            webhooks.webhook_delivery_send_now(actor=world[persona], delivery=delivery)
    receiver.status = 200
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.webhook_delivery_send_now(actor=world["lead"], delivery=delivery)
    assert enqueued == [(delivery.pk, 0)]
    [audit] = AuditEvent.objects.filter(action="webhook_delivery.send_now")
    assert audit.after["attempts"] == 1
    assert webhooks.webhook_deliver(delivery.pk) == "succeeded"
    assert webhooks.webhook_deliver(delivery.pk) is None and len(receiver.requests) == 2   # the claim: sent once
    with pytest.raises(webhooks.InvalidTransition, match="redeliver"):
        webhooks.webhook_delivery_send_now(actor=world["lead"], delivery=delivery)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state="delivering")
    with pytest.raises(webhooks.InvalidTransition, match="being sent"):
        webhooks.webhook_delivery_send_now(actor=world["lead"], delivery=delivery)


def test_send_now_on_the_page_and_in_the_api(world, enqueued, django_capture_on_commit_callbacks):
    webhook, _ = _hook(world, "https://hooks.example.com/x")
    delivery = webhooks.webhook_send_test(actor=world["lead"], webhook=webhook)
    later = timezone.now() + timezone.timedelta(minutes=10)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=2, next_attempt_at=later, last_status_code=500)
    lead, ds = _client(world, "lead"), _client(world, "ds")
    send_now = f"/webhook-deliveries/{delivery.pk}/send-now/"
    assert send_now in lead.get(f"/webhooks/{webhook.pk}/").content.decode()
    assert send_now not in ds.get(f"/webhooks/{webhook.pk}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        answer = lead.post(send_now)
    assert answer.status_code == 302 and answer["Location"] == f"/webhooks/{webhook.pk}/"
    assert WebhookDelivery.objects.get(pk=delivery.pk).next_attempt_at <= timezone.now()
    assert (delivery.pk, 0) in enqueued
    api = lead.post(f"/api/v1/webhook-deliveries/{delivery.pk}/send-now/")
    assert api.status_code == 202 and api.json()["state"] == "pending"
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state="failed")
    conflict = lead.post(f"/api/v1/webhook-deliveries/{delivery.pk}/send-now/")
    assert conflict.status_code == 409 and "redeliver" in conflict.json()["error"]["message"]
    page = lead.get(f"/webhooks/{webhook.pk}/").content.decode()
    assert send_now not in page and "gave up after 2 attempts" in page


def test_who_may_only_view_is_told_who_manages_webhooks(world):
    webhook, _ = _hook(world, "https://hooks.example.com/x")
    note = "Only team leads and platform admins can manage webhooks."
    for persona, told in (("ds", True), ("auditor", True), ("lead", False), ("platform_admin", False)):
        client = _client(world, persona)
        for page in (f"/teams/{world.team.slug}/webhooks/", f"/webhooks/{webhook.pk}/"):
            assert (note in client.get(page).content.decode()) is told, (persona, page)
    assert ">Gave up<" not in _client(world, "lead").get(f"/teams/{world.team.slug}/webhooks/").content.decode()


# --- pages and API --------------------------------------------------------------------------------
def _client(world, persona):
    client = APIClient()
    client.force_login(world[persona])
    return client


def test_create_page_shows_the_secret_once_and_keeps_input_on_errors(world):
    client = _client(world, "lead")
    url = f"/teams/{world.team.slug}/webhooks/"
    bad = client.post(url, {"name": "chat", "url": "http://hooks.example.com/x", "events": "model.*"})
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "Use an https:// URL" in html and "http://hooks.example.com/x" in html and "model.*" in html
    good = client.post(url, {"name": "chat", "url": "https://hooks.example.com/x", "events": "model.*, budget.*",
                             "active": "on"})
    webhook = TeamWebhook.objects.get()
    assert good.status_code == 302 and good["Location"] == f"/webhooks/{webhook.pk}/"   # a reload cannot re-POST
    assert webhook.signing_secret not in good.content.decode() and webhook.events == ["budget.*", "model.*"]
    _assert_secret_shown_once(client, webhook)
    assert f"/teams/{world.team.slug}/webhooks/" in client.get(f"/teams/{world.team.slug}/").content.decode()


def _assert_secret_shown_once(client, webhook):
    """The webhook's page shows the stored secret (the one that verifies signatures) once, uncached."""
    first = client.get(f"/webhooks/{webhook.pk}/")
    secret = TeamWebhook.objects.get(pk=webhook.pk).signing_secret
    assert first.status_code == 200 and "no-store" in first["Cache-Control"]
    assert f'data-testid="new-secret">{secret}<' in first.content.decode()
    body = b'{"kind":"webhook.test"}'
    assert verify(secret, webhooks.signature_header(secret, body, int(timezone.now().timestamp())), body)
    again = client.get(f"/webhooks/{webhook.pk}/").content.decode()
    assert secret not in again and 'data-testid="new-secret"' not in again


def test_rotate_secret_redirects_and_the_page_shows_the_new_secret_once(world):
    webhook, old_secret = _hook(world, "https://hooks.example.com/x")
    client = _client(world, "lead")
    answer = client.post(f"/webhooks/{webhook.pk}/rotate-secret/")
    assert answer.status_code == 302 and answer["Location"] == f"/webhooks/{webhook.pk}/"
    rotated = TeamWebhook.objects.get().signing_secret
    assert rotated != old_secret and rotated not in answer.content.decode()
    _assert_secret_shown_once(client, webhook)
    assert TeamWebhook.objects.get().signing_secret == rotated        # viewing the page rotates nothing


def test_get_on_post_only_webhook_urls_goes_to_the_webhooks_page_and_changes_nothing(world):
    webhook, secret = _hook(world, "https://hooks.example.com/x")
    delivery = webhooks.webhook_send_test(actor=world["lead"], webhook=webhook)
    client = _client(world, "lead")
    for path in (f"/webhooks/{webhook.pk}/rotate-secret/", f"/webhooks/{webhook.pk}/test/",
                 f"/webhooks/{webhook.pk}/delete/", f"/webhook-deliveries/{delivery.pk}/redeliver/",
                 f"/webhook-deliveries/{delivery.pk}/send-now/"):
        answer = client.get(path)
        assert answer.status_code == 302 and answer["Location"] == f"/webhooks/{webhook.pk}/", path
        assert client.put(path).status_code == 405, path
    assert TeamWebhook.objects.get().signing_secret == secret and WebhookDelivery.objects.count() == 1
    hidden = _client(world, "other_lead").get(f"/webhook-deliveries/{delivery.pk}/redeliver/")
    assert hidden.status_code == 404


def test_subscriptions_must_name_known_event_families(world):
    client = _client(world, "lead")
    page = client.post(f"/teams/{world.team.slug}/webhooks/", {"name": "x", "url": "https://hooks.example.com/x",
                                                               "events": "foo.bar, request.*, request"})
    html = page.content.decode()
    assert page.status_code == 400 and not TeamWebhook.objects.exists()
    assert "Unknown: foo.bar, request." in html and "account_request, model, model_card" in html
    assert "model_card" in client.get(f"/teams/{world.team.slug}/webhooks/").content.decode()    # the help text
    api = client.post("/api/v1/webhooks/", {"team": world.team.slug, "name": "x", "url": "https://hooks.example.com/x",
                                            "events": ["request.failed", "nope.*"]}, format="json")
    assert api.status_code == 400 and "nope.*" in json.dumps(api.json())
    assert "inventory" in json.dumps(api.json()) and not TeamWebhook.objects.exists()
    families = ("request.*", "approval.needed", "account_request.ready", "model.in_prod", "model_card.*",
                "budget.actual.100", "inventory.drift")
    webhook, _ = _hook(world, "https://hooks.example.com/x", events=families)
    assert webhook.events == sorted(families)
    schema = client.get("/api/schema/").content.decode()
    assert "model_card, budget, inventory" in schema


def test_api_create_returns_the_secret_once_and_replays_without_it(world):
    client = _client(world, "lead")
    body = {"team": world.team.slug, "name": "ci", "url": "https://hooks.example.com/x", "events": ["model.*"]}
    first = client.post("/api/v1/webhooks/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 201 and first.json()["secret"].startswith("whsec_")
    replay = client.post("/api/v1/webhooks/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert replay.status_code == 201 and replay.json()["secret"] is None
    webhook_id = first.json()["id"]
    assert "secret" not in client.get(f"/api/v1/webhooks/{webhook_id}/").json()
    rotated = client.post(f"/api/v1/webhooks/{webhook_id}/rotate-secret/").json()["secret"]
    assert rotated != first.json()["secret"] and TeamWebhook.objects.get().signing_secret == rotated
    moved = client.patch(f"/api/v1/webhooks/{webhook_id}/", {"team": world.other_team.slug}, format="json")
    assert moved.status_code == 400
    other = _client(world, "other_lead").post("/api/v1/webhooks/", {**body, "name": "x"}, format="json")
    assert other.status_code == 403
    test = client.post(f"/api/v1/webhooks/{webhook_id}/test/")
    assert test.status_code == 202 and test.json()["kind"] == "webhook.test"
    listing = client.get(f"/api/v1/webhook-deliveries/?webhook={webhook_id}&state=pending&kind=webhook.").json()
    assert listing["count"] == 1
    conflict = client.post(f"/api/v1/webhook-deliveries/{test.json()['id']}/redeliver/")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "invalid_transition"


def _add_webhooks_and_deliveries(world, start, count):
    for n in range(start, start + count):
        webhook, _ = webhooks.webhook_create(actor=SYSTEM, team=world.team, name=f"w{n}",
                                             url=f"https://hooks.example.com/{n}")
        webhooks.webhook_send_test(actor=SYSTEM, webhook=webhook)
    _event(world)


@pytest.mark.parametrize("path", ["/teams/{slug}/webhooks/", "/webhooks/{first}/", "/api/v1/webhooks/",
                                  "/api/v1/webhook-deliveries/"])
def test_list_query_count_does_not_grow_with_rows(world, path):
    client = _client(world, "lead")
    _add_webhooks_and_deliveries(world, 0, 1)
    url = path.format(slug=world.team.slug, first=TeamWebhook.objects.get().pk)
    client.get(url)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    small = count()
    _add_webhooks_and_deliveries(world, 1, 8)
    assert count() == small


# --- route matrix ---------------------------------------------------------------------------------
GLOBAL = {"platform_admin", "approver", "executive", "auditor"}
TEAM = {"lead", "ds", "mle"}
EVERYONE = GLOBAL | TEAM | {"other_lead", "outsider"}
MANAGERS = {"platform_admin", "lead"}
VIEWERS = {"platform_admin", "auditor"} | TEAM


def _webhook(w):
    return webhooks.webhook_create(actor=SYSTEM, team=w.team, name=f"route-{timezone.now().timestamp()}",
                                   url="https://hooks.example.com/route")[0]


def _finished_delivery(w):
    delivery = webhooks.webhook_send_test(actor=SYSTEM, webhook=_webhook(w))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state="failed")
    return delivery


def _pending_delivery(w):
    return webhooks.webhook_send_test(actor=SYSTEM, webhook=_webhook(w))


hook_kwargs = lambda w: {"webhook_id": _webhook(w).pk}  # noqa: E731
pk_kwargs = lambda w: {"pk": _webhook(w).pk}  # noqa: E731
HIDDEN = EVERYONE - VIEWERS

CASES = [
    # a team's page: others' teams are invisible (404); global roles without webhook rights get 403
    RouteCase("portal:webhook_list", VIEWERS, kwargs=lambda w: {"slug": w.team.slug},
              not_found={"other_lead", "outsider"}),
    RouteCase("portal:webhook_list", MANAGERS, method="post", kwargs=lambda w: {"slug": w.team.slug},
              data=lambda w: {"name": "new", "url": "https://hooks.example.com/new", "active": "on"},
              not_found={"other_lead", "outsider"}),
    RouteCase("portal:webhook_detail", VIEWERS, kwargs=hook_kwargs, not_found=HIDDEN),
    RouteCase("portal:webhook_detail", MANAGERS, method="post", kwargs=hook_kwargs, not_found=HIDDEN,
              data=lambda w: {"name": "renamed", "url": "https://hooks.example.com/r", "active": "on"}),
    RouteCase("portal:webhook_delete", MANAGERS, method="post", kwargs=hook_kwargs, not_found=HIDDEN),
    RouteCase("portal:webhook_test", MANAGERS, method="post", kwargs=hook_kwargs, not_found=HIDDEN),
    RouteCase("portal:webhook_rotate_secret", MANAGERS, method="post", kwargs=hook_kwargs, not_found=HIDDEN),
    RouteCase("portal:webhook_redeliver", MANAGERS, method="post",
              kwargs=lambda w: {"delivery_id": _finished_delivery(w).pk}, not_found=HIDDEN),
    RouteCase("webhook-list", VIEWERS | {"other_lead"}, api=True),
    RouteCase("webhook-list", MANAGERS, api=True, method="post",
              data=lambda w: {"team": w.team.slug, "name": "api", "url": "https://hooks.example.com/api"}),
    RouteCase("webhook-detail", VIEWERS, api=True, kwargs=pk_kwargs, not_found=HIDDEN),
    RouteCase("webhook-detail", MANAGERS, api=True, method="patch", kwargs=pk_kwargs, not_found=HIDDEN,
              data=lambda w: {"active": False}),
    RouteCase("webhook-detail", MANAGERS, api=True, method="delete", kwargs=pk_kwargs, not_found=HIDDEN),
    RouteCase("webhook-test", MANAGERS, api=True, method="post", kwargs=pk_kwargs, not_found=HIDDEN,
              success=(202,)),
    RouteCase("webhook-rotate-secret", MANAGERS, api=True, method="post", kwargs=pk_kwargs, not_found=HIDDEN),
    RouteCase("webhook-delivery-list", VIEWERS | {"other_lead"}, api=True),
    RouteCase("webhook-delivery-detail", VIEWERS, api=True, kwargs=lambda w: {"pk": _finished_delivery(w).pk},
              not_found=HIDDEN),
    RouteCase("webhook-delivery-redeliver", MANAGERS, api=True, method="post",
              kwargs=lambda w: {"pk": _finished_delivery(w).pk}, not_found=HIDDEN, success=(202,)),
    RouteCase("portal:webhook_send_now", MANAGERS, method="post",
              kwargs=lambda w: {"delivery_id": _pending_delivery(w).pk}, not_found=HIDDEN),
    RouteCase("webhook-delivery-send-now", MANAGERS, api=True, method="post",
              kwargs=lambda w: {"pk": _pending_delivery(w).pk}, not_found=HIDDEN, success=(202,)),
]


@pytest.mark.parametrize("persona", ["anonymous", *sorted(EVERYONE)])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.label)
def test_route_permissions(case, persona, world):
    run_case(case, world, persona, APIClient)


# --- URLs as credentials ----------------------------------------------------------------------------
SECRET_URL = "https://hooks.example.com:8443/services/T000/B000/XXXXsecret?token=abc"


def test_display_url_keeps_only_scheme_host_and_port():
    assert webhooks.display_url(SECRET_URL) == "https://hooks.example.com:8443/…"
    assert webhooks.display_url("https://hooks.example.com/") == "https://hooks.example.com"
    assert webhooks.display_url("https://[2001:db8::1]/x") == "https://[2001:db8::1]/…"


def test_audit_events_and_notices_never_hold_the_url_path(world, enqueued, settings, monkeypatch):
    settings.PORTAL_WEBHOOK_MAX_ATTEMPTS = 1
    webhook, _ = _hook(world, SECRET_URL)
    webhook = webhooks.webhook_update(actor=world["lead"], webhook=webhook,
                                      url=SECRET_URL.replace("XXXXsecret", "YYYYsecret"))
    assert TeamWebhook.objects.get().url.endswith("YYYYsecret?token=abc")     # a path-only change is saved
    monkeypatch.setattr(webhooks, "_http_post", lambda *args: (500, "boom"))
    webhooks.webhook_deliver(webhooks.webhook_send_test(actor=world["lead"], webhook=webhook).pk)
    webhooks.webhook_delete(actor=world["lead"], webhook=webhook)
    events = AuditEvent.objects.filter(action__startswith="webhook")
    assert {"webhook.create", "webhook.update", "webhook.delete"} <= set(events.values_list("action", flat=True))
    dumped = json.dumps(list(events.values("before", "after", "target_label")), default=str, ensure_ascii=False)
    [notice] = Notification.objects.filter(kind="webhook.failed")
    for text in (dumped, notice.subject + notice.body):
        assert "secret" not in text and "T000" not in text and "token" not in text
    assert "https://hooks.example.com:8443/…" in dumped and "https://hooks.example.com:8443/…" in notice.body


def test_the_url_is_encrypted_at_rest(world):
    webhook, _ = _hook(world, SECRET_URL)
    with connection.cursor() as cursor:
        cursor.execute("SELECT url FROM portal_teamwebhook WHERE id = %s", [webhook.pk])
        stored = cursor.fetchone()[0]
    assert "hooks.example.com" not in stored and TeamWebhook.objects.get().url == SECRET_URL


def test_only_managers_see_the_full_url_and_the_receivers_answers(world):
    webhook, _ = _hook(world, SECRET_URL)
    delivery = webhooks.webhook_send_test(actor=world["lead"], webhook=webhook)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state="failed", last_status_code=500,
                                                          last_error="The receiver answered HTTP 500.",
                                                          response_excerpt="stack trace from the receiver")
    pages = [f"/teams/{world.team.slug}/webhooks/", f"/webhooks/{webhook.pk}/"]
    for persona, sees_all in (("lead", True), ("platform_admin", True), ("ds", False), ("auditor", False)):
        client = _client(world, persona)
        for page in pages:
            html = client.get(page).content.decode()
            assert ("XXXXsecret" in html) is sees_all, (persona, page)
            assert "https://hooks.example.com:8443/…" in html or sees_all, (persona, page)
        assert ("stack trace" in client.get(pages[1]).content.decode()) is sees_all, persona
        assert "HTTP 500" in client.get(pages[1]).content.decode()
        api = client.get(f"/api/v1/webhooks/{webhook.pk}/").json()
        listed = client.get("/api/v1/webhooks/").json()["results"]
        shown = SECRET_URL if sees_all else "https://hooks.example.com:8443/…"
        assert api["url"] == shown and [row["url"] for row in listed] == [shown], persona
        answer = client.get(f"/api/v1/webhook-deliveries/{delivery.pk}/").json()
        assert answer["last_status_code"] == 500
        assert answer["response_excerpt"] == ("stack trace from the receiver" if sees_all else ""), persona
    assert _client(world, "ds").get("/api/v1/webhooks/?search=XXXXsecret").json()["count"] == 0
