"""Notifications: one call tells people something, in the portal and by e-mail.

``notify`` is called by services inside their transaction; the rows commit with the change and
the e-mails are sent only after commit (by a Celery task), so a rolled-back change notifies nobody.
An event about a team also goes, once, to the team's webhooks (``portal.webhooks``), the same way.
"""
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.models import Notification


def notify(*, users, kind: str, subject: str, body: str = "", url: str = "", team=None,
           email: bool = True) -> list[Notification]:
    """Create one notification per distinct active user; e-mail them after commit when ``email``.

    Side effects: Notification rows; a ``portal.send_notification_emails`` task after commit; with a
    ``team``, one webhook event for the team's subscribed webhooks (rows now, sending after commit),
    whoever the recipients are. Idempotency is the caller's: calling twice notifies twice.
    """
    if team is not None:
        from portal.webhooks import webhook_event_emit
        webhook_event_emit(team=team, kind=kind, subject=subject[:200], body=body, url=url)
    recipients = {user.pk: user for user in users if user is not None and user.is_active and user.pk}
    rows = Notification.objects.bulk_create([
        Notification(user=user, kind=kind, subject=subject[:200], body=body, url=url[:300], team=team)
        for user in recipients.values()])
    if email and rows:
        ids = [row.pk for row in rows]   # PostgreSQL and SQLite ≥ 3.35 return the new keys
        from portal.tasks import send_notification_emails
        transaction.on_commit(lambda: send_notification_emails.delay(ids))
    return rows


def notification_mark_read(*, actor, notification_ids=None) -> int:
    """Mark the actor's notifications read (all unread ones when ``notification_ids`` is None).
    Not audited: it changes only the reader's own view. Repeats change nothing."""
    queryset = Notification.objects.filter(user=actor, read_at__isnull=True)
    if notification_ids is not None:
        queryset = queryset.filter(pk__in=notification_ids)
    return queryset.update(read_at=timezone.now())


def absolute_url(path: str) -> str:
    """A link for e-mails: PORTAL_BASE_URL + path."""
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}{path}" if path.startswith("/") else path
