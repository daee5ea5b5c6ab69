"""Card pages: the structured form (prefill, errors keep input), the card page, diff, PDFs."""
import pytest

from governance.cards import pdf
from governance.cards.models import ModelCard
from tests.model_cards.conftest import content, make_card, unique_name
from tests.model_cards.pdftext import pdf_contains

pytestmark = pytest.mark.django_db


def test_form_prefills_from_registry_version(cards_world, client, model_version):
    client.force_login(cards_world["ds"])
    page = client.get("/model-cards/new/", {"version": model_version.pk}).content.decode()
    assert model_version.group.name in page and "auc = 0.91" in page and "f1 = 0.8" in page
    assert "note" not in page.split("Training metrics")[1][:300]   # non-numeric metrics are left out
    assert client.get("/model-cards/new/", {"version": 999999}).status_code == 404


def test_rejected_form_keeps_everything_typed(cards_world, client):
    client.force_login(cards_world["ds"])
    typed = {"name": "has spaces", "team": cards_world.team.pk, "model_overview__model_name": "Kept name",
             "business_details__business_problem": "Kept problem", "intended_uses__risk_rating": "High",
             "training_metrics": "auc = 0.9\nbroken line", "evaluation_observation": "Kept observation"}
    response = client.post("/model-cards/new/", typed)
    page = response.content.decode()
    assert response.status_code == 200 and not ModelCard.objects.exists()
    for text in ("Kept name", "Kept problem", "Kept observation", "broken line", "has spaces"):
        assert text in page
    assert "Line 2: write one metric per line" in page
    assert "Name the evaluation" in page and "single hyphens" in page


def test_create_edit_submit_through_pages(cards_world, client):
    world = cards_world
    client.force_login(world["ds"])
    name = unique_name("page")
    response = client.post("/model-cards/new/", {"name": name, "team": world.team.pk,
                                                 "model_overview__model_name": "Page model",
                                                 "intended_uses__risk_rating": "Low"})
    card = ModelCard.objects.get(name=name)
    assert response.status_code == 302 and response["Location"] == f"/model-cards/{card.pk}/"
    client.post(f"/model-cards/{card.pk}/edit/", {"model_overview__model_name": "Page model",
                                                 "intended_uses__risk_rating": "High"})
    client.post(f"/model-cards/{card.pk}/submit/")
    card.refresh_from_db()
    assert (card.status, card.current_version) == ("PendingReview", 3)
    client.force_login(world["approver"])
    page = client.get(f"/model-cards/{card.pk}/").content.decode()
    assert "Approve" in page and "Send back" in page and "Pending review" in page
    response = client.post(f"/model-cards/{card.pk}/send_back/", {"comment": ""}, follow=True)
    assert "comment is required" in response.content.decode()
    diff = client.get(f"/model-cards/{card.pk}/diff/", {"a": 1, "b": 2}).content.decode()
    assert "risk rating" in diff and "Low" in diff and "High" in diff
    assert "does not exist" in client.get(f"/model-cards/{card.pk}/diff/", {"a": 1, "b": 50}).content.decode()


def test_portal_pdf_contains_the_model_name(cards_world, client):
    ok, reason = pdf.weasyprint_available()
    if not ok:
        print(f"SKIPPED portal PDF: {reason}")
        pytest.skip(reason)
    card = make_card(cards_world, body=content("Quokka Fraud Scorer"))
    client.force_login(cards_world["executive"])
    response = client.get(f"/model-cards/{card.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and pdf_contains(response.content, "Quokka Fraud Scorer")
    assert not pdf_contains(response.content, "Wombat")


def test_without_weasyprint_the_page_explains(cards_world, client, monkeypatch):
    monkeypatch.setattr(pdf, "weasyprint_available", lambda: (False, pdf.UNAVAILABLE))
    card = make_card(cards_world)
    client.force_login(cards_world["ds"])
    response = client.get(f"/model-cards/{card.pk}/pdf/", follow=True)
    assert "cannot render PDFs" in response.content.decode()
