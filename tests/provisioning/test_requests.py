"""Requests through the services and pages: form, guardrails, approval, lifecycle, notifications."""
import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from portal.errors import DomainError, InvalidTransition
from portal.models import AuditEvent, Notification
from portal.permissions import SYSTEM
from provisioning import services
from provisioning.models import ProvisionedProduct, ProvisioningRequest, RequestState as S
from provisioning.policies import presets_for
from tests.provisioning.conftest import run_to_settled, unique


def _prod_account(world):
    """The team's prod account, linked, with its own network preset (as the demo and vending do)."""
    from portal.services import account_link
    account = account_link(actor=SYSTEM, account_id="333333333313", name="fraud-detection-prod", environment="prod",
                           team=world.team, ou_path="Deployments/Prod")
    services.preset_account_networks(actor=SYSTEM, accounts=[account])
    return account


def test_form_is_generated_from_the_stored_parameters(catalog, client):
    world, domain = catalog["world"], catalog["domain"]
    client.force_login(world["lead"])
    url = reverse("provisioning:request_create", args=[domain.product_id])
    picker = client.get(url)
    assert picker.status_code == 200 and "333333333311" in picker.content.decode()
    assert "333333333321" not in picker.content.decode()        # another team's account is not offered
    page = client.get(url, {"account": "333333333311"}).content.decode()
    assert '<select name="NetworkIsolation"' in page and '<option value="YES" selected>' in page
    assert '<select name="DefaultInstanceType"' in page and "ml.g4dn.xlarge" in page
    assert 'name="DomainName"' in page and "1-63 letters, digits or hyphens" in page   # help from constraints
    vpc = presets_for(domain, world.account)["VpcId"]["hidden"]                         # the account's own VPC
    assert 'name="VpcId"' not in page and vpc in page                                   # hidden preset shown as set
    assert "$365.00 per month" in page                                                  # 0.5 × 730
    assert '<option value="dev" selected>' in page                   # EnvironmentName follows the account
    assert "v1 (deprecated)" not in page


