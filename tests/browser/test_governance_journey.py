"""Journey: three people walk one model version from the team's dev registry to production —
the team lead (stage 1), a model approver (stage 2), the ML engineer (stage 3) — and the lead
cannot approve a version they registered themselves. Tasks run eagerly against the sandbox
(zero durations), so each click's background steps (copy to central, deployments) finish at once."""
import pytest

from governance.models import ModelVersion, Stage
from tests.governance.conftest import link_accounts, new_group_name, register_version

from tests.browser.conftest import sign_in as browser_sign_in

pytestmark = pytest.mark.browser
PASSWORD = "pw-for-tests-123"


@pytest.fixture
def journey(transactional_db, world, aws_endpoint, eager_tasks):
    return link_accounts(world)


def sign_in(page, live_server, username):
    browser_sign_in(page, live_server.url, username, PASSWORD)


def test_three_people_take_a_version_from_dev_to_prod(journey, live_server, page, screenshot):
    from governance import services
    w = journey
    group = new_group_name("journey")
    own_arn = register_version(group, as_user="lead", description="Lead's own experiment.")
    arn = register_version(group, as_user="ds", metrics={"auc": "0.93", "f1": "0.82"},
                           description="Adds merchant embeddings; recall +3 points.")
    services.registry_sync_account(account=w.account)
    own, version = ModelVersion.objects.get(arn=own_arn), ModelVersion.objects.get(arn=arn)

    # Stage 1: the lead's queue has the data scientist's version, not their own.
    sign_in(page, live_server, "lead")
    page.locator("[data-nav=Approvals]").click()
    page.get_by_role("link", name="Model approvals").click()
    mine = page.get_by_test_id("queue-item").filter(has_text=f"{group} v")
    assert mine.count() == 1 and f"{group} v{version.version}" in mine.inner_text()
    assert "Adds merchant embeddings" in mine.inner_text() and "auc" in mine.inner_text()
    screenshot("governance-1-lead-queue")
    # The version the lead registered: the page says so, and approving it is refused.
    page.goto(f"{live_server.url}/models/versions/{own.pk}/")
    assert page.get_by_test_id("own-version").is_visible()
    page.get_by_test_id("approve").click()
    assert "You may not do this" in page.content()          # the portal's 403 page
    own.refresh_from_db()
    assert own.stage == Stage.REGISTERED and not own.decisions.exists()
    screenshot("governance-2-lead-cannot-approve-own")
    page.console_errors.clear()   # the refused POST above is the one expected error
    failed = []
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    page.goto(f"{live_server.url}/approvals/models/")
    mine = page.get_by_test_id("queue-item").filter(has_text=f"{group} v")
    mine.get_by_label("Comment").fill("Beats the current model on recall.")
    mine.get_by_test_id("approve").click()
    page.get_by_text("Stage 1: team lead — approved").wait_for()
    version.refresh_from_db()
    assert version.stage == Stage.IN_CENTRAL and version.central_arn

    # Stage 2: the model approver.
    sign_in(page, live_server, "approver")
    page.goto(f"{live_server.url}/approvals/models/")
    mine = page.get_by_test_id("queue-item").filter(has_text=f"{group} v{version.version}")
    assert "Beats the current model" not in mine.inner_text() and "auc" in mine.inner_text()
    screenshot("governance-3-approver-queue")
    mine.get_by_test_id("approve").click()
    page.get_by_text("Stage 2: model approver — approved").wait_for()
    version.refresh_from_db()
    assert version.stage == Stage.IN_TEST, version.last_error

    # Stage 3: the ML engineer signs off after testing; production follows.
    sign_in(page, live_server, "mle")
    page.goto(f"{live_server.url}/approvals/models/")
    mine = page.get_by_test_id("queue-item").filter(has_text=f"{group} v{version.version}")
    mine.get_by_label("Comment").fill("Shadow traffic for a day: latency and accuracy fine.")
    mine.get_by_role("button", name="Sign off for production").click()
    page.get_by_text("Stage 3: ML engineer sign-off — approved").wait_for()
    version.refresh_from_db()
    assert version.stage == Stage.IN_PROD, version.last_error
    page.goto(f"{live_server.url}/models/versions/{version.pk}/")
    assert page.get_by_test_id("stage").inner_text() == "In production"
    endpoints = page.get_by_test_id("endpoints").inner_text()
    assert f"{group}-test" in endpoints and f"{group}-prod" in endpoints
    assert page.get_by_test_id("decisions").locator("tbody tr").count() == 3
    screenshot("governance-4-in-production")
    page.goto(f"{live_server.url}/models/?stage=in_prod")
    assert f"{group} v{version.version}" in page.get_by_test_id("model-table").inner_text()
    screenshot("governance-5-dashboard")
    assert not page.console_errors, (page.console_errors, failed)
