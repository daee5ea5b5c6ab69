"""The OpenAPI schema says what the API answers (portal.api_schema), and the shared places
(pagination, filters) refuse what they used to ignore or answer oddly: 400 naming the parameter."""
import re

import pytest
from rest_framework.test import APIClient


def _as(user):
    client = APIClient()
    client.force_login(user)
    return client


def _names(response, parameter):
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert parameter in response.json()["error"]["fields"], response.json()


@pytest.fixture
def schema(world):
    return _as(world["platform_admin"]).get("/api/schema/?format=json").json()


@pytest.mark.parametrize("query", [{"page": "0"}, {"page": "x"}, {"page": "-1"}, {"page_size": "0"},
                                   {"page_size": "null"}, {"page_size": "2.5"}])
def test_a_bad_page_or_page_size_is_a_400_naming_it(world, query):
    _names(_as(world["auditor"]).get("/api/v1/audit-events/", query), next(iter(query)))


def test_pages_still_work_and_one_past_the_last_is_not_found(world):
    client = _as(world["auditor"])
    assert client.get("/api/v1/audit-events/", {"page": "1", "page_size": "600"}).status_code == 200
    assert client.get("/api/v1/audit-events/", {"page": "last"}).status_code == 200
    assert client.get("/api/v1/audit-events/", {"page": "99"}).status_code == 404


@pytest.mark.parametrize("path, parameter", [("/api/v1/notifications/", "read_at__isnull"),
                                             ("/api/v1/webhooks/", "active")])
def test_a_boolean_filter_refuses_what_is_not_a_boolean(world, path, parameter):
    client = _as(world["platform_admin"])
    _names(client.get(path, {parameter: "null"}), parameter)
    assert client.get(path, {parameter: "true"}).status_code == 200
    assert client.get(path, {parameter: "0"}).status_code == 200


def test_a_typed_filter_given_empty_is_refused_but_text_filters_are_not(world):
    client = _as(world["auditor"])
    _names(client.get("/api/v1/audit-events/", {"since": ""}), "since")
    assert client.get("/api/v1/audit-events/", {"action": "", "until": "2030-01-01T00:00:00Z"}).status_code == 200


def test_a_cost_report_for_an_empty_team_is_refused(world):
    _names(_as(world["platform_admin"]).get("/api/v1/costs/daily/", {"team": ""}), "team")


def test_every_operation_documents_its_errors_with_the_one_error_body(schema):
    error = {"$ref": "#/components/schemas/Error"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            documented = set(operation["responses"])
            assert {"401", "403"} <= documented, (method, path)
            if "{" in path:
                assert "404" in documented, (method, path)
            if method != "get":
                assert {"400", "409"} <= documented, (method, path)
            if "requestBody" in operation:
                assert "415" in documented, (method, path)
                assert set(operation["requestBody"]["content"]) == {"application/json"}, (method, path)
            for status in documented - {"200", "201", "202", "204"}:
                assert operation["responses"][status]["content"]["application/json"]["schema"] == error
    create = schema["paths"]["/api/v1/teams/"]["post"]
    assert "422" in create["responses"]
    assert "Idempotency-Key" in {p["name"] for p in create["parameters"] if p["in"] == "header"}


def test_nullable_and_decimal_fields_are_described_as_answered(schema):
    components = schema["components"]["schemas"]
    assert components["AwsAccount"]["properties"]["team"]["nullable"] is True   # an unassigned account
    assert components["AuditEvent"]["properties"]["team"]["nullable"] is True
    assert components["ApiToken"]["properties"]["token"]["nullable"] is True
    budget = re.compile(components["Team"]["properties"]["monthly_budget_usd"]["pattern"])
    assert budget.match("25000.00") and budget.match("5")
    assert not budget.match("") and not budget.match("-1")
    summary = schema["paths"]["/api/v1/costs/summary/"]["get"]["responses"]["200"]["content"]["application/json"]
    assert summary["schema"] == {"$ref": "#/components/schemas/Summary"}        # one object, not a list
    daily = schema["paths"]["/api/v1/costs/daily/"]["get"]
    assert daily["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("PaginatedDailyCostList")
    assert {"page", "page_size"} <= {p["name"] for p in daily["parameters"]}


def test_the_token_list_answers_what_the_schema_says(world, token_for):
    token_for(world["lead"])
    listed = _as(world["lead"]).get("/api/v1/api-tokens/").json()["results"]
    assert listed and all(row["token"] is None for row in listed)
