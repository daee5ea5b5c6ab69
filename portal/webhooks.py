"""Outbound webhooks: a team's events, signed and POSTed to its endpoints, with retries (docs/webhooks.md).

``webhook_event_emit`` runs inside ``notify``, in the caller's transaction: one delivery row per
subscribed active webhook commits with the change, and sending is enqueued after commit, so a
rolled-back change sends nothing. ``webhook_deliver`` claims a row by compare-and-set before it
POSTs, so a duplicate task message or a second worker never sends one delivery twice at once, and
a delivered one is never sent again. Management services check permission and write an audit event
(never containing the secret, and the URL only as ``display_url``) in the same transaction.
"""
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import re
import secrets
import socket
import ssl
import time
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal import retry
from portal.audit import audit_record
from portal.errors import Conflict, DomainError, InvalidTransition
from portal.models import Team, TeamRole, TeamWebhook, WebhookDelivery
from portal.notifications import absolute_url, notify
from portal.permissions import require
from portal.services import full_clean_or_explain

State = WebhookDelivery.State
WEBHOOK_FIELDS = ("name", "url", "events", "active")
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.\*)?$")
# The first segment of every kind the apps pass to ``notify(kind=...)`` for a team (webhook.* is never sent).
# provisioning_request, account_request, model_version, model_card: every transition of a request
# kind as ``<kind>.<transition>`` (portal.workflow); the older notification kinds stay.
EVENT_FAMILIES = ("request", "approval", "account_request", "model", "model_card", "budget", "inventory",
                  "provisioning_request", "model_version")
EVENTS_HELP = (f"Exact event kinds such as 'request.failed' or 'model.in_prod', or whole families such as "
               f"'model.*'. Families: {', '.join(EVENT_FAMILIES)}. Empty: every event of the team.")
EXCERPT_BYTES = 500
URL_MAX_LENGTH = 500
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
# What a delivery records when no HTTP answer came: generic, so the history is no port-scan oracle.
REFUSED = "refused: address not allowed"
COULD_NOT_CONNECT = "could not connect"
TIMED_OUT = "timed out"
TLS_ERROR = "TLS error"

logger = logging.getLogger(__name__)


class DeliveryRefused(Exception):
    """The receiver's address is one the portal does not send to."""


# --- Validation ---------------------------------------------------------------------------------
def _loopback_allowed() -> bool:
    return settings.DEBUG or settings.PORTAL_WEBHOOK_ALLOW_LOOPBACK


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if len(url) > URL_MAX_LENGTH:
        raise DomainError(f"The URL is longer than {URL_MAX_LENGTH} characters.",
                          fields={"url": [f"Shorten the URL to at most {URL_MAX_LENGTH} characters."]})
    if parts.username or parts.password:
        raise DomainError("Put no user name or password in the URL: the signature proves the portal sent it.",
                          fields={"url": ["Remove the user name and password."]})
    loopback = host in LOOPBACK_NAMES
    if loopback and not _loopback_allowed():
        raise DomainError("The portal does not send webhooks to itself (127.0.0.1, localhost).",
                          fields={"url": ["Use the receiver's public or internal host name."]})
    if not host or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise DomainError("Use an https:// URL; plain http is accepted only for 127.0.0.1 or localhost in "
                          "development.", fields={"url": ["Use an https:// URL."]})
    return url


def _clean_events(events) -> list[str]:
    """The subscriptions sorted and without duplicates; each must be ``<family>.<kind>`` or ``<family>.*``
    of a known family, else DomainError naming the unknown ones and listing the families."""
    cleaned = sorted({event.strip() for event in events or () if event.strip()})
    wrong = [event for event in cleaned if not KIND_PATTERN.match(event) or "." not in event
             or event.split(".", 1)[0] not in EVENT_FAMILIES]
    if wrong:
        families = ", ".join(EVENT_FAMILIES)
        raise DomainError(f"Unknown event pattern: {', '.join(wrong)}. Known families: {families}.", fields={"events": [
            f"Unknown: {', '.join(wrong)}. Use kinds such as 'request.failed' or families such as 'model.*' "
            f"of: {families}."]})
    return cleaned


