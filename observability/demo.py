"""Demo data for `make run` (``seed_demo --sync``): a first activity sync, so the activity view has
the events the seed and the other apps' priming caused (this app is primed last)."""
from observability import services


def prime() -> str:
    summary = services.activity_sync()
    return (f"activity synced ({summary['events']} events from {summary['accounts']} accounts, "
            f"{summary['requests']} LookupEvents requests)")
