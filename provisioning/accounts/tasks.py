"""Celery entry points of account vending. Thin: ids in, a service call, idempotent."""
from celery import shared_task


@shared_task(name="account_vending.dispatch_queue")
def dispatch_queue(**_ignored):
    """Start queued account requests while slots are free (beat, and after every change). A repeat starts nothing more."""
    from provisioning.accounts.services import account_queue_dispatch
    return account_queue_dispatch()


@shared_task(name="account_vending.request_step")
def request_step(request_id: int, attempt: int = 0, **_ignored):
    """Advance one in-flight request (re-schedules itself with backoff). Redeliveries are no-ops for done work."""
    from provisioning.accounts.services import account_request_step
    return account_request_step(request_id=request_id, attempt=attempt)


@shared_task(name="account_vending.lease_check")
def lease_check(**_ignored):
    """Sandbox lease reminders and expiry notices (beat). A repeat notifies nobody twice."""
    from provisioning.accounts.services import account_lease_check
    return account_lease_check()


@shared_task(name="account_vending.close_step")
def close_step(request_id: int, **_ignored):
    """CloseAccount for an approved closure. A redelivery does nothing."""
    from provisioning.accounts.services import account_close_execute
    return account_close_execute(request_id=request_id)
