"""Bad input is a 400 that names the field, never a 500: NUL characters (PostgreSQL refuses them
in text and JSON), bodies of the wrong shape, out-of-range values."""
import pytest
from rest_framework.test import APIClient

NUL = "a\x00b"


def _as(user):
    client = APIClient()
    client.force_login(user)
    return client


def _field_error(response, field):
    assert response.status_code == 400, (response.status_code, getattr(response, "content", b"")[:300])
    body = response.json()["error"]
    assert field in body.get("fields", {}), body
    return body


def test_a_nul_character_anywhere_in_a_json_body_is_refused_with_its_field(world):
    client = _as(world["lead"])
    body = _field_error(client.post("/api/v1/webhooks/", {"team": world.team.slug, "name": NUL,
                                                          "url": "https://hooks.example.com/x", "events": []},
                                    format="json"), "name")
    assert body["fields"]["name"] == ["Null characters are not allowed."]
    nested = client.post("/api/v1/api-tokens/", {"name": "ok", "extra": {"deep": ["fine", NUL], NUL: 1}},
                         format="json")
    assert set(_field_error(nested, "extra.deep.1")["fields"]) == {"extra.deep.1", f"extra.{NUL}"}
    assert not world["lead"].api_tokens.exists()


@pytest.mark.parametrize("path", ["/api/v1/audit-events/", "/api/v1/teams/", "/api/v1/model-versions/"])
def test_a_nul_character_in_a_query_is_refused_with_its_parameter(world, path):
    _field_error(_as(world["auditor"]).get(path, {"search": NUL, "q": NUL}), "search")


def test_a_nul_character_in_a_page_query_is_a_400_page(world, client):
    client.force_login(world["auditor"])
    response = client.get("/audit/", {"action": NUL, "team": "fine"})
    assert response.status_code == 400
    assert "Null characters are not allowed (in action)." in response.content.decode()


def test_an_out_of_range_utc_offset_is_refused_with_its_field(world):
    _field_error(_as(world["auditor"]).get("/api/v1/audit-events/", {"until": "2026-01-01T00:00:00+25:00"}), "until")


def test_a_budget_patch_without_the_amount_names_it(world):
    _field_error(_as(world["platform_admin"]).patch(f"/api/v1/budgets/{world.team.slug}/", {}, format="json"),
                 "monthly_budget_usd")
