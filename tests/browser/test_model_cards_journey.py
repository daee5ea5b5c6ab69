"""Journey: a data scientist writes a model card for a registry version and submits it, a model
approver approves it (sharing it with the team's accounts), the PDF downloads and names the model,
and the version's lineage graph opens. Tasks run eagerly against the sandbox."""
import pytest

from governance.cards.models import ModelCard, ModelCardShare
from governance.models import ModelGroup, ModelVersion
from tests.governance.conftest import link_accounts, new_group_name, register_version
from tests.model_cards.pdftext import pdf_contains

from tests.browser.conftest import sign_in as browser_sign_in

pytestmark = pytest.mark.browser
PASSWORD = "pw-for-tests-123"


@pytest.fixture
def journey(transactional_db, world, aws_endpoint, eager_tasks):
    return link_accounts(world)


def sign_in(page, live_server, username):
    browser_sign_in(page, live_server.url, username, PASSWORD)


def test_author_submits_approver_approves_pdf_and_lineage(journey, live_server, page, screenshot):
    w = journey
    group_name = new_group_name("cardjourney")
    arn = register_version(group_name, as_user="ds", metrics={"auc": "0.93", "f1": "0.82"})
    group = ModelGroup.objects.create(team=w.team, account=w.account, name=group_name,
                                      arn=arn.rsplit("/", 2)[0].replace("model-package", "model-package-group"))
    version = ModelVersion.objects.create(group=group, team=w.team, version=1, arn=arn,
                                          metrics={"auc": "0.93", "f1": "0.82"}, description="Merchant embeddings")

    # The author opens "Model cards" from the navigation and writes a card for the version.
    sign_in(page, live_server, "ds")
    page.locator("[data-nav=Models]").click()
    page.get_by_role("link", name="Model cards").click()
    page.get_by_role("link", name="New model card").click()
    page.goto(f"{page.url}?version={version.pk}")
    assert page.locator("#id_training_metrics").input_value().startswith("auc = 0.93")
    page.locator("#id_model_overview__model_name").fill("Quokka Fraud Scorer")
    page.locator("#id_intended_uses__intended_uses").fill("Score card-not-present payments")
    page.locator("#id_intended_uses__risk_rating").select_option("High")
    page.locator("#id_evaluation_metrics").fill("auc = oops")
    page.get_by_role("button", name="Save draft").click()
    assert "is not a number" in page.content()
    assert page.locator("#id_model_overview__model_name").input_value() == "Quokka Fraud Scorer"   # kept
    page.locator("#id_evaluation_metrics").fill("auc = 0.92")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url("**/model-cards/*/")
    card = ModelCard.objects.get(model_version=version)
    screenshot("model-cards-1-draft")
    page.get_by_role("button", name="Submit for review").click()
    assert page.locator("#card-status").inner_text() == "Pending review"

    # The model approver approves it; the card is shared with the team's dev, test and prod accounts.
    sign_in(page, live_server, "approver")
    page.goto(f"{live_server.url}/model-cards/{card.pk}/")
    page.locator("#comment-approve").fill("Risk explained; approved.")
    page.get_by_role("button", name="Approve", exact=True).click()
    assert page.locator("#card-status").inner_text() == "Approved"
    assert set(ModelCardShare.objects.filter(card=card).values_list("status", flat=True)) == {"active"}
    assert page.get_by_text("Read-only").is_visible()
    screenshot("model-cards-2-approved-and-shared")

    # Both PDFs download and carry the model name.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF (portal)").click()
    data = open(download_info.value.path(), "rb").read()
    assert data.startswith(b"%PDF") and pdf_contains(data, "Quokka Fraud Scorer")
    page.get_by_role("button", name="Export via SageMaker").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF (SageMaker)").click()
    data = open(download_info.value.path(), "rb").read()
    assert data.startswith(b"%PDF") and pdf_contains(data, "Quokka Fraud Scorer")

    # The version's lineage graph opens, with the card on it and the table for screen readers.
    page.get_by_role("link", name="Lineage").click()
    page.wait_for_selector("#lineage-graph[data-ready=true]")
    assert page.locator("#lineage-graph canvas").count() > 0
    table = page.locator("#lineage-table").inner_text()
    assert "model-card/" in table and ("ContributedTo" in table or "Produced" in table)
    screenshot("model-cards-3-lineage")
    assert not page.console_errors, page.console_errors
