"""Waiting polls and AWS errors are counted apart in the create steps (Organizations and Control
Tower): a long creation survives a throttle, a stuck one times out. Runs on its own sandbox
whose accounts take an hour (its clock is moved on), so no other test waits on them."""
import pytest

from provisioning.accounts import services
from provisioning.accounts.tasks import request_step
from tests.conftest import start_fast_sandbox

pytestmark = pytest.mark.django_db
PATHS = [("organizations", "organizations", "DescribeCreateAccountStatus", "TooManyRequestsException"),
         ("control_tower", "servicecatalog", "DescribeRecord", "ThrottlingException")]


@pytest.fixture(scope="module")
def slow_sandbox():
    server = start_fast_sandbox()
    server.engine.config.update({"account_seconds": 3600})
    yield server
    server.stop()


@pytest.fixture
def slow(slow_sandbox, settings):
    from portal import aws as portal_aws
    settings.AWS_ENDPOINT_URL = slow_sandbox.url
    settings.AWS_MAX_ATTEMPTS = 0          # no botocore retries: a throttle reaches the step
    settings.ACCOUNT_BASELINE_PRODUCTS = []
    portal_aws.reset_caches()
    slow_sandbox.engine.faults.clear()
    yield slow_sandbox.engine
    slow_sandbox.engine.faults.clear()
    portal_aws.reset_caches()


def _started(world, make_request, settings, path):
    settings.ACCOUNT_VENDING_PATH = path
    item = services.account_request_approve(actor=world["platform_admin"], request=make_request())
    services.account_queue_dispatch()
    request_step(item.pk)                                      # CreateAccount / ProvisionProduct
    item.refresh_from_db()
    assert item.state == "creating" and (item.create_request_id or item.record_id), item.error_message
    return item


@pytest.mark.parametrize("path,service,operation,code", PATHS)
def test_a_long_creation_survives_a_throttle_after_more_polls_than_error_retries(
        world, make_request, slow, settings, run_until_settled, path, service, operation, code):
    settings.ACCOUNT_STEP_MAX_RETRIES = 2
    item = _started(world, make_request, settings, path)
    for _ in range(settings.ACCOUNT_STEP_MAX_RETRIES + 2):
        request_step(item.pk)
    item.refresh_from_db()
    polls = item.poll_attempt
    assert polls > settings.ACCOUNT_STEP_MAX_RETRIES
    slow.faults.add({"kind": "error", "service": service, "operation": operation, "code": code,
                     "message": "Rate exceeded", "count": 1})
    request_step(item.pk)
    item.refresh_from_db()
    assert item.state == "creating", item.error_message
    assert (item.poll_attempt, item.step_retries) == (polls, 1)
    request_step(item.pk)
    item.refresh_from_db()
    assert (item.poll_attempt, item.step_retries) == (polls + 1, 0)
    slow.advance_clock(3600)
    run_until_settled()
    item.refresh_from_db()
    assert item.state == "ready", item.error_message


@pytest.mark.parametrize("path", [p[0] for p in PATHS])
def test_a_creation_stuck_in_progress_times_out_and_frees_its_slot(world, make_request, slow, settings, path):
    settings.ACCOUNT_MAX_IN_FLIGHT, settings.ACCOUNT_MAX_POLLS = 1, 3
    item = _started(world, make_request, settings, path)
    queued = services.account_request_approve(actor=world["platform_admin"], request=make_request())
    for _ in range(settings.ACCOUNT_MAX_POLLS + 1):
        request_step(item.pk)
    item.refresh_from_db()
    assert item.state == "failed" and item.failure_reason == "TIMEOUT"
    assert "did not finish creating the account in time" in item.error_message
    assert "then retry" in item.error_message
    assert services.account_queue_dispatch() == [queued.pk]
