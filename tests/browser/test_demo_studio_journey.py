"""Journey from the demo `make run` builds (``seed_demo --sync``, nothing added by the test): the
fraud-detection lead requests a SageMaker Studio domain in the dev account with the platform's
presets, a platform admin approves it, the lead adds a user profile to that domain and an MLOps
build-and-train project, and each becomes available.

Celery runs eagerly; the sandbox takes 1 s per provisioning record."""
import re

import pytest

from portal.demo import DEMO_PASSWORD
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser
LEAD = "fraud-detection-lead"
DEV_ACCOUNT = "333333333311"      # fraud-detection-dev


def _request(page, base_url, product: str, values: dict) -> str:
    """Open the product from the catalog, pick the dev account, fill ``values`` (labels), submit;
    returns the request page's URL."""
    page.goto(f"{base_url}/catalog/")
    page.get_by_role("link", name=product, exact=True).click()
    page.get_by_role("link", name="Request this product").click()
    page.get_by_label("Target account").select_option(value=DEV_ACCOUNT)
    page.get_by_role("button", name="Continue").click()
    for label, value in values.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_url(re.compile(r"/requests/\d+/$"))
    return page.url


def _available(page, url: str, screenshot, name: str) -> dict:
    page.goto(url)
    page.wait_for_selector("[data-testid=progress][data-state=available]")
    screenshot(name)
    rows = page.get_by_test_id("outputs").locator("tr")
    return {rows.nth(i).locator("th").inner_text(): rows.nth(i).locator("td").first.inner_text()
            for i in range(rows.count())}


def _approve(page, base_url: str, name: str, url: str) -> None:
    """A platform admin approves the lead's request from the approval queue (the lead may not)."""
    sign_in(page, base_url, "platform-admin", DEMO_PASSWORD)
    page.locator("[data-testid=main-nav] [data-nav=Approvals]").click()
    page.get_by_role("button", name=f"Approve {name}").click()
    page.wait_for_url(url)
    sign_in(page, base_url, LEAD, DEMO_PASSWORD)


def test_lead_builds_domain_then_user_profile_then_mlops_project_in_the_demo(demo, live_server, page, screenshot):
    from provisioning.models import ProvisioningRequest

    base = live_server.url
    sign_in(page, base, LEAD, DEMO_PASSWORD)
    domain_url = _request(page, base, "SageMaker Studio Domain",
                          {"Product name": "lead-studio", "DomainName": "lead-studio"})
    assert page.get_by_test_id("state").inner_text() == "Waiting for approval"
    screenshot("demo-studio-01-domain-waiting")
    _approve(page, base, "lead-studio", domain_url)
    domain = ProvisioningRequest.objects.get(name="lead-studio")
    assert domain.state == "available", domain.error_message
    assert domain.parameters["VpcId"].startswith("vpc-") and domain.parameters["SecurityGroupIds"].startswith("sg-")
    domain_id = _available(page, domain_url, screenshot, "demo-studio-02-domain-available")["DomainId"]
    assert domain_id.startswith("d-")

    profile_url = _request(page, base, "SageMaker User Profile",
                           {"Product name": "lead-profile", "DomainId": domain_id,
                            "UserProfileName": "fraud-lead"})
    if page.get_by_test_id("state").inner_text() == "Waiting for approval":
        _approve(page, base, "lead-profile", profile_url)
    assert _available(page, profile_url, screenshot, "demo-studio-03-profile-available")["DomainId"] == domain_id

    project_url = _request(page, base, "MLOps Project: Model Build and Train",
                           {"Product name": "lead-build", "SageMakerProjectName": "lead-build"})
    if page.get_by_test_id("state").inner_text() == "Waiting for approval":
        _approve(page, base, "lead-build", project_url)
    assert "ModelPackageGroupName" in _available(page, project_url, screenshot, "demo-studio-04-project-available")
    assert not page.console_errors, page.console_errors
