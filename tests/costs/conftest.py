"""Cost fixtures: a world whose accounts match the sandbox organisation, synced from it. The
modules whose results depend on the day (sync, pages, usage, digest) run each test at every
boundary day (``boundary_clock``), never at today's date."""
import pytest

from costs import services


@pytest.fixture
def cost_world(world):
    """The shared world plus the other team accounts the sandbox bills, and a budget for credit-risk."""
    from decimal import Decimal

    from portal import services as portal_services
    from portal.permissions import SYSTEM

    for env, suffix in (("test", "2"), ("prod", "3")):
        portal_services.account_link(actor=SYSTEM, account_id=f"33333333331{suffix}", name=f"fraud-detection-{env}",
                                     environment=env, team=world.team)
        portal_services.account_link(actor=SYSTEM, account_id=f"33333333332{suffix}", name=f"credit-risk-{env}",
                                     environment=env, team=world.other_team)
    portal_services.account_link(actor=SYSTEM, account_id="222222222203", name="shared-services",
                                 environment="shared", team=None)
    portal_services.team_update(actor=SYSTEM, team=world.other_team, monthly_budget_usd=Decimal("9000"))
    world.other_team.refresh_from_db()
    return world


_CE_CACHE: dict = {}


@pytest.fixture
def synced(cost_world, aws_endpoint, monkeypatch):
    """One regular sync (trailing 14 days + forecast). The first test in the session reads the
    sandbox; later ones replay its Cost Explorer answers (the sync itself is tested against the
    live sandbox in test_sync.py), so the suite stays fast."""
    from costs import aws

    def cached(function):
        real = getattr(aws, function)

        def call(*, budget, **kwargs):
            key = (function, tuple(sorted(kwargs.items())))
            if key not in _CE_CACHE:
                before = budget.made
                result = real(budget=budget, **kwargs)
                _CE_CACHE[key] = (result, budget.made - before)
                return result
            result, requests = _CE_CACHE[key]
            for _ in range(requests):
                budget.spend()
            return result
        return call
    monkeypatch.setattr(aws, "cost_and_usage", cached("cost_and_usage"))
    monkeypatch.setattr(aws, "cost_forecast", cached("cost_forecast"))
    run = services.cost_sync_window()
    assert run.status == "succeeded", run.error
    monkeypatch.undo()
    return run
