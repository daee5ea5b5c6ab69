"""API contract, catalog policy and visibility, lists with filters/CSV, query-count baselines."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.models import AuditEvent
from portal.permissions import SYSTEM
from provisioning import services
from provisioning.models import CatalogProduct, ProvisioningRequest, RequestState as S
from tests.provisioning import factories as f
from tests.provisioning.conftest import run_to_settled, unique


def _login(_api_client, user):
    from rest_framework.test import APIClient
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_catalog_sync_is_idempotent_and_audited_once(catalog, catalog_snapshot):
    events = AuditEvent.objects.filter(action="catalog.sync").count()
    counts = services.catalog_apply(actor=SYSTEM, snapshot=catalog_snapshot)
    assert counts["created"] == counts["changed"] == counts["removed"] == 0
    assert AuditEvent.objects.filter(action="catalog.sync").count() == events
    # a product gone from AWS is kept but marked
    services.catalog_apply(actor=SYSTEM, snapshot=[p for p in catalog_snapshot
                                                   if p["summary"]["Name"] != "SageMaker User Profile"])
    assert not CatalogProduct.objects.get(name="SageMaker User Profile").in_catalog


def test_catalog_search_visibility_and_policy(catalog, client):
    world, domain = catalog["world"], catalog["domain"]
    client.force_login(world["ds"])
    page = client.get(reverse("provisioning:catalog_list"), {"q": "studio"}).content.decode()
    assert "SageMaker Studio Domain" in page and "MLOps Project" not in page
    assert "Account Factory" not in client.get(reverse("provisioning:catalog_list")).content.decode()
    services.catalog_policy_update(actor=world["platform_admin"], product=domain, enabled=True,
                                   allowed_teams=[world.other_team], allowed_roles=["lead"], requires_approval=False,
                                   hourly_price_usd=domain.hourly_price_usd)
    assert AuditEvent.objects.filter(action="catalog.policy_update").exists()
    response = client.get(reverse("provisioning:request_create", args=[domain.product_id]))
    assert response.status_code == 403                      # ds of fraud-detection no longer allowed


def test_api_create_with_idempotency_key_and_transitions(catalog, api_client):
    world, domain = catalog["world"], catalog["domain"]
    api = _login(api_client, world["ds"])
    body = {"product": domain.product_id, "account": "333333333311", "name": unique(),
            "parameters": {"DomainName": "api-studio"}}
    first = api.post("/api/v1/provisioning-requests/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/v1/provisioning-requests/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201 and again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == again.json()["id"] and ProvisioningRequest.objects.count() == 1
    assert first.json()["state"] == S.PENDING_APPROVAL and first.json()["provision_token"]
    pk = first.json()["id"]
    bad = api.post("/api/v1/provisioning-requests/", {**body, "name": unique(), "parameters": {"DomainName": "-x"}},
                   format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"
    assert "DomainName" in bad.json()["error"]["fields"]
    assert api.post(f"/api/v1/provisioning-requests/{pk}/approve/", {}, format="json").status_code == 403
    lead = _login(api_client, world["lead"])
    reject = lead.post(f"/api/v1/provisioning-requests/{pk}/reject/", {"comment": ""}, format="json")
    assert reject.status_code == 400 and reject.json()["error"]["fields"]["comment"]
    assert lead.post(f"/api/v1/provisioning-requests/{pk}/approve/", {}, format="json").json()["state"] == S.APPROVED
    conflict = lead.post(f"/api/v1/provisioning-requests/{pk}/approve/", {}, format="json")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "invalid_transition"
    assert run_to_settled(pk) == S.AVAILABLE
    detail = lead.get(f"/api/v1/provisioning-requests/{pk}/").json()
    assert {o["OutputKey"] for o in detail["outputs"]} == {"DomainId", "DomainArn", "StudioUrl"}
    inventory = lead.get("/api/v1/provisioned-products/").json()
    assert inventory["count"] == 1 and inventory["results"][0]["request"] == pk
    other = _login(api_client, world["other_lead"])
    assert other.get(f"/api/v1/provisioning-requests/{pk}/").status_code == 404
    assert other.get("/api/v1/provisioned-products/").json()["count"] == 0
    term = lead.post(f"/api/v1/provisioning-requests/{pk}/terminate/", {"confirm_name": detail["name"]}, format="json")
    assert term.status_code == 200 and term.json()["state"] == S.TERMINATING
    assert run_to_settled(pk) == S.TERMINATED


def test_request_pages_show_progress_and_filters_and_csv(make_request, catalog, client):
    world = catalog["world"]
    mine = services.request_create(actor=world["ds"], product=catalog["domain"], account=world.account,
                                   name=unique(), project="=HYPERLINK(1)", parameters={"DomainName": "csv-x"})
    theirs = make_request(world["lead"])
    client.force_login(world["ds"])
    listing = client.get(reverse("provisioning:request_list"), {"scope": "mine"}).content.decode()
    assert mine.name in listing and theirs.name not in listing
    team = client.get(reverse("provisioning:request_list"), {"state": "pending_approval"}).content.decode()
    assert mine.name in team and theirs.name in team
    csv_body = b"".join(client.get(reverse("provisioning:request_export"), {"scope": "mine"}).streaming_content)
    assert csv_body.decode().splitlines()[0].startswith("id,created_at,state") and mine.name in csv_body.decode()
    assert theirs.name not in csv_body.decode()
    assert "'=HYPERLINK(1)" in csv_body.decode()           # a spreadsheet will not run it
    detail = client.get(reverse("provisioning:request_detail", args=[mine.pk])).content.decode()
    assert "Waiting for approval" in detail and "Step log" in detail
    assert f'hx-get="{reverse("provisioning:request_progress", args=[mine.pk])}"' in detail
    assert 'hx-trigger="every 3s"' in detail
    partial = client.get(reverse("provisioning:request_progress", args=[mine.pk])).content.decode()
    assert "<html" not in partial and 'data-state="pending_approval"' in partial
    services.request_cancel(actor=world["ds"], request=mine)
    stopped = client.get(reverse("provisioning:request_progress", args=[mine.pk]))
    assert stopped.status_code == 286 and 'data-state="cancelled"' in stopped.content.decode()   # htmx stops polling


def test_reject_page_without_comment_keeps_the_page_and_explains(make_request, catalog, client):
    world = catalog["world"]
    request = make_request(world["ds"])
    client.force_login(world["lead"])
    response = client.post(reverse("provisioning:request_action", args=[request.pk, "reject"]), {"comment": ""})
    assert response.status_code == 400 and "A comment is required to reject." in response.content.decode()
    approvals = client.get(reverse("portal:approvals")).content.decode()
    assert request.name in approvals


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("url", ["/requests/", "/inventory/", "/approvals/", "/catalog/",
                                 "/api/v1/provisioning-requests/", "/api/v1/provisioned-products/",
                                 "/api/v1/catalog/products/"])
def test_list_query_count_does_not_grow_with_rows(world, client, url):
    f.request(world, "ds", state="available")
    f.request(world, "ds")
    client.force_login(world["lead"])
    baseline = _count(client, url)
    for _ in range(4):
        f.request(world, "ds", state="available")
        f.request(world, "ds")
    f.product(product_id="prod-two", name="Second product")
    assert _count(client, url) == baseline, f"{url}: query count grew with rows"
