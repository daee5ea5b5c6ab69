"""Journey 1: every demo role signs in and sees the navigation and home page meant for it."""
import pytest
from django.core.management import call_command

from portal.demo import DEMO_PASSWORD

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

EXPECTED = {
    "platform-admin": {"nav": ["Home", "Catalog", "Requests", "Approvals", "Models", "Costs", "Audit", "Admin"], "home": ["The platform today", "Recent activity"]},
    "auditor": {"nav": ["Home", "Catalog", "Requests", "Models", "Costs", "Audit", "Admin"], "home": ["The platform today", "Recent activity"]},
    "executive": {"nav": ["Home", "Catalog", "Models", "Costs", "Admin"], "home": ["Monthly budgets by team", "Fraud Detection"]},
    "approver": {"nav": ["Home", "Catalog", "Approvals", "Models", "Admin"], "home": ["Model approver", "not a member of any team"]},
    "fraud-detection-lead": {"nav": ["Home", "Catalog", "Requests", "Approvals", "Models", "Costs", "Audit"], "home": ["Fraud Detection", "fraud-detection-dev", "Team lead"]},
    "fraud-detection-ds": {"nav": ["Home", "Catalog", "Requests", "Models", "Costs", "Audit"], "home": ["Fraud Detection", "Data scientist"]},
    "credit-risk-mle": {"nav": ["Home", "Catalog", "Requests", "Approvals", "Models", "Costs", "Audit"], "home": ["Credit Risk", "credit-risk-prod", "ML engineer"]},
}


@pytest.fixture
def demo_org(transactional_db, aws_endpoint, settings):
    settings.SHOW_DEMO_PASSWORDS = True
    call_command("seed_demo")


@pytest.mark.parametrize("username", list(EXPECTED))
def test_each_role_signs_in_and_sees_its_navigation_and_home(demo_org, live_server, page, screenshot, username):
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    nav = page.locator("[data-testid=main-nav] [data-nav]").all_inner_texts()
    assert [item.strip() for item in nav] == EXPECTED[username]["nav"]
    main = page.locator("main").inner_text()
    for text in EXPECTED[username]["home"]:
        assert text in main, f"{username}: {text!r} not on the home page"
    assert "Welcome" in page.locator("h1").inner_text()
    screenshot(f"home-{username}")
    assert not page.console_errors, page.console_errors   # no CSP violations, no script errors
    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/**")


def test_the_api_documentation_renders_under_the_csp(demo_org, live_server, page, screenshot):
    sign_in(page, live_server.url, "fraud-detection-lead", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/api/docs/")
    page.get_by_text("/api/v1/teams/").first.wait_for()
    assert "ML Platform Portal API" in page.locator("body").inner_text()
    screenshot("api-docs")
    assert not page.console_errors, page.console_errors
