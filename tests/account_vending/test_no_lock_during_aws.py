"""Account vending calls AWS with no transaction open (so no row lock held): the worker claims the
request, releases the lock, calls AWS, and records in short transactions; a duplicate delivery
that arrives while the claim is held leaves without calling AWS."""
import pytest
from django.db import connection

from provisioning.accounts import aws, services
from provisioning.accounts.models import AccountRequest
from provisioning.accounts.tasks import request_step

pytestmark = pytest.mark.django_db(transaction=True)


def _queued(world, make_request):
    item = make_request()
    services.account_request_approve(actor=world["platform_admin"], request=item)
    services.account_queue_dispatch()
    return AccountRequest.objects.get(pk=item.pk)


def test_every_aws_call_of_a_step_runs_outside_any_transaction(world, make_request, aws_endpoint, monkeypatch):
    aws_endpoint.engine.config.update({"max_accounts": aws_endpoint.engine.config.max_accounts + 5})
    calls = []

    def outside(name, real):
        def call(*args, **kwargs):
            calls.append((name, connection.in_atomic_block))
            return real(*args, **kwargs)
        return call

    for name in ("find_account_by_email", "find_create_statuses", "create_account", "create_account_status",
                 "ou_id_for_path", "move_account", "tag_account"):
        monkeypatch.setattr(aws, name, outside(name, getattr(aws, name)))
    item = _queued(world, make_request)
    for _ in range(30):
        request_step(item.pk)
        item.refresh_from_db()
        if item.state in ("ready", "failed"):
            break
    assert item.state == "ready", item.error_message
    assert {"create_account", "move_account", "tag_account"} <= {name for name, _ in calls}
    assert [name for name, in_transaction in calls if in_transaction] == []
    assert item.step_claim == "" and item.step_claim_until is None       # released


def test_a_duplicate_delivery_during_a_claim_calls_nothing(world, make_request, aws_endpoint, monkeypatch):
    monkeypatch.setattr(services, "_schedule_step", lambda *args: None)     # no step runs eagerly meanwhile
    item = _queued(world, make_request)
    assert services._claim(item.pk) is not None                          # another worker holds it
    monkeypatch.setattr(aws, "create_account", lambda **kwargs: pytest.fail("called AWS during a claim"))
    assert request_step(item.pk) is None
    item.refresh_from_db()
    assert item.state == "creating" and not item.steps.filter(action="CreateAccount").exists()


def test_a_lapsed_claim_is_stepped_again_by_the_dispatcher(world, make_request, aws_endpoint, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    monkeypatch.setattr(services, "_schedule_step", lambda *args: None)
    item = _queued(world, make_request)
    services._claim(item.pk)
    AccountRequest.objects.filter(pk=item.pk).update(step_claim_until=timezone.now() - timedelta(seconds=1))
    scheduled = []
    monkeypatch.setattr(services, "_schedule_step", lambda item_id, countdown, attempt: scheduled.append(item_id))
    services.account_queue_dispatch()
    assert scheduled == [item.pk]
