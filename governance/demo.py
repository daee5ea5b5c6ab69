"""Demo data for `make run` (``seed_demo --sync``): the model registries read at once instead of
at the first beat. Idempotent."""
from governance.tasks import registry_sync


def prime() -> str:
    """A full registry sync of every team dev account and the central registry."""
    results = registry_sync(full=True)
    failed = [account for account, result in results.items() if "error" in result]
    return f"model registries synced ({len(results)} accounts{', failed: ' + ', '.join(failed) if failed else ''})"