def test_rejected_form_keeps_everything_typed_and_says_why(catalog, client):
    world, domain = catalog["world"], catalog["domain"]
    _prod_account(world)
    client.force_login(world["lead"])
    url = reverse("provisioning:request_create", args=[domain.product_id])
    version = domain.versions.get(name="v2").artifact_id
    response = client.post(url, {"account": "333333333313", "name": "prod-studio", "project": "churn",
                                 "version": version, "DomainName": "prod-studio", "NetworkIsolation": "NO",
                                 "AppNetworkAccessType": "VpcOnly", "AuthMode": "IAM",
                                 "DefaultInstanceType": "ml.t3.large", "EnvironmentName": "prod"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Network isolation must be YES in production accounts." in page
    assert 'value="churn"' in page and 'value="prod-studio"' in page and '<option value="ml.t3.large" selected>' in page
    assert not ProvisioningRequest.objects.exists()


def test_pattern_violation_is_shown_on_the_field(catalog, client):
    world, domain = catalog["world"], catalog["domain"]
    client.force_login(world["lead"])
    url = reverse("provisioning:request_create", args=[domain.product_id])
    response = client.post(url, {"account": "333333333311", "name": "ok-name", "DomainName": "-bad_name-",
                                 "version": domain.versions.get(name="v2").artifact_id,
                                 "NetworkIsolation": "YES", "AppNetworkAccessType": "VpcOnly", "AuthMode": "IAM",
                                 "DefaultInstanceType": "ml.t3.medium", "EnvironmentName": "dev"})
    assert response.status_code == 400
    assert "1-63 letters, digits or hyphens" in response.content.decode()


def test_instance_types_allowed_per_team_are_enforced_on_the_server(catalog):
    world, domain = catalog["world"], catalog["domain"]
    services.preset_set(actor=SYSTEM, product=domain, key="DefaultInstanceType", mode="allowed",
                        value="ml.t3.medium,ml.t3.large", team=world.team)
    with pytest.raises(DomainError) as raised:
        services.request_create(actor=world["lead"], product=domain, account=world.account, name=unique(),
                                parameters={"DomainName": "x1", "DefaultInstanceType": "ml.g4dn.xlarge"})
    assert raised.value.fields["DefaultInstanceType"] == ["Choose one of: ml.t3.medium, ml.t3.large."]


def test_target_account_must_belong_to_the_team(catalog):
    world, domain = catalog["world"], catalog["domain"]
    with pytest.raises(PermissionDenied):
        services.request_create(actor=world["lead"], product=domain, account=world.other_account, name=unique(),
                                parameters={"DomainName": "x1"})


def test_approval_rules(make_request, catalog):
    world = catalog["world"]
    request = make_request(world["ds"])
    assert request.state == S.PENDING_APPROVAL
    needed = Notification.objects.filter(kind="approval.needed").values_list("user__username", flat=True)
    assert set(needed) == {"lead", "platform-admin"}
    with pytest.raises(PermissionDenied):
        services.request_approve(actor=world["ds"], request=request)          # own request
    with pytest.raises(PermissionDenied):
        services.request_approve(actor=world["mle"], request=request)         # not a lead
    with pytest.raises(DomainError) as raised:
        services.request_reject(actor=world["lead"], request=request, comment="  ")
    assert raised.value.fields == {"comment": ["A comment is required to reject."]}
    services.request_reject(actor=world["lead"], request=request, comment="Use the shared domain")
    request.refresh_from_db()
    assert request.state == S.REJECTED and request.decision_comment == "Use the shared domain"
    assert Notification.objects.filter(user=world["ds"], kind="request.rejected").exists()
    with pytest.raises(InvalidTransition):
        services.request_approve(actor=world["lead"], request=request)


def test_an_estimate_over_the_budget_left_is_warned_and_routed_to_approval(make_request, catalog, client):
    """The product needs no approval; it fits a large budget (approved at once) but not a small one:
    the form warns, the request waits for a lead or admin, and the reason is on the page and in the API."""
    from costs.services import budget_set
    from provisioning.models import CatalogProduct

    world, domain = catalog["world"], catalog["domain"]
    CatalogProduct.objects.filter(pk=domain.pk).update(requires_approval=False)     # $365/month
    domain.refresh_from_db()
    fits = make_request(world["ds"])
    assert fits.state == S.APPROVED and not fits.over_budget and fits.approval_reason == ""

    budget_set(actor=world["platform_admin"], team=world.team, monthly_budget_usd="10")
    client.force_login(world["ds"])
    form = client.get(reverse("provisioning:request_create", args=[domain.product_id]), {"account": "333333333311"})
    warning = form.content.decode()
    assert 'data-testid="budget-warning"' in warning and "$10.00 monthly budget" in warning

    over = make_request(world["ds"])
    assert over.state == S.PENDING_APPROVAL and over.over_budget
    assert "$10.00 monthly budget" in over.approval_reason and "policy" not in over.approval_reason
    needed = Notification.objects.filter(kind="approval.needed", subject__endswith=over.name)
    assert {n.user.username for n in needed} == {"lead", "platform-admin"}
    assert all("monthly budget" in n.body for n in needed)
    page = client.get(reverse("provisioning:request_detail", args=[over.pk])).content.decode()
    assert 'data-testid="approval-reason"' in page
    api = client.get(f"/api/v1/provisioning-requests/{over.pk}/").json()
    assert api["over_budget"] is True and api["approval_reason"] == over.approval_reason
    services.request_approve(actor=world["lead"], request=over)
    over.refresh_from_db()
    assert over.state == S.APPROVED


def test_a_lead_cannot_approve_own_request_but_an_admin_can(make_request, catalog):
    world = catalog["world"]
    request = make_request(world["lead"])
    with pytest.raises(PermissionDenied):
        services.request_approve(actor=world["lead"], request=request)
    services.request_approve(actor=world["platform_admin"], request=request)
    request.refresh_from_db()
    assert request.state == S.APPROVED and request.decided_by == world["platform_admin"]


def test_cancel_before_provisioning_only(make_request, catalog):
    world = catalog["world"]
    request = make_request(world["ds"])
    with pytest.raises(PermissionDenied):
        services.request_cancel(actor=world["mle"], request=request)     # neither requester nor lead
    services.request_cancel(actor=world["ds"], request=request)
    assert ProvisioningRequest.objects.get(pk=request.pk).state == S.CANCELLED
    other = make_request(world["ds"])
    services.request_approve(actor=world["lead"], request=other)
    services.request_execute(request_id=other.pk)
    with pytest.raises(InvalidTransition):
        services.request_cancel(actor=world["ds"], request=other)


def test_full_lifecycle_provision_update_terminate(make_request, catalog):
    world = catalog["world"]
    request = make_request(world["ds"])
    services.request_approve(actor=world["lead"], request=request)
    kinds = set(Notification.objects.filter(user=world["ds"]).values_list("kind", flat=True))
    assert {"request.submitted", "request.approved"} <= kinds
    assert run_to_settled(request.pk) == S.AVAILABLE
    request.refresh_from_db()
    outputs = {o["OutputKey"]: o["OutputValue"] for o in request.outputs}
    assert outputs["StudioUrl"].startswith("https://") and outputs["DomainArn"].startswith("arn:aws:sagemaker:")
    item = ProvisionedProduct.objects.get(request=request)
    assert item.pp_id == request.provisioned_product_id and item.owner == world["ds"] and item.status == "AVAILABLE"
    assert Notification.objects.filter(user=world["ds"], kind="request.available").exists()
    steps = list(request.steps.values_list("action", "outcome"))
    assert ("ProvisionProduct", "ok") in steps and ("DescribeRecord", "ok") in steps
    # tags on the provisioned product in AWS
    sandbox_pp = catalog["sandbox"].engine.state["servicecatalog"]["provisioned"][request.provisioned_product_id]
    assert sandbox_pp["tags"]["team"] == "fraud-detection" and sandbox_pp["tags"]["portal-request"] == str(request.pk)
    assert sandbox_pp["tags"]["environment"] == "dev"
    assert sandbox_pp["tags"]["domain"] == request.parameters["DomainName"]     # cost per SageMaker domain

    with pytest.raises(DomainError):
        services.request_update(actor=world["ds"], request=request, parameters={})      # nothing changed
    preview = services.request_update_preview(actor=world["ds"], request=request,
                                              parameters={"DefaultInstanceType": "ml.t3.large"})
    assert preview["parameters"] == [{"key": "DefaultInstanceType", "old": "ml.t3.medium", "new": "ml.t3.large"}]
    assert preview["plan_status"] == "CREATE_SUCCESS" and preview["changes"]
    services.request_update(actor=world["ds"], request=request, parameters={"DefaultInstanceType": "ml.t3.large"})
    assert run_to_settled(request.pk) == S.AVAILABLE
    request.refresh_from_db()
    assert request.parameters["DefaultInstanceType"] == "ml.t3.large"

    with pytest.raises(DomainError) as raised:
        services.request_terminate(actor=world["ds"], request=request, confirm_name="wrong")
    assert raised.value.fields == {"confirm_name": [f"The name does not match: type {request.name}."]}
    services.request_terminate(actor=world["ds"], request=request, confirm_name=request.name)
    assert run_to_settled(request.pk) == S.TERMINATED
    item.refresh_from_db()
    assert item.terminated_at is not None and item.status == "TERMINATED"
    actions = set(AuditEvent.objects.filter(target_id=str(request.pk)).values_list("action", flat=True))
    assert {"provisioning_request.approve", "provisioning_request.terminate", "provisioning_request.succeed"} <= actions


def test_failed_record_is_explained_and_retry_recovers(make_request, catalog):
    world, engine = catalog["world"], catalog["sandbox"].engine
    request = make_request(world["ds"])
    services.request_approve(actor=world["lead"], request=request)
    engine.faults.add({"kind": "record_failure", "service": "servicecatalog", "subject": catalog["domain"].name})
    assert run_to_settled(request.pk) == S.FAILED
    request.refresh_from_db()
    assert request.error_message.startswith("AWS could not create the product: a resource could not be built")
    assert "SageMakerStudioDomain" in request.error_message
    assert Notification.objects.filter(user=world["ds"], kind="request.failed").exists()
    first_pp = request.provisioned_product_id
    services.request_retry(actor=world["ds"], request=request)
    assert run_to_settled(request.pk) == S.AVAILABLE
    request.refresh_from_db()
    assert request.provisioned_product_id and request.provisioned_product_id != first_pp
    assert first_pp not in engine.state["servicecatalog"]["provisioned"]     # the failed product was removed


def test_update_page_previews_then_applies(make_request, catalog, client):
    world = catalog["world"]
    request = make_request(world["ds"])
    services.request_approve(actor=world["lead"], request=request)
    assert run_to_settled(request.pk) == S.AVAILABLE
    client.force_login(world["ds"])
    url = reverse("provisioning:request_update", args=[request.pk])
    form = client.get(url).content.decode()
    assert '<option value="ml.t3.medium" selected>' in form and 'name="VpcId"' not in form
    values = {**{k: v for k, v in request.parameters.items() if k not in ("VpcId", "SubnetIds", "SecurityGroupIds")},
              "DefaultInstanceType": "ml.m5.large"}
    preview = client.post(url, {**values, "action": "preview"}).content.decode()
    assert "DefaultInstanceType" in preview and "ml.t3.medium → ml.m5.large" in preview
    assert "SageMakerStudioDomain" in preview and "Apply the update" in preview
    assert ProvisioningRequest.objects.get(pk=request.pk).state == S.AVAILABLE      # a preview changes nothing
    response = client.post(url, {**values, "action": "confirm"})
    assert response.status_code == 302
    assert ProvisioningRequest.objects.get(pk=request.pk).state == S.UPDATING
    assert run_to_settled(request.pk) == S.AVAILABLE
    assert ProvisioningRequest.objects.get(pk=request.pk).parameters["DefaultInstanceType"] == "ml.m5.large"


@pytest.mark.usefixtures("boundary_clock")
def test_expiry_reminds_once_then_terminates_through_the_normal_rules(make_request, catalog):
    from datetime import timedelta

    from django.utils import timezone

    world, domain = catalog["world"], catalog["domain"]
    services.catalog_policy_update(actor=world["platform_admin"], product=domain, enabled=True, allowed_teams=[],
                                   allowed_roles=[], requires_approval=True, hourly_price_usd=domain.hourly_price_usd,
                                   lifetime_days=7)
    request = make_request(world["ds"])
    services.request_approve(actor=world["lead"], request=request)
    assert run_to_settled(request.pk) == S.AVAILABLE
    request.refresh_from_db()
    assert timedelta(days=6) < request.expires_at - timezone.now() <= timedelta(days=7)
    assert services.expiry_check(now=timezone.now()) == {"reminded": 0, "terminated": 0}
    soon = request.expires_at - timedelta(days=2)
    assert services.expiry_check(now=soon) == {"reminded": 1, "terminated": 0}
    assert services.expiry_check(now=soon) == {"reminded": 0, "terminated": 0}           # reminded once
    assert Notification.objects.filter(user=world["ds"], kind="request.expiring").count() == 1
    assert services.expiry_check(now=request.expires_at + timedelta(minutes=1)) == {"reminded": 0, "terminated": 1}
    assert ProvisioningRequest.objects.get(pk=request.pk).state == S.TERMINATING
    assert run_to_settled(request.pk) == S.TERMINATED
    assert AuditEvent.objects.filter(target_id=str(request.pk), action="provisioning_request.terminate",
                                     actor_label="system").exists()


def test_a_request_nobody_may_decide_says_so_on_its_page_and_in_the_api(make_request, catalog, client, api_client):
    world = catalog["world"]
    world["platform_admin"].is_active = False          # the lead's request: only a platform admin could decide it
    world["platform_admin"].save()
    request = make_request()
    reason = services.undecidable_reason(request)
    assert reason.startswith("Nobody can decide this request") and request.state == "pending_approval"
    assert request.steps.filter(action="undecidable").exists()
    client.force_login(world["lead"])
    assert reason in client.get(f"/requests/{request.pk}/").content.decode()
    api_client.force_authenticate(world["lead"])
    assert api_client.get(f"/api/v1/provisioning-requests/{request.pk}/").json()["undecidable"] == reason
    assert services.undecidable_reason(make_request(requester=world["ds"])) == ""     # the lead may decide this one
