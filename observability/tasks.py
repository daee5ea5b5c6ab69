"""Celery entry points of the observability app (thin: they call services)."""
from celery import shared_task


@shared_task(name="observability.activity_sync")
def activity_sync(account_ids=None, **_ignored):
    """Read new CloudTrail events of every account (beat, every few minutes). A repeat converges;
    accounts leased by a running sync are skipped."""
    from observability import services

    return services.activity_sync(account_ids=account_ids)


@shared_task(name="observability.activity_purge")
def activity_purge(**_ignored):
    """Delete events past the retention period (beat, daily)."""
    from observability import services

    return services.activity_purge()
