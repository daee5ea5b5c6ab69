"""Celery entry points of the core app. Thin: they call services; each is idempotent."""
import socket
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from portal.models import IdempotencyRecord, WorkerHeartbeat


@shared_task(name="portal.heartbeat")
def heartbeat(**_ignored):
    """Record that a worker is alive (the health page reads it). Repeats just move the time."""
    WorkerHeartbeat.objects.update_or_create(hostname=socket.gethostname(),
                                             defaults={"seen_at": timezone.now()})


@shared_task(name="portal.idempotency_purge")
def idempotency_purge(**_ignored):
    """Forget Idempotency-Key records older than IDEMPOTENCY_KEY_TTL_HOURS. Safe to repeat."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
