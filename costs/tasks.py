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
