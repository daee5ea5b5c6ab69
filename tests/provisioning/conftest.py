"""Fixtures for provisioning tests: a synced catalog, presets, requests built by the real services."""
import uuid

import pytest

from portal.permissions import SYSTEM

DOMAIN = "SageMaker Studio Domain"


def unique(prefix: str = "dom") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def catalog_snapshot(portal_sandbox):
    """The sandbox catalog read once per session (the session's sandbox never changes it)."""
    from django.test import override_settings

    from portal import aws as portal_aws
    from provisioning import aws

    with override_settings(AWS_ENDPOINT_URL=portal_sandbox.url):
        portal_aws.reset_caches()
        snapshot = aws.catalog_snapshot()
    portal_aws.reset_caches()
    return snapshot


@pytest.fixture
def catalog(world, aws_endpoint, catalog_snapshot):
    """The sandbox catalog synced into the portal, with each team account's own network as hidden
    presets (read from the account, as the shipped demo does) and a price for the domain product."""
    from provisioning import services
    from provisioning.models import CatalogProduct

    services.catalog_apply(actor=SYSTEM, snapshot=catalog_snapshot)
    domain = CatalogProduct.objects.get(name=DOMAIN)
    services.preset_account_networks(actor=SYSTEM)
    CatalogProduct.objects.filter(pk=domain.pk).update(hourly_price_usd="0.5000")
    domain.refresh_from_db()
    return {"domain": domain, "world": world, "sandbox": aws_endpoint}


@pytest.fixture
def make_request(catalog):
    """make_request(requester=lead, **overrides) -> a submitted domain request (pending approval)."""
    from provisioning import services

    def make(requester=None, *, account=None, parameters=None, submit=True, name=None):
        world = catalog["world"]
        return services.request_create(
            actor=requester or world["lead"], product=catalog["domain"], account=account or world.account,
            name=name or unique(), parameters={"DomainName": unique("studio"), **(parameters or {})}, submit=submit)
    return make


def run_to_settled(request_id: int, max_polls: int = 20) -> str:
    """Run the worker steps by hand (no broker): execute, then poll until the request settles."""
    from provisioning import services
    from provisioning.models import ProvisioningRequest

    services.request_execute(request_id=request_id)
    for attempt in range(max_polls):
        state = ProvisioningRequest.objects.get(pk=request_id).state
        if state not in ("provisioning", "updating", "terminating", "approved"):
            return state
        request = ProvisioningRequest.objects.get(pk=request_id)
        if not request.record_id:
            services.request_execute(request_id=request_id)
        else:
            services.request_poll(request_id=request_id, attempt=attempt)
    return ProvisioningRequest.objects.get(pk=request_id).state


@pytest.fixture
def eager(settings):
    """Run Celery tasks in-process (the app caches its config, so set both)."""
    from portal.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


def provision_calls(engine, token: str) -> list[dict]:
    return [e for e in engine.ledger if e["operation"] == "ProvisionProduct" and e["key"] == token]
