"""Baseline products provisioned through Service Catalog into each new account, proven by the
sandbox ledger. Runs on its own sandbox: the baseline products added to its catalog must not
change the catalog the session's other tests read."""
import uuid

import pytest

from portal.models import AuditEvent
from portal.permissions import SYSTEM
from provisioning.accounts import services
from provisioning.accounts.models import AccountRequest
from provisioning.accounts.tasks import request_step
from tests.conftest import start_fast_sandbox

pytestmark = pytest.mark.django_db
PRODUCTS = ["Account Guardrails", "Account Network Baseline"]


@pytest.fixture(scope="module")
def baseline_sandbox():
    """A sandbox whose "ML Platform" portfolio (shared with the organization) also holds two
    parameterless baseline products, created through the Service Catalog admin API."""
    server = start_fast_sandbox()
    yield server
    server.stop()


@pytest.fixture
def baseline(baseline_sandbox, settings):
    from portal import aws as portal_aws
    from portal.aws import client
    from provisioning import services as provisioning_services

    settings.AWS_ENDPOINT_URL = baseline_sandbox.url
    settings.ACCOUNT_BASELINE_PRODUCTS = PRODUCTS
    portal_aws.reset_caches()
    sc = client("servicecatalog")
    portfolio = next(p for p in sc.list_portfolios()["PortfolioDetails"] if p["DisplayName"] == "ML Platform")
    for name in PRODUCTS:
        product = sc.create_product(
            Name=name, Owner="ML Platform Team", ProductType="CLOUD_FORMATION_TEMPLATE", IdempotencyToken=name[:20]
            .replace(" ", "-"), ProvisioningArtifactParameters={
                "Name": "v1", "Info": {"LoadTemplateFromURL": "https://example.com/baseline.yaml"}})
        sc.associate_product_with_portfolio(ProductId=product["ProductViewDetail"]["ProductViewSummary"]["ProductId"],
                                            PortfolioId=portfolio["Id"])
    provisioning_services.catalog_sync(actor=SYSTEM)
    engine = baseline_sandbox.engine
    engine.faults.clear()
    yield engine
    engine.faults.clear()
    engine.config.update({"provision_seconds": 0})
    portal_aws.reset_caches()


def _request(world, n=None):
    n = n or uuid.uuid4().hex[:8]
    item = services.account_request_create(
        actor=world["lead"], team=world.team, environment="dev", purpose="p", account_name=f"base-{n}",
        email=f"aws+base-{n}@example.com", sso_first_name="L", sso_last_name="L", sso_email="lead@example.com")
    return services.account_request_approve(actor=world["platform_admin"], request=item)


def _provisions(engine, item, operation="ProvisionProduct"):
    """Effective calls per product (the token names the product id) in the request's account."""
    found = {}
    for entry in engine.ledger:
        if (entry["service"] == "servicecatalog" and entry["operation"] == operation and entry["effect"]
                and entry["account"] == item.account_id and entry["key"]):
            for row in item.baseline_products.all():
                if row.product_id in entry["key"]:
                    found[row.product_name] = found.get(row.product_name, 0) + 1
    return found


def _drive_to_baselining(item):
    services.account_queue_dispatch()
    for _ in range(10):
        item.refresh_from_db()
        if item.state == "baselining" and item.baseline_products.exists():
            return
        request_step(item.pk)
    raise AssertionError(f"never reached baselining: {item.state} {item.error_message}")


def test_redelivered_baselining_provisions_each_product_once_and_tags_it(world, baseline, run_until_settled):
    baseline.config.update({"provision_seconds": 3600})        # records stay IN_PROGRESS
    item = _request(world)
    _drive_to_baselining(item)
    # Every answer to ProvisionProduct is lost once (botocore retries with the stored token), and the
    # baselining step is delivered three more times while the records run.
    baseline.faults.add({"kind": "drop_response", "service": "servicecatalog", "operation": "ProvisionProduct",
                         "count": 2})
    for _ in range(3):
        request_step(item.pk)
    item.refresh_from_db()
    assert item.state == "baselining"
    assert {row.status for row in item.baseline_products.all()} == {"running"}
    tokens = {row.product_name: row.token for row in item.baseline_products.all()}
    assert all(token.startswith(item.provision_token) for token in tokens.values())
    baseline.config.update({"provision_seconds": 0})
    run_until_settled()
    item.refresh_from_db()
    assert item.state == "ready", item.error_message
    assert _provisions(baseline, item) == {name: 1 for name in PRODUCTS}
    assert {row.product_name: row.token for row in item.baseline_products.all()} == tokens
    from portal.aws import client
    sc = client("servicecatalog", item.account_id)
    products = sc.search_provisioned_products(
        Filters={"SearchQuery": [f"tags.portal-request:account-request-{item.pk}"]})["ProvisionedProducts"]
    assert sorted(p["ProductName"] for p in products) == PRODUCTS
    assert {t["Key"]: t["Value"] for t in products[0]["Tags"]}.items() >= {
        "team": "fraud-detection", "environment": "dev", "portal-request": f"account-request-{item.pk}"}.items()
    steps = [(s.action, s.outcome) for s in item.steps.all()]
    assert steps.count(("ProvisionProduct", "ok")) == 2 and ("DescribeRecord", "waiting") in steps
    ready = AuditEvent.objects.get(action="account_request.ready", target_id=str(item.pk))
    assert set(ready.after["baseline_products"]) == set(PRODUCTS)


