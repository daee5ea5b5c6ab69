"""Journey: a team lead requests a prod account, a platform admin approves, the lead watches it
reach ready, and the OU tree shows it in Deployments/Prod. Tasks run eagerly (after each commit)."""
import uuid

import pytest
from django.core.management import call_command

from portal.demo import DEMO_PASSWORD
from provisioning.accounts.models import AccountRequest

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_org(transactional_db, aws_endpoint, settings):
    settings.SHOW_DEMO_PASSWORDS = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    call_command("seed_demo")


def _sign_in(page, base, username):
    sign_in(page, base, username, DEMO_PASSWORD)


def _sign_out(page):
    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/**")


def test_lead_requests_admin_approves_account_becomes_ready(demo_org, live_server, page, screenshot):
    base = live_server.url
    name = f"fraud-prod-{uuid.uuid4().hex[:6]}"
    _sign_in(page, base, "fraud-detection-lead")
    assert page.locator("[data-testid=main-nav] a[href='/account-requests/']").count() >= 1
    page.goto(f"{base}/account-requests/")
    page.get_by_role("link", name="Request an AWS account").click()
    page.select_option("#id_team", "fraud-detection")
    page.select_option("#id_environment", "prod")
    page.fill("#id_purpose", "Production scoring")
    page.fill("#id_account_name", name)
    page.fill("#id_email", "not-an-email")
    page.fill("#id_sso_first_name", "Fiona")
    page.fill("#id_sso_last_name", "Lead")
    page.fill("#id_sso_email", "fiona@example.com")
    page.fill("#id_monthly_budget_usd", "1500")
    page.get_by_role("button", name="Submit request").click()
    assert "Use exactly one @" in page.locator("main").inner_text()
    assert page.input_value("#id_account_name") == name                  # what was typed is kept
    page.fill("#id_email", f"aws+{name}@example.com")
    page.get_by_role("button", name="Submit request").click()
    assert page.get_by_test_id("state").inner_text() == "Waiting for approval"
    screenshot("account-request-pending")
    detail_url = page.url
    _sign_out(page)

    _sign_in(page, base, "platform-admin")
    page.goto(detail_url)
    page.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    _sign_out(page)

    _sign_in(page, base, "fraud-detection-lead")
    page.goto(detail_url)
    page.wait_for_selector("[data-testid=progress][data-state=ready]", timeout=20000)
    steps = page.get_by_test_id("steps").inner_text()
    for step in ("start", "CreateAccount", "created", "moved", "TagResource", "finish"):
        assert step in steps
    screenshot("account-request-ready")
    item = AccountRequest.objects.get(account_name=name)
    assert item.state == "ready" and item.account_id

    page.goto(f"{base}/organization/")
    node = page.locator("[data-ou='Deployments/Prod']")
    assert name in node.inner_text() and item.account_id in node.inner_text()
    screenshot("account-ou-tree")
    assert not page.console_errors, page.console_errors
