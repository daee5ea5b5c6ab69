"""Celery entry points of the costs app (thin: they call services)."""
from celery import shared_task


@shared_task(name="costs.cost_sync_window")
def cost_sync_window(**_ignored):
    """Re-read the trailing window from Cost Explorer (beat, every few hours). A repeat converges
    to the same rows; a failure is recorded on its CostSyncRun and the next beat tries again."""
    from costs import services

    return services.cost_sync_window().pk


@shared_task(name="costs.cost_digest_send")
def cost_digest_send(**_ignored):
    """Send this week's cost digest to subscribers (beat, weekly). Once per user and week."""
    from costs import services

    return services.cost_digest_send()


@shared_task(name="costs.usage_sync")
def usage_sync(account_ids=None, **_ignored):
    """Re-read the team accounts' SageMaker endpoints for the usage report (beat, with the cost
    sync; with ``account_ids``, only those: sent after the portal deploys an endpoint). A repeat
    converges; an account that fails keeps its previous rows until the next run."""
    from costs import services

    return services.usage_sync(account_ids=account_ids) if account_ids else services.usage_sync()
