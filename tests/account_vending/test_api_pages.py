"""The API and the pages: Idempotency-Key, 409 on illegal transitions, errors keep input, query counts."""
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from provisioning.accounts.models import AccountRequest

pytestmark = pytest.mark.django_db

BODY = {"team": "fraud-detection", "environment": "test", "purpose": "Model training",
        "account_name": "api-vend", "email": "aws+api-vend@example.com", "sso_first_name": "Lea",
        "sso_last_name": "Lead", "sso_email": "lead@example.com", "monthly_budget_usd": "250.00"}


def test_api_create_is_idempotent_and_transitions_answer_409(world, api_client):
    api_client.force_authenticate(world["lead"])
    first = api_client.post("/api/v1/account-requests/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201, first.data
    assert first.data["state"] == "pending_approval" and first.data["ou_path"] == "Deployments/NonProd"
    again = api_client.post("/api/v1/account-requests/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert AccountRequest.objects.count() == 1
    pk = first.data["id"]
    api_client.force_authenticate(world["platform_admin"])
    rejected = api_client.post(f"/api/v1/account-requests/{pk}/reject/", {}, format="json")
    assert rejected.status_code == 400 and rejected.data["error"]["fields"]["comment"]
    approved = api_client.post(f"/api/v1/account-requests/{pk}/approve/", {}, format="json")
    assert approved.status_code == 200 and approved.data["state"] == "queued"
    assert approved.data["queue_position"] == 1
    conflict = api_client.post(f"/api/v1/account-requests/{pk}/approve/", {}, format="json")
    assert conflict.status_code == 409 and conflict.data["error"]["code"] == "invalid_transition"


def test_api_validation_errors_name_the_field(world, api_client):
    api_client.force_authenticate(world["lead"])
    response = api_client.post("/api/v1/account-requests/", {**BODY, "account_name": "x" * 51,
                                                             "email": "bad(@example.com"}, format="json")
    assert response.status_code == 400
    fields = response.data["error"]["fields"]
    assert "1 to 50" in fields["account_name"][0] and "must not contain" in fields["email"][0]


def test_form_errors_keep_what_was_typed(world, client):
    client.force_login(world["lead"])
    response = client.post("/account-requests/new/", {**BODY, "account_name": "kept-name", "email": "x@nodot"})
    assert response.status_code == 200
    assert b"kept-name" in response.content and b"contain a dot" in response.content
    response = client.post("/account-requests/new/", {**BODY, "account_name": "page-vend",
                                                      "email": "aws+page-vend@example.com"})
    assert response.status_code == 302
    item = AccountRequest.objects.get(account_name="page-vend")
    detail = client.get(response["Location"])
    assert b"Waiting for approval" in detail.content and b"hx-get" in detail.content
    client.force_login(world["platform_admin"])
    client.post(f"/account-requests/{item.pk}/reject/", {"comment": ""})
    assert AccountRequest.objects.get(pk=item.pk).state == "pending_approval"
    client.post(f"/account-requests/{item.pk}/approve/", {"comment": "fine"})
    progress = client.get(f"/account-requests/{item.pk}/progress/")
    assert b'data-testid="queue-position"' in progress.content


def _make(world, n):
    from provisioning.accounts.services import account_request_create
    for i in range(n):
        account_request_create(actor=world["lead"], team=world.team, environment="dev", purpose="p",
                               account_name=f"qc-{n}-{i}", email=f"aws+qc-{n}-{i}@example.com",
                               sso_first_name="a", sso_last_name="b", sso_email="a@example.com",
                               monthly_budget_usd=Decimal("1"))


@pytest.mark.parametrize("url", ["/account-requests/", "/api/v1/account-requests/"])
def test_list_query_count_does_not_grow(world, client, url):
    client.force_login(world["lead"])
    _make(world, 2)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    _make(world, 8)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)


def test_navigation_entry(world, client):
    client.force_login(world["lead"])
    assert b"Account requests" in client.get("/").content


def test_csv_export_follows_filters_and_scope_and_neutralises_formulas(world, client):
    from provisioning.accounts.services import account_request_create
    mine = account_request_create(actor=world["lead"], team=world.team, environment="dev", purpose="=HYPERLINK(1)",
                                  account_name="csv-mine", email="aws+csv-mine@example.com", sso_first_name="a",
                                  sso_last_name="b", sso_email="a@example.com")
    theirs = account_request_create(actor=world["other_lead"], team=world.other_team, environment="dev",
                                    purpose="p", account_name="csv-theirs", email="aws+csv-theirs@example.com",
                                    sso_first_name="a", sso_last_name="b", sso_email="a@example.com")
    client.force_login(world["lead"])
    listing = client.get("/account-requests/", {"state": "pending_approval"}).content.decode()
    assert 'href="/account-requests/export.csv?state=pending_approval"' in listing
    body = b"".join(client.get("/account-requests/export.csv", {"state": "pending_approval"})
                    .streaming_content).decode()
    lines = body.splitlines()
    assert lines[0].startswith("id,created_at,state,team,requester") and len(lines) == 2
    assert "csv-mine" in body and "csv-theirs" not in body
    assert "'=HYPERLINK(1)" in body
    assert "csv-mine" not in b"".join(client.get("/account-requests/export.csv", {"state": "ready"})
                                      .streaming_content).decode()
    client.force_login(world["auditor"])
    body = b"".join(client.get("/account-requests/export.csv").streaming_content).decode()
    assert "csv-mine" in body and "csv-theirs" in body and str(theirs.pk) in body and str(mine.pk) in body
