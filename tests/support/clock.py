"""A fixed clock for date-sensitive tests: the portal and the in-process sandbox read one process
clock, so travelling it moves both. Date-sensitive tests (costs, budgets, forecasts, anomalies,
expiry, leases, reminders) run at each of BOUNDARY_INSTANTS instead of today."""
from contextlib import contextmanager
from datetime import date, datetime, timezone

import pytest
import time_machine

# Instants chosen away from midnight, so a test never crosses into the next day while it runs.
BOUNDARY_INSTANTS = {
    "month-first": datetime(2027, 3, 1, 9, 30, tzinfo=timezone.utc),      # after a 28-day February
    "month-last": datetime(2026, 8, 31, 14, 0, tzinfo=timezone.utc),
    "leap-day": datetime(2028, 2, 29, 12, 0, tzinfo=timezone.utc),
    "year-end": datetime(2026, 12, 31, 20, 0, tzinfo=timezone.utc),
}


@contextmanager
def travel(instant: datetime):
    """Move this process's clock to ``instant``; it ticks on from there and is restored after."""
    with time_machine.travel(instant, tick=True):
        yield instant


@contextmanager
def cost_history_anchored(engine, day: date):
    """Draw ``engine``'s seeded cost history around ``day`` (as if the sandbox had been seeded that
    day), restoring the previous anchor after: a sandbox that outlives one travelled test."""
    with engine.lock:
        state = engine.state.setdefault("ce", {})
        previous = state.get("history_anchor")
        state["history_anchor"] = day.isoformat()
    try:
        yield
    finally:
        with engine.lock:
            state["history_anchor"] = previous


def boundary_params():
    return [pytest.param(instant, id=name) for name, instant in BOUNDARY_INSTANTS.items()]