def display_url(url: str) -> str:
    """``url`` without what may be a credential: scheme, host and port, then "/…" when it had a path or
    query (Slack-style URLs carry their secret there). For audit events, notices and non-managers."""
    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    return f"{shown}/…" if parts.path.strip("/") or parts.query else shown


def _snapshot(webhook: TeamWebhook) -> dict:
    return {name: getattr(webhook, name) for name in WEBHOOK_FIELDS}


def _audit_snapshot(webhook: TeamWebhook) -> dict:
    return {**_snapshot(webhook), "url": display_url(webhook.url)}


def _new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


# --- Management services -------------------------------------------------------------------------
def webhook_create(*, actor, team: Team, name: str, url: str, events=(), active: bool = True
                   ) -> tuple[TeamWebhook, str]:
    """Create a team webhook with a new signing secret. Returns the row and the secret, to show once.
    Writes the row and a ``webhook.create`` audit event (without the secret). A repeat with the same
    name raises Conflict."""
    require(actor, "add", TeamWebhook, team.pk)
    secret = _new_secret()
    with transaction.atomic():
        if TeamWebhook.objects.filter(team=team, name__iexact=name.strip()).exists():
            raise Conflict(f"{team.name} already has a webhook called '{name.strip()}'.",
                           fields={"name": ["Already taken in this team."]})
        webhook = TeamWebhook(team=team, name=name.strip(), url=_clean_url(url), events=_clean_events(events),
                              active=active, signing_secret=secret, created_by=actor if actor.pk else None)
        full_clean_or_explain(webhook)
        webhook.save()
        audit_record(actor=actor, action="webhook.create", target=webhook, team=team,
                     after=_audit_snapshot(webhook))
    return webhook, secret


def _locked(webhook: TeamWebhook) -> TeamWebhook:
    return TeamWebhook.objects.select_for_update(of=("self",)).select_related("team").get(pk=webhook.pk)


