"""Celery entry points of the core app. Thin: they call services; each is idempotent."""
import socket
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from portal import audit, webhooks
from portal.models import IdempotencyRecord, WorkerHeartbeat


@shared_task(name="portal.heartbeat")
def heartbeat(**_ignored):
    """Record that a worker is alive (the health page reads it). Repeats just move the time."""
    WorkerHeartbeat.objects.update_or_create(hostname=socket.gethostname(),
                                             defaults={"seen_at": timezone.now()})


@shared_task(name="portal.approval_nudges")
def approval_nudges(**_ignored):
    """Reminders and escalations of waiting inbox items (portal.inbox.approval_nudges_send); each
    (item, level, wait) is sent once, so a repeat sends nothing new."""
    from portal.inbox import approval_nudges_send
    return approval_nudges_send()


@shared_task(name="portal.idempotency_purge")
def idempotency_purge(**_ignored):
    """Forget Idempotency-Key records older than IDEMPOTENCY_KEY_TTL_HOURS. Safe to repeat."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()


@shared_task(name="portal.send_notification_emails")
def send_notification_emails(notification_ids: list[int], **_ignored):
    """E-mail each notification not yet e-mailed, then mark it. A repeat skips sent ones."""
    from django.core.mail import send_mail

    from portal.models import Notification
    from portal.notifications import absolute_url

    for notification in Notification.objects.filter(pk__in=notification_ids, emailed=False).select_related("user"):
        if notification.user.email:
            link = f"\n\n{absolute_url(notification.url)}" if notification.url else ""
            send_mail(notification.subject, f"{notification.body}{link}", settings.DEFAULT_FROM_EMAIL,
                      [notification.user.email])
        Notification.objects.filter(pk=notification.pk).update(emailed=True)


@shared_task(name="portal.deliver_webhook", soft_time_limit=60, time_limit=90)
def deliver_webhook(delivery_id: int, **_ignored):
    """Send one webhook delivery if it is pending and due (portal.webhooks.webhook_deliver).
    A duplicate message finds nothing to claim and does nothing."""
    webhooks.webhook_deliver(delivery_id)


@shared_task(name="portal.webhook_requeue")
def webhook_requeue(**_ignored):
    """Beat: re-enqueue webhook deliveries whose message was lost. Safe to repeat."""
    webhooks.webhook_requeue()


@shared_task(name="portal.audit_checkpoint")
def audit_checkpoint(**_ignored):
    """Beat: anchor new audit events in a signed checkpoint outside the database
    (portal.audit.audit_checkpoint). A sequence already anchored is not written twice."""
    audit.audit_checkpoint()
