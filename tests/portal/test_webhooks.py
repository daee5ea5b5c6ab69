"""Outbound webhooks: emission in the caller's transaction, signing, delivery with retries, permissions."""
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import PermissionDenied
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


def test_metadata_and_loopback_addresses_are_refused_at_send_time(world, receiver, enqueued, settings):
    webhook, _ = _hook(world, receiver.url)
    _event(world)
    settings.PORTAL_WEBHOOK_ALLOW_LOOPBACK = False     # e.g. a host name that resolves to 127.0.0.1
    assert webhooks.webhook_deliver(WebhookDelivery.objects.get().pk) == "pending"
    assert "no address" in WebhookDelivery.objects.get().last_error and receiver.requests == []


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
    assert good.status_code == 200 and good["Cache-Control"] == "no-store"
    webhook = TeamWebhook.objects.get()
    assert webhook.signing_secret in good.content.decode() and webhook.events == ["budget.*", "model.*"]
    assert webhook.signing_secret not in client.get(f"/webhooks/{webhook.pk}/").content.decode()
    assert f"/teams/{world.team.slug}/webhooks/" in client.get(f"/teams/{world.team.slug}/").content.decode()


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
]


@pytest.mark.parametrize("persona", ["anonymous", *sorted(EVERYONE)])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.label)
def test_route_permissions(case, persona, world):
    run_case(case, world, persona, APIClient)
