"""Celery entry points of the provisioning app. Thin: ids in, a service call, idempotent."""
from celery import shared_task

from portal.permissions import SYSTEM


@shared_task(name="provisioning.catalog_sync")
def catalog_sync(**_ignored):
    """Mirror Service Catalog (beat, and the admins' "Sync now" button). A repeat changes nothing."""
    from provisioning.services import catalog_sync as sync
    return sync(actor=SYSTEM)


@shared_task(name="provisioning.request_execute")
def request_execute(request_id: int, attempt: int = 0, **_ignored):
    """Start the request's current AWS operation (token stored first). Repeats are no-ops."""
    from provisioning.services import request_execute as execute
    return execute(request_id=request_id, attempt=attempt)


@shared_task(name="provisioning.request_poll")
def request_poll(request_id: int, attempt: int = 0, **_ignored):
    """Follow the request's record until it settles (backoff with jitter between polls)."""
    from provisioning.services import request_poll as poll
    return poll(request_id=request_id, attempt=attempt)


@shared_task(name="provisioning.reconcile")
def reconcile(**_ignored):
    """Flag inventory drift and re-enqueue stale in-flight requests. Never writes to AWS."""
    from provisioning.services import reconcile as run
    return run(actor=SYSTEM).pk


@shared_task(name="provisioning.expiry_check")
def expiry_check(**_ignored):
    """Remind owners of expiring products and terminate expired ones. Repeats change nothing."""
    from provisioning.services import expiry_check as check
    return check(actor=SYSTEM)