def test_failed_baseline_record_fails_the_request_and_retry_redoes_only_that_product(
        world, baseline, run_until_settled):
    baseline.faults.add({"kind": "record_failure", "service": "servicecatalog", "subject": PRODUCTS[1],
                         "code": "CREATE_FAILED", "message": "The VPC quota of the account is reached"})
    item = _request(world)
    run_until_settled()
    item.refresh_from_db()
    assert item.state == "failed" and item.failure_reason == "BASELINE_FAILED"
    assert "Account Network Baseline" in item.error_message
    assert "The VPC quota of the account is reached" in item.error_message
    services.account_request_retry(actor=world["platform_admin"], request=item)
    run_until_settled()
    item.refresh_from_db()
    assert item.state == "ready", item.error_message
    assert _provisions(baseline, item) == {PRODUCTS[0]: 1, PRODUCTS[1]: 2}
    assert _provisions(baseline, item, "TerminateProvisionedProduct") == {PRODUCTS[1]: 1}
    assert AccountRequest.objects.get(pk=item.pk).baseline_products.filter(status="succeeded").count() == 2


def test_a_baseline_product_missing_from_the_catalog_fails_in_plain_words(world, baseline, run_until_settled,
                                                                          settings):
    settings.ACCOUNT_BASELINE_PRODUCTS = ["No Such Product"]
    item = _request(world)
    run_until_settled()
    item.refresh_from_db()
    assert item.state == "failed" and item.failure_reason == "BASELINE_PRODUCT_NOT_FOUND"
    assert "sync the catalog" in item.error_message


def test_a_long_baseline_survives_a_throttle_after_more_polls_than_error_retries(
        world, baseline, run_until_settled, settings):
    settings.ACCOUNT_STEP_MAX_RETRIES = 3
    settings.AWS_MAX_ATTEMPTS = 0          # no botocore retries: the throttle reaches the step
    baseline.config.update({"provision_seconds": 3600})        # records stay IN_PROGRESS
    item = _request(world)
    _drive_to_baselining(item)
    for _ in range(settings.ACCOUNT_STEP_MAX_RETRIES + 2):
        request_step(item.pk)
    item.refresh_from_db()
    polls = item.poll_attempt
    assert item.state == "baselining" and polls > settings.ACCOUNT_STEP_MAX_RETRIES
    baseline.faults.add({"kind": "error", "service": "servicecatalog", "operation": "DescribeRecord",
                         "code": "ThrottlingException", "message": "Rate exceeded", "count": 1})
    request_step(item.pk)
    item.refresh_from_db()
    assert item.state == "baselining", item.error_message
    assert (item.poll_attempt, item.step_retries) == (polls, 1)
    assert item.steps.filter(outcome="retry", detail__contains="ThrottlingException").exists()
    request_step(item.pk)                                      # answered: the error count starts again
    item.refresh_from_db()
    assert (item.poll_attempt, item.step_retries) == (polls + 1, 0)
    baseline.config.update({"provision_seconds": 0})
    run_until_settled()
    item.refresh_from_db()
    assert item.state == "ready", item.error_message
    assert _provisions(baseline, item) == {name: 1 for name in PRODUCTS}


def test_a_baseline_stuck_in_progress_times_out_and_frees_its_slot(world, baseline, settings):
    settings.ACCOUNT_MAX_IN_FLIGHT = 1
    baseline.config.update({"provision_seconds": 3600})
    item = _request(world)
    _drive_to_baselining(item)
    queued = _request(world)
    assert services.account_queue_dispatch() == []
    settings.ACCOUNT_MAX_POLLS = 3
    for _ in range(settings.ACCOUNT_MAX_POLLS):
        request_step(item.pk)
    item.refresh_from_db()
    assert item.state == "failed" and item.failure_reason == "TIMEOUT"
    assert all(name in item.error_message for name in PRODUCTS)
    assert "did not finish" in item.error_message and "then retry" in item.error_message
    assert services.account_queue_dispatch() == [queued.pk]
