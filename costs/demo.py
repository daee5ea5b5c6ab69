"""Demo data for `make run` (``seed_demo --sync``): 13 months of cost history and the usage report
at once, instead of after the first beat hours later. Idempotent: the backfill runs only while no
sync has succeeded; the usage sync converges."""
from costs import services
from costs.models import CostSyncRun


def prime() -> str:
    note = "cost history already loaded"
    if not CostSyncRun.objects.filter(status=CostSyncRun.Status.SUCCEEDED).exists():
        runs = services.cost_backfill()
        note = f"cost history loaded ({len(runs)} syncs)"
    usage = services.usage_sync()
    return f"{note}; usage synced ({usage['accounts']} accounts)"
