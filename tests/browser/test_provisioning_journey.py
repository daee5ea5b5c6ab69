"""Journey: a team lead requests a SageMaker Studio domain for the dev account, a platform admin
approves it, the lead watches it become available, opens the outputs, and terminates it.

Celery runs eagerly (tasks execute inside the web request that queues them) and the sandbox takes
1 s per provisioning record, so the whole journey runs without a worker."""
import re

import pytest
from django.core.management import call_command

from portal.demo import DEMO_PASSWORD

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def journey(transactional_db, aws_endpoint, settings, eager_tasks):
    settings.SHOW_DEMO_PASSWORDS = True
    engine = aws_endpoint.engine
    durations = engine.config.as_dict()
    engine.config.update({"provision_seconds": 1, "domain_seconds": 1})
    call_command("seed_demo")
    yield engine
    engine.config.update({"provision_seconds": durations["provision_seconds"],
                          "domain_seconds": durations["domain_seconds"]})


def _sign_in(page, live_server, username):
    sign_in(page, live_server.url, username, DEMO_PASSWORD)


def test_lead_requests_a_domain_admin_approves_lead_sees_outputs_and_terminates(journey, live_server, page,
                                                                              screenshot):
    from portal.permissions import SYSTEM
    from provisioning import services
    from provisioning.models import CatalogProduct, ProvisioningRequest

    # A platform admin syncs the catalog from the Catalog page.
    _sign_in(page, live_server, "platform-admin")
    page.locator("[data-testid=main-nav] [data-nav=Catalog]").click()
    page.get_by_role("button", name="Sync from Service Catalog").click()
    page.wait_for_selector("text=SageMaker Studio Domain")
    domain = CatalogProduct.objects.get(name="SageMaker Studio Domain")
    services.preset_account_networks(actor=SYSTEM)      # each team account's own network, read from the account
    CatalogProduct.objects.filter(pk=domain.pk).update(hourly_price_usd="0.4500")
    screenshot("provisioning-01-catalog-admin")

    # The lead requests a domain for the dev account.
    _sign_in(page, live_server, "fraud-detection-lead")
    page.goto(f"{live_server.url}/catalog/")
    page.get_by_role("searchbox", name="Search products").fill("studio")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="SageMaker Studio Domain").click()
    page.get_by_role("link", name="Request this product").click()
    page.get_by_label("Target account").select_option(value="333333333311")   # fraud-detection-dev
    page.get_by_role("button", name="Continue").click()
    assert "$328.50 per month" in page.get_by_test_id("estimate").inner_text()
    page.get_by_label("Product name").fill("fraud-studio")
    page.get_by_label("Project").fill("fraud-scoring")
    page.get_by_label("DomainName").fill("BAD NAME")
    page.get_by_role("button", name="Submit request").click()
    assert "1-63 letters, digits or hyphens" in page.locator("main").inner_text()
    assert page.get_by_label("Product name").input_value() == "fraud-studio"      # kept what was typed
    screenshot("provisioning-02-request-form-error")
    page.get_by_label("DomainName").fill("fraud-studio")
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_url(re.compile(r"/requests/\d+/$"))
    assert page.get_by_test_id("state").inner_text() == "Waiting for approval"
    request_url = page.url
    screenshot("provisioning-03-request-submitted")

    # A platform admin approves it from the approval queue; provisioning starts.
    _sign_in(page, live_server, "platform-admin")
    page.locator("[data-testid=main-nav] [data-nav=Approvals]").click()
    assert "fraud-studio" in page.get_by_test_id("approvals").inner_text()
    screenshot("provisioning-04-approval-queue")
    page.get_by_role("button", name="Approve fraud-studio").click()
    page.wait_for_url(request_url)
    request = ProvisioningRequest.objects.get(name="fraud-studio")
    assert request.state == "available", request.error_message

    # The lead watches the request: it is available and shows its outputs.
    _sign_in(page, live_server, "fraud-detection-lead")
    page.goto(request_url)
    page.wait_for_selector("[data-testid=progress][data-state=available]")
    steps = page.get_by_test_id("steps").inner_text()
    assert "ProvisionProduct" in steps and "DescribeRecord" in steps and "approve" in steps
    outputs = page.get_by_test_id("outputs")
    studio = outputs.get_by_role("link")
    assert studio.get_attribute("href").startswith("https://d-")
    assert "DomainArn" in outputs.inner_text()
    screenshot("provisioning-05-available-with-outputs")
    page.goto(f"{live_server.url}/inventory/")
    assert "fraud-studio" in page.get_by_test_id("inventory").inner_text()

    # Later the lead terminates it, typing its name to confirm.
    page.goto(request_url)
    page.get_by_role("link", name="Terminate").click()
    page.get_by_label("Type the product's name to confirm").fill("fraud-studi")
    page.get_by_role("button", name="Terminate").click()
    assert "The name does not match: type fraud-studio." in page.locator("main").inner_text()
    page.get_by_label("Type the product's name to confirm").fill("fraud-studio")
    page.get_by_role("button", name="Terminate").click()
    page.wait_for_url(request_url)
    page.wait_for_selector("[data-testid=progress][data-state=terminated]")
    screenshot("provisioning-06-terminated")
    # The two rejected forms answer 400 on purpose; anything else (CSP, scripts, 5xx) is a failure.
    unexpected = [e for e in page.console_errors if "status of 400" not in e]
    assert not unexpected, unexpected