def webhook_update(*, actor, webhook: TeamWebhook, **changes) -> TeamWebhook:
    """Change a webhook's name, URL, subscribed events or active flag. Audited with before/after;
    a call that changes nothing writes nothing. Pending deliveries of a deactivated webhook give up."""
    require(actor, "change", TeamWebhook, webhook.team_id)
    unknown = set(changes) - set(WEBHOOK_FIELDS)
    if unknown:
        raise DomainError(f"Unknown webhook field: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        webhook = _locked(webhook)
        before, audit_before = _snapshot(webhook), _audit_snapshot(webhook)
        if "name" in changes:
            webhook.name = changes["name"].strip()
        if "url" in changes:
            webhook.url = _clean_url(changes["url"])
        if "events" in changes:
            webhook.events = _clean_events(changes["events"])
        if "active" in changes:
            webhook.active = bool(changes["active"])
        if _snapshot(webhook) == before:
            return webhook
        if TeamWebhook.objects.filter(team=webhook.team, name__iexact=webhook.name).exclude(pk=webhook.pk).exists():
            raise Conflict(f"{webhook.team.name} already has a webhook called '{webhook.name}'.",
                           fields={"name": ["Already taken in this team."]})
        full_clean_or_explain(webhook)
        webhook.save(update_fields=list(WEBHOOK_FIELDS))
        audit_record(actor=actor, action="webhook.update", target=webhook, team=webhook.team, before=audit_before,
                     after=_audit_snapshot(webhook))
    return webhook


def webhook_delete(*, actor, webhook: TeamWebhook) -> None:
    """Delete a webhook and its delivery history; queued sends find nothing and stop. Audited."""
    require(actor, "delete", TeamWebhook, webhook.team_id)
    with transaction.atomic():
        webhook = _locked(webhook)
        audit_record(actor=actor, action="webhook.delete", target=webhook, team=webhook.team,
                     before=_audit_snapshot(webhook))
        webhook.delete()


def webhook_rotate_secret(*, actor, webhook: TeamWebhook) -> tuple[TeamWebhook, str]:
    """Replace the signing secret; returns the webhook and the new secret, to show once. Every send
    from now on (retries included) is signed with it. Audited without the secret; each call rotates."""
    require(actor, "change", TeamWebhook, webhook.team_id)
    secret = _new_secret()
    with transaction.atomic():
        webhook = _locked(webhook)
        webhook.signing_secret, webhook.secret_rotated_at = secret, timezone.now()
        webhook.save(update_fields=["signing_secret", "secret_rotated_at"])
        audit_record(actor=actor, action="webhook.rotate_secret", target=webhook, team=webhook.team,
                     after={"secret_rotated_at": webhook.secret_rotated_at})
    return webhook, secret


def webhook_send_test(*, actor, webhook: TeamWebhook) -> WebhookDelivery:
    """Queue a ``webhook.test`` event for this webhook only (whatever it subscribes to); sent after
    commit. Audited. Each call sends a new test event."""
    require(actor, "change", TeamWebhook, webhook.team_id)
    with transaction.atomic():
        webhook = _locked(webhook)
        if not webhook.active:
            raise InvalidTransition("The webhook is inactive; activate it before sending a test event.")
        event_id = uuid.uuid4()
        payload = _payload(event_id=event_id, kind="webhook.test", team=webhook.team,
                           subject=f"Test event for the webhook '{webhook.name}'",
                           body="Sent from the portal to check that the receiver verifies the signature.",
                           url=reverse("portal:webhook_detail", args=[webhook.pk]))
        [delivery] = _create_deliveries([webhook], kind="webhook.test", event_id=event_id, payload=payload)
        audit_record(actor=actor, action="webhook.test", target=webhook, team=webhook.team,
                     after={"event_id": str(event_id), "delivery": delivery.pk})
    return delivery


def webhook_delivery_redeliver(*, actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a finished delivery again as a new delivery row with the same event id and payload (receivers
    de-duplicate on the id); sent after commit. Audited. A delivery still being sent raises
    InvalidTransition; each call on a finished one queues another send."""
    require(actor, "change", WebhookDelivery, delivery.webhook.team_id)
    with transaction.atomic():
        webhook = _locked(delivery.webhook)
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.state not in (State.SUCCEEDED, State.FAILED):
            raise InvalidTransition("This delivery is still being sent; redeliver it once it has finished.")
        if not webhook.active:
            raise InvalidTransition("The webhook is inactive; activate it before redelivering.")
        [copy] = _create_deliveries([webhook], kind=delivery.kind, event_id=delivery.event_id,
                                    payload=delivery.payload)
        audit_record(actor=actor, action="webhook_delivery.redeliver", target=copy, team=webhook.team,
                     after={"redelivery_of": delivery.pk, "event_id": str(delivery.event_id), "kind": delivery.kind})
    return copy


def webhook_delivery_send_now(*, actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a pending delivery now instead of at its next retry: moves its ``next_attempt_at`` to now
    and enqueues it after commit; the worker's claim keeps it from being sent twice. Audited as
    ``webhook_delivery.send_now``. A delivery being sent or finished (then redeliver applies) raises
    InvalidTransition; a repeat call enqueues another message, which finds nothing to claim once sent."""
    require(actor, "change", WebhookDelivery, delivery.webhook.team_id)
    with transaction.atomic():
        webhook = _locked(delivery.webhook)
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.state == State.DELIVERING:
            raise InvalidTransition("This delivery is being sent right now; its outcome appears in a moment.")
        if delivery.state != State.PENDING:
            raise InvalidTransition("This delivery has finished; redeliver it to send the event again.")
        if not webhook.active:
            raise InvalidTransition("The webhook is inactive; activate it before sending.")
        delivery.next_attempt_at = timezone.now()
        delivery.save(update_fields=["next_attempt_at"])
        audit_record(actor=actor, action="webhook_delivery.send_now", target=delivery, team=webhook.team,
                     after={"event_id": str(delivery.event_id), "kind": delivery.kind, "attempts": delivery.attempts})
        _schedule([delivery.pk])
    return delivery


# --- Emission ------------------------------------------------------------------------------------
def _payload(*, event_id, kind: str, team: Team, subject: str, body: str, url: str) -> dict:
    return {"id": str(event_id), "kind": kind, "team": team.slug, "subject": subject, "body": body,
            "url": absolute_url(url) if url else "", "occurred_at": timezone.now().isoformat()}


def _schedule(delivery_ids: list[int], countdown: int = 0) -> None:
    from portal.tasks import deliver_webhook

    for delivery_id in delivery_ids:
        retry.later(deliver_webhook, delivery_id, countdown=countdown)


def _create_deliveries(webhooks, *, kind: str, event_id, payload: dict) -> list[WebhookDelivery]:
    rows = WebhookDelivery.objects.bulk_create([
        WebhookDelivery(webhook=webhook, kind=kind, event_id=event_id, payload=payload) for webhook in webhooks])
    _schedule([row.pk for row in rows])
    return rows


def webhook_event_emit(*, team: Team, kind: str, subject: str, body: str = "", url: str = ""
                       ) -> list[WebhookDelivery]:
    """Queue one event for every active webhook of ``team`` subscribed to ``kind``, in the caller's
    transaction; sending is enqueued after commit. The portal's own ``webhook.*`` notices are never
    emitted, so a failing webhook cannot feed itself. Calling twice emits two events."""
    if kind.startswith("webhook."):
        return []
    webhooks = [webhook for webhook in TeamWebhook.objects.filter(team=team, active=True).defer("signing_secret")
                if webhook.subscribes_to(kind)]
    if not webhooks:
        return []
    event_id = uuid.uuid4()
    payload = _payload(event_id=event_id, kind=kind, team=team, subject=subject, body=body, url=url)
    return _create_deliveries(webhooks, kind=kind, event_id=event_id, payload=payload)


# --- Signing and sending -------------------------------------------------------------------------
def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    """``t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``: what receivers verify."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _allowed_networks() -> list:
    try:
        return [ipaddress.ip_network(cidr, strict=False) for cidr in settings.PORTAL_WEBHOOK_ALLOWED_NETWORKS]
    except ValueError as error:
        raise ImproperlyConfigured(f"PORTAL_WEBHOOK_ALLOWED_NETWORKS must be comma-separated networks such as "
                                   f"10.20.0.0/16 ({error}).") from None


def _destinations(ip) -> list:
    """``ip`` and the IPv4 addresses it reaches through IPv6 transition mechanisms (IPv4-mapped and
    -compatible, NAT64 64:ff9b::/96, 6to4, Teredo): every one of them must be allowed."""
    if ip.version == 4:
        return [ip]
    if ip.ipv4_mapped:
        return [ip.ipv4_mapped]
    if ip in NAT64_PREFIX or 1 < int(ip) < 2 ** 32:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip.sixtofour:
        return [ip, ip.sixtofour]
    if ip.teredo:
        return [ip, *ip.teredo]
    return [ip]


def _address_allowed(ip, networks: list) -> bool:
    if ip.is_multicast or ip.is_unspecified:
        return False
    if any(ip.version == network.version and ip in network for network in networks):
        return True
    if ip.is_loopback:
        return _loopback_allowed()
    return ip.is_global


def _receiver_ip(scheme: str, host: str, port: int) -> str:
    """An address of ``host`` the portal may send to: a global one (after unwrapping IPv6 transition
    addresses), or one in PORTAL_WEBHOOK_ALLOWED_NETWORKS, or loopback in development; plain http
    only to loopback. The connection goes to this very address, so a DNS answer cannot change
    between the check and the send. Raises DeliveryRefused, OSError when the name does not resolve."""
    networks = _allowed_networks()
    for _family, _type, _proto, _name, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        destinations = _destinations(ip)
        if not all(_address_allowed(destination, networks) for destination in destinations):
            continue
        if scheme == "http" and not all(destination.is_loopback for destination in destinations):
            continue
        return sockaddr[0]
    raise DeliveryRefused(f"{host} resolves to no address the portal sends webhooks to.")


def _http_post(url: str, body: bytes, headers: dict) -> tuple[int, str]:
    """POST without following redirects, with connect and read timeouts; reads at most EXCERPT_BYTES
    of the answer. Returns (status, excerpt)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    ip = _receiver_ip(parts.scheme, parts.hostname, port)
    sock = socket.create_connection((ip, port), timeout=settings.PORTAL_WEBHOOK_CONNECT_TIMEOUT)
    try:
        sock.settimeout(settings.PORTAL_WEBHOOK_READ_TIMEOUT)
        if parts.scheme == "https":
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
        connection = http.client.HTTPConnection(parts.hostname, port)
        connection.sock = sock
        path = parts.path or "/"
        connection.request("POST", f"{path}?{parts.query}" if parts.query else path, body,
                           {**headers, "Host": parts.netloc})
        response = connection.getresponse()
        return response.status, response.read(EXCERPT_BYTES).decode("utf-8", "replace")
    finally:
        sock.close()


def _attempt(delivery: WebhookDelivery) -> tuple[int | None, str, str]:
    """One POST of ``delivery``: (status code or None, error or "" on success, response excerpt). Without
    an answer the error is one of the generic reasons above, never the exception's text."""
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": f"{settings.PORTAL_NAME} webhooks",
               "X-Portal-Event": delivery.kind, "X-Portal-Event-Id": str(delivery.event_id),
               "X-Portal-Delivery": str(delivery.pk),
               "X-Portal-Signature": signature_header(delivery.webhook.signing_secret, body, int(time.time()))}
    try:
        status, excerpt = _http_post(delivery.webhook.url, body, headers)
    except DeliveryRefused:
        return None, REFUSED, ""
    except (SoftTimeLimitExceeded, TimeoutError):
        return None, TIMED_OUT, ""
    except ssl.SSLError:
        return None, TLS_ERROR, ""
    except (OSError, http.client.HTTPException):
        return None, COULD_NOT_CONNECT, ""
    if 200 <= status < 300:
        return status, "", excerpt
    if 300 <= status < 400:
        return status, f"The receiver answered HTTP {status}; redirects are not followed.", excerpt
    return status, f"The receiver answered HTTP {status}.", excerpt


def backoff_seconds(attempts: int) -> int:
    """Wait after ``attempts`` failed tries (``portal.retry``): base × 2^(attempts−1) plus 0–20 %
    jitter, capped."""
    return int(retry.backoff_seconds(attempts - 1, base=settings.PORTAL_WEBHOOK_BACKOFF_SECONDS,
                                     cap=settings.PORTAL_WEBHOOK_BACKOFF_MAX_SECONDS, spread=(1.0, 1.2)))


def _lease_seconds() -> int:
    return settings.PORTAL_WEBHOOK_CONNECT_TIMEOUT + settings.PORTAL_WEBHOOK_READ_TIMEOUT + 60


def webhook_deliver(delivery_id: int) -> str | None:
    """Send one delivery if it is pending and due. Claims it (pending → delivering, compare-and-set
    under a row lock), POSTs outside any transaction, then records the outcome by compare-and-set:
    succeeded; pending again with a growing countdown (task enqueued after commit); or, after
    PORTAL_WEBHOOK_MAX_ATTEMPTS, failed with the team leads notified in the portal. A repeated or
    concurrent run finds nothing to claim and does nothing. Returns the new state, or None when there
    was nothing to claim or the claim was lost before the outcome could be recorded (logged)."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update(of=("self",), skip_locked=True)
                    .select_related("webhook__team")
                    .filter(pk=delivery_id, state=State.PENDING, next_attempt_at__lte=now + timedelta(seconds=2))
                    .first())
        if delivery is None:
            return None
        if not delivery.webhook.active:
            delivery.state, delivery.last_error = State.FAILED, "The webhook was deactivated before this was sent."
            delivery.save(update_fields=["state", "last_error"])
            return State.FAILED
        delivery.state, delivery.attempts = State.DELIVERING, delivery.attempts + 1
        delivery.next_attempt_at = now + timedelta(seconds=_lease_seconds())
        delivery.save(update_fields=["state", "attempts", "next_attempt_at"])
    status, error, excerpt = _attempt(delivery)
    outcome = {"last_status_code": status, "last_error": error[:300], "response_excerpt": excerpt[:500]}
    with transaction.atomic():
        claimed = WebhookDelivery.objects.filter(pk=delivery.pk, state=State.DELIVERING, attempts=delivery.attempts)
        delay = backoff_seconds(delivery.attempts)
        if not error:
            outcome.update(state=State.SUCCEEDED, delivered_at=timezone.now())
        elif delivery.attempts >= settings.PORTAL_WEBHOOK_MAX_ATTEMPTS:
            outcome.update(state=State.FAILED)
        else:
            outcome.update(state=State.PENDING, next_attempt_at=timezone.now() + timedelta(seconds=delay))
        if not claimed.update(**outcome):
            # The lease ran out (webhook_requeue took the row back) or the webhook was deleted meanwhile.
            logger.warning("Webhook delivery %s: attempt %s ended after its claim was lost; outcome %s not recorded.",
                           delivery.pk, delivery.attempts, outcome["state"])
            return None
        if outcome["state"] == State.FAILED:
            _notify_gave_up(delivery, error)
        elif outcome["state"] == State.PENDING:
            _schedule([delivery.pk], countdown=delay)
        return outcome["state"]


def _notify_gave_up(delivery: WebhookDelivery, error: str) -> None:
    webhook = delivery.webhook
    leads = [membership.user for membership in
             webhook.team.memberships.filter(role=TeamRole.LEAD).select_related("user")]
    notify(users=leads, kind="webhook.failed", team=webhook.team,
           subject=f"Webhook '{webhook.name}' gave up on a {delivery.kind} event",
           body=f"The event {delivery.event_id} did not reach {display_url(webhook.url)} after {delivery.attempts} attempts. "
                f"Last error: {error} Fix the receiver, then redeliver the event from the webhook's page.",
           url=reverse("portal:webhook_detail", args=[webhook.pk]))


def webhook_requeue(*, grace_seconds: int = 120) -> int:
    """For deliveries whose task message was lost: attempts past their lease (the worker died) go back
    to pending, and pending deliveries overdue by ``grace_seconds`` (at most 1000 a run) are enqueued
    again after commit, their ``next_attempt_at`` moved to now under a row lock, so a later run enqueues
    them again only if they are still overdue ``grace_seconds`` later. Returns how many were enqueued.
    Safe to repeat or to run concurrently: a row is enqueued by one run, and ``webhook_deliver``'s
    claim sends each attempt at most once."""
    now = timezone.now()
    WebhookDelivery.objects.filter(state=State.DELIVERING, next_attempt_at__lt=now).update(
        state=State.PENDING, last_error="The attempt was interrupted (worker lost); retrying.")
    with transaction.atomic():
        overdue = list(WebhookDelivery.objects.select_for_update(skip_locked=True).filter(
            state=State.PENDING, next_attempt_at__lt=now - timedelta(seconds=grace_seconds))
            .order_by("next_attempt_at").values_list("pk", flat=True)[:1000])
        WebhookDelivery.objects.filter(pk__in=overdue).update(next_attempt_at=now)
        _schedule(overdue)
    return len(overdue)
