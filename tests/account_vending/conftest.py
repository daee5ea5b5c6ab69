"""Helpers for account vending tests: requests built through the real services."""
from decimal import Decimal
from itertools import count

import pytest

_numbers = count(1)


@pytest.fixture
def make_request(world):
    """make_request(**overrides) -> an AccountRequest pending approval, requested by the lead."""
    from provisioning.accounts.services import account_request_create

    def make(**overrides):
        n = next(_numbers)
        values = dict(actor=world["lead"], team=world.team, environment="dev", purpose="Fraud models",
                      account_name=f"fraud-vend-{n}", email=f"aws+fraud-vend-{n}@example.com",
                      sso_first_name="Lea", sso_last_name="Lead", sso_email="lead@example.com",
                      monthly_budget_usd=Decimal("500"))
        values.update(overrides)
        return account_request_create(**values)
    return make


@pytest.fixture
def run_until_settled():
    """Drive requests like the worker would: dispatch, then call the step task for every in-flight one."""
    from provisioning.accounts.models import IN_FLIGHT, AccountRequest
    from provisioning.accounts.services import account_queue_dispatch
    from provisioning.accounts.tasks import request_step

    def run(max_rounds=60, observe=None):
        for _ in range(max_rounds):
            account_queue_dispatch()
            if observe:
                observe()
            ids = list(AccountRequest.objects.filter(state__in=IN_FLIGHT).values_list("pk", flat=True))
            if not ids and not AccountRequest.objects.filter(state="queued").exists():
                return
            for pk in ids:
                request_step(pk)
                if observe:
                    observe()
        raise AssertionError("requests did not settle")
    return run
