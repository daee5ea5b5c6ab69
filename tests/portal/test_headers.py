"""Headers every answer carries: Permissions-Policy everywhere; no-store on whatever a signed-in
user or an API token gets (pages, API answers, CSV exports). Static files, which WhiteNoise serves
only with production settings, are checked in the production smoke test."""
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient


def _no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_every_response_carries_the_permissions_policy(world, client):
    anonymous = [client.get("/accounts/login/"), client.get("/healthz/"), client.get("/api/v1/me/"),
                 client.get("/no-such-page/")]     # static files: tests/portal/test_production.py
    client.force_login(world["lead"])
    for response in [*anonymous, client.get("/")]:
        assert response["Permissions-Policy"] == settings.PERMISSIONS_POLICY, response
    assert "camera=()" in settings.PERMISSIONS_POLICY and "geolocation=()" in settings.PERMISSIONS_POLICY


def test_personal_answers_are_never_stored_by_a_cache(world, token_for):
    browser = Client()
    browser.force_login(world["auditor"])
    page, export = browser.get("/"), browser.get("/audit/", {"format": "csv"})
    assert page.status_code == 200 and export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(world['lead'])}")
    answer = api.get("/api/v1/me/")
    assert answer.status_code == 200
    refused = APIClient().get("/api/v1/teams/")
    assert refused.status_code == 401
    for response in (page, export, answer, refused):
        assert _no_store(response) and "private" in response["Cache-Control"], response
