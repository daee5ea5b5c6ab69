"""Journey from the demo `make run` builds: one approver clears a mixed inbox from one page.

The fraud-detection people ask for four decisions the way they do in the demo: the lead requests a
SageMaker Studio domain (the request form) and a new AWS account, a data scientist's model version
reaches the central registry after the lead's stage-1 approval, and the data scientist submits a
model card. The model approver goes on holiday and delegates their decisions to platform-admin
(the form on the model approvals page). platform-admin opens Approvals once: the navigation shows
the count, the inbox lists all four kinds, a row opens its decision page with the context, and
ticking the four rows and "Approve selected" decides them all, each through its own service."""
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from portal.demo import DEMO_PASSWORD
from tests.browser.conftest import sign_in
from tests.browser.test_demo_studio_journey import _request
from tests.governance.conftest import register_version

pytestmark = pytest.mark.browser


def test_one_approver_clears_a_mixed_inbox_from_one_page(demo, live_server, page, screenshot):
    from django.contrib.auth import get_user_model

    from governance import services as governance
    from governance.cards import services as cards
    from governance.cards.models import ModelCard
    from governance.models import ModelVersion
    from portal.models import AuditEvent, AwsAccount, Team
    from provisioning.accounts import services as accounts
    from provisioning.accounts.models import AccountRequest
    from provisioning.models import ProvisioningRequest
    users = {user.username: user for user in get_user_model().objects.all()}
    team = Team.objects.get(slug="fraud-detection")
    base = live_server.url

    # Four decisions wait: a Studio domain and an account asked by the lead, a model version at
    # stage 2, a model card in review.
    sign_in(page, base, "fraud-detection-lead", DEMO_PASSWORD)
    domain_url = _request(page, base, "SageMaker Studio Domain", {"Product name": "inbox-studio",
                                                                  "DomainName": "inbox-studio"})
    studio = ProvisioningRequest.objects.get(name="inbox-studio")
    assert studio.state == "pending_approval"
    account = accounts.account_request_create(
        actor=users["fraud-detection-lead"], team=team, environment="dev", purpose="Feature store experiments",
        account_name="fraud-features-dev", sso_first_name="Fiona", sso_last_name="Lead",
        sso_email="fraud-lead@example.com", monthly_budget_usd=Decimal("800"))
    group = f"inbox-journey-{uuid.uuid4().hex[:6]}"
    arn = register_version(group, as_user="fraud-detection-ds", metrics={"auc": "0.94", "f1": "0.83"},
                           description="Merchant embeddings.")
    governance.registry_sync_account(account=AwsAccount.objects.get(account_id="333333333311"))
    version = ModelVersion.objects.get(arn=arn)
    governance.model_version_approve(actor=users["fraud-detection-lead"], version=version, comment="stage 1 ok")
    version.refresh_from_db()
    assert version.stage == "in_central", version.last_error
    card = cards.model_card_create(actor=users["fraud-detection-ds"], team=team, name=f"{group}-card",
                                   content={"model_overview": {"model_name": group, "model_owner": "Fraud team"}},
                                   model_version=version)
    card = cards.model_card_transition(actor=users["fraud-detection-ds"], card=card, action="submit")

    # The model approver delegates their decisions to platform-admin while away.
    sign_in(page, base, "approver", DEMO_PASSWORD)
    page.goto(f"{base}/approvals/models/")
    page.get_by_label("Colleague's username").fill("platform-admin")
    page.get_by_label("Until (inclusive)").fill((timezone.localdate() + timedelta(days=7)).isoformat())
    page.get_by_label("Reason (optional)").fill("holiday")
    page.get_by_role("button", name="Delegate").click()
    assert "platform-admin takes your decisions" in page.locator("main").inner_text()

    # platform-admin: one page, every kind.
    sign_in(page, base, "platform-admin", DEMO_PASSWORD)
    approvals = page.locator("[data-testid=main-nav] [data-nav=Approvals]")
    assert int(approvals.get_by_test_id("nav-count").inner_text().split()[0]) >= 4
    approvals.click()
    keys = [f"provisioning_request:{studio.pk}", f"account_request:{account.pk}", f"model_version:{version.pk}",
            f"model_card:{card.pk}"]
    for key in keys:
        assert page.locator(f"[data-row='{key}']").count() == 1, key
    assert "for approver" in page.locator(f"[data-row='model_card:{card.pk}']").inner_text()
    screenshot("inbox-01-mixed")

    # A row opens its decision page with the context (metrics against production, card, lineage).
    page.locator(f"[data-row='model_version:{version.pk}']").get_by_role(
        "link", name=f"{group} v{version.version}", exact=True).click()
    page.wait_for_url(f"{base}/models/versions/{version.pk}/")
    assert "auc" in page.locator("main").inner_text()
    page.go_back()

    demo.config.update({"provision_seconds": 0})   # the approved model deploys to test at once (tasks are eager)
    for key in keys:
        page.locator(f"[data-row='{key}'] input[type=checkbox]").check()
    page.get_by_role("button", name="Approve selected").click()
    page.wait_for_url(f"{base}/approvals/")
    assert "Approved 4 items." in page.locator("main").inner_text()
    for key in keys:
        assert page.locator(f"[data-row='{key}']").count() == 0, key
    screenshot("inbox-02-cleared")

    assert ProvisioningRequest.objects.get(pk=studio.pk).decided_by == users["platform-admin"]
    assert AccountRequest.objects.get(pk=account.pk).state in ("queued", "creating", "moving_to_ou", "baselining",
                                                                "ready")
    decision = ModelVersion.objects.get(pk=version.pk).decisions.get(stage=2)
    assert decision.actor_label == "platform-admin (for approver)"
    assert ModelCard.objects.get(pk=card.pk).status == "Approved"
    assert AuditEvent.objects.filter(action="model_card.approve", after__by="platform-admin for approver").exists()
    assert domain_url.endswith(f"/requests/{studio.pk}/")
