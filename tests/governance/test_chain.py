"""The promotion chain against the sandbox: registry sync, the three decisions, the central copy,
the deployments through Service Catalog, gates, rollback, and the event/poll agreement."""
import pytest
from django.core.exceptions import PermissionDenied

from governance import aws, services
from governance.models import ApprovalDecision, Deployment, ModelGroup, ModelVersion, Stage
from portal.errors import DomainError, InvalidTransition
from portal.models import AuditEvent
from portal.permissions import SYSTEM
from tests.governance.conftest import CENTRAL, DEV, new_group_name, register_version

pytestmark = pytest.mark.django_db


def observe(world, arn, account=DEV):
    from portal.models import AwsAccount
    return services.registry_observe(account=AwsAccount.objects.get(account_id=account),
                                     data=aws.describe_version(account, arn))


def test_sync_imports_seeded_registries_with_metrics_creator_source(gov_world, aws_endpoint):
    from governance import tasks
    results = tasks.registry_sync()
    assert results[DEV]["groups"] >= 2 and results[CENTRAL]["groups"] >= 2
    v4 = ModelVersion.objects.get(group__name="fraud-xgboost", group__is_central=False, version=4)
    assert v4.stage == Stage.REGISTERED and v4.approval_status == "PendingManualApproval"
    assert v4.metrics == {"auc": "0.912", "f1": "0.81"}
    assert v4.custom_metadata["dataset"].startswith("s3://data-lake")
    assert v4.created_by_arn.endswith("/fraud-detection-mle") and v4.source.endswith("/execution/" + v4.source.rsplit("/", 1)[1])
    assert v4.team == gov_world.team and v4.upstream_dataset_count and v4.upstream_dataset_count >= 1
    # Historical decisions are taken as found; the promoted v3 is linked to its central copy.
    v3 = ModelVersion.objects.get(group__name="fraud-xgboost", group__is_central=False, version=3)
    assert v3.stage == Stage.CENTRAL_APPROVED and v3.central_arn.startswith(f"arn:aws:sagemaker:us-east-1:{CENTRAL}:")
    assert v3.central_copy.group.is_central and v3.central_copy.group.team == gov_world.team
    assert ModelVersion.objects.get(group__name="fraud-xgboost", group__is_central=False, version=1).stage == Stage.DEV_REJECTED
    assert not ApprovalDecision.objects.exists()   # nothing was decided by the import itself
    # Incremental: a second run describes nothing that did not change.
    again = tasks.registry_sync()
    assert again[DEV]["described"] == 0 and again[CENTRAL]["described"] == 0


def test_full_chain_dev_to_prod_and_rollback(gov_world, aws_endpoint, eager, django_capture_on_commit_callbacks):
    w = gov_world
    group = new_group_name()
    first_arn = register_version(group, as_user="ds", metrics={"auc": "0.90", "f1": "0.78"})

    def walk(arn, metrics_note):
        version = observe(w, arn)
        assert version.stage == Stage.REGISTERED and version.registered_by == w["ds"]
        with django_capture_on_commit_callbacks(execute=True):
            services.model_version_approve(actor=w["lead"], version=version, comment="good")
        version.refresh_from_db()
        assert version.stage == Stage.IN_CENTRAL, version.last_error
        dev = aws.describe_version_raw(DEV, arn)
        decision = version.decisions.get(stage=1)
        assert dev["ModelApprovalStatus"] == "Approved" and decision.token in dev["ApprovalDescription"]
        central = aws.describe_version_raw(CENTRAL, version.central_arn)
        assert central["SourceUri"] == arn and central["CustomerMetadataProperties"]["auc"] == metrics_note
        assert central["InferenceSpecification"]["Containers"][0]["Image"] == dev["InferenceSpecification"]["Containers"][0]["Image"]
        assert version.central_client_token
        with django_capture_on_commit_callbacks(execute=True):
            services.model_version_approve(actor=w["approver"], version=version)
        version.refresh_from_db()
        assert version.stage == Stage.IN_TEST, version.last_error
        assert aws.describe_version_raw(CENTRAL, version.central_arn)["ModelApprovalStatus"] == "Approved"
        test_deployment = version.deployments.get(environment="test")
        assert test_deployment.endpoint_name == f"{group}-test" and test_deployment.account_id == "333333333312"
        assert aws.endpoint_status("333333333312", f"{group}-test") == "InService"
        with django_capture_on_commit_callbacks(execute=True):
            services.model_version_signoff(actor=w["mle"], version=version, comment="load test passed")
        version.refresh_from_db()
        assert version.stage == Stage.IN_PROD, version.last_error
        assert version.deployments.get(environment="prod").account_id == "333333333313"
        return version

    first = walk(first_arn, "0.90")
    second = walk(register_version(group, as_user="ds", metrics={"auc": "0.93", "f1": "0.80"}), "0.93")
    first.refresh_from_db()
    assert first.stage == Stage.SUPERSEDED
    # The queue context compares with production: the prod version is the second now.
    from governance import selectors
    rows = selectors.metric_rows(first, second)
    assert [str(r["delta"]) for r in rows] == ["-0.03", "-0.02"]

    with django_capture_on_commit_callbacks(execute=True):
        restored = services.model_version_rollback(actor=w["mle"], version=second, comment="latency regression")
    restored.refresh_from_db()
    second.refresh_from_db()
    assert restored.pk == first.pk and restored.stage == Stage.IN_PROD and second.stage == Stage.ROLLED_BACK
    assert restored.deployments.filter(environment="prod", is_rollback=True, status="succeeded").exists()
    from portal.aws import client
    endpoint = client("sagemaker", "333333333313").describe_endpoint(EndpointName=f"{group}-prod")
    model_name = client("sagemaker", "333333333313").describe_endpoint_config(
        EndpointConfigName=endpoint["EndpointConfigName"])["ProductionVariants"][0]["ModelName"]
    model = client("sagemaker", "333333333313").describe_model(ModelName=model_name)
    assert model["PrimaryContainer"]["ModelPackageName"] == first.central_arn
    assert AuditEvent.objects.filter(action="model_version.rollback").count() == 1
    with pytest.raises(InvalidTransition):
        services.model_version_rollback(actor=w["mle"], version=second)


def test_gates(gov_world, aws_endpoint, eager, django_capture_on_commit_callbacks):
    from portal import services as portal_services
    w = gov_world
    group = new_group_name()
    own = observe(w, register_version(group, as_user="lead"))
    assert own.registered_by == w["lead"]
    with pytest.raises(PermissionDenied, match="registered"):
        services.model_version_approve(actor=w["lead"], version=own)
    with pytest.raises(PermissionDenied):   # a data scientist is not a stage-1 approver
        services.model_version_approve(actor=w["ds"], version=own)
    with pytest.raises(PermissionDenied):   # another team's lead cannot either
        services.model_version_approve(actor=w["other_lead"], version=own)
    with pytest.raises(DomainError, match="comment"):
        services.model_version_reject(actor=w["lead"], version=own, comment="  ")

    # The lead who is also a model approver cannot take stage 2 of what they approved at stage 1.
    portal_services.role_grant(actor=SYSTEM, user=w["lead"], role="model_approver")
    version = observe(w, register_version(group, as_user="ds"))
    with django_capture_on_commit_callbacks(execute=True):
        services.model_version_approve(actor=w["lead"], version=version)
    version.refresh_from_db()
    assert version.stage == Stage.IN_CENTRAL
    w["lead"].__dict__.pop("_portal_role_scopes", None)
    with pytest.raises(PermissionDenied, match="stage 1"):
        services.model_version_approve(actor=w["lead"], version=version)
    with pytest.raises(InvalidTransition):   # sign-off is stage 3: not now
        services.model_version_signoff(actor=w["mle"], version=version)

    # The card policy: required for the team's line of business, and no card is approved yet.
    from django.test import override_settings
    with override_settings(GOVERNANCE_CARD_REQUIRED_LINES_OF_BUSINESS="Retail Banking"):
        with pytest.raises(DomainError, match="model card"):
            services.model_version_approve(actor=w["approver"], version=version)
        with django_capture_on_commit_callbacks(execute=True):   # rejecting is allowed
            services.model_version_reject(actor=w["approver"], version=version, comment="no card")
    version.refresh_from_db()
    assert version.stage == Stage.CENTRAL_REJECTED
    assert aws.describe_version_raw(CENTRAL, version.central_arn)["ModelApprovalStatus"] == "Rejected"

    # A model approver restricted to another line of business does not see or decide it.
    portal_services.role_grant(actor=SYSTEM, user=w["executive"], role="model_approver", line_of_business="Risk")
    from governance.selectors import approval_queue_for_user
    assert not approval_queue_for_user(w["executive"]).exists()


def test_prod_requires_signoff(gov_world, aws_endpoint):
    w = gov_world
    version = observe(w, register_version(new_group_name(), as_user="ds"))
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.PROD_APPROVED)   # as if someone forced it
    with pytest.raises(DomainError, match="sign-off"):
        services.deployment_start(version_id=version.pk)
    version.refresh_from_db()
    assert version.stage == Stage.PROD_APPROVED and not Deployment.objects.exists()


def test_copy_to_central_retried_or_redelivered_makes_one_package(gov_world, aws_endpoint, eager,
                                                                   django_capture_on_commit_callbacks, monkeypatch):
    from governance import tasks
    w = gov_world
    group = new_group_name()
    version = observe(w, register_version(group, as_user="ds"))
    monkeypatch.setattr(services, "_dispatch", lambda *args: None)   # run the copy by hand below
    services.model_version_approve(actor=w["lead"], version=version)
    engine = aws_endpoint.engine
    before = len(engine.ledger)
    # The first attempt reaches SageMaker but its answer is lost (the worker dies before commit).
    first = tasks.copy_to_central.apply(args=[version.pk]).get()
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.DEV_APPROVED, central_arn="")
    ModelVersion.objects.filter(promoted_from=version).delete()
    second = tasks.copy_to_central.apply(args=[version.pk]).get()   # the redelivered message
    third = tasks.copy_to_central.apply(args=[version.pk]).get()    # a late duplicate: nothing to do
    assert first == second and third is None
    creates = [e for e in engine.ledger[before:] if e["operation"] == "CreateModelPackage"]
    assert [e["effect"] for e in creates] == [True, False]
    packages = aws_client_list(group)
    assert len(packages) == 1 and packages[0]["ModelPackageArn"] == first
    version.refresh_from_db()
    assert version.stage == Stage.IN_CENTRAL and version.central_copy.arn == first


def aws_client_list(group):
    from portal.aws import client
    return client("sagemaker", CENTRAL).list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]


def _event_for(arn, account):
    detail = aws.describe_version_raw(account, arn)
    detail = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in detail.items()}
    return {"version": "0", "id": f"ev-{arn[-12:]}-{detail.get('ModelApprovalStatus')}",
            "detail-type": "SageMaker Model Package State Change", "source": "aws.sagemaker", "account": account,
            "region": "us-east-1", "resources": [arn], "detail": detail}


def test_lost_event_is_caught_by_poll_and_late_event_changes_nothing(gov_world, aws_endpoint, eager,
                                                                     django_capture_on_commit_callbacks, monkeypatch):
    from portal.aws import client
    w = gov_world
    monkeypatch.setattr(services, "_dispatch", lambda *args: None)
    group = new_group_name()
    arn = register_version(group, as_user="ds")
    version = observe(w, arn)
    # The lead approves in SageMaker Studio; the event is lost.
    client("sagemaker", DEV, session_name="lead").update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="approved in Studio")
    services.registry_sync_account(account=w.account)     # incremental: the status changed
    version.refresh_from_db()
    assert version.stage == Stage.DEV_APPROVED
    decision = version.decisions.get()
    assert decision.actor is None and decision.comment == "approved in Studio"
    # The event arrives late (twice): one transition in all.
    event = _event_for(arn, DEV)
    assert services.registry_event_apply(event=event) == "applied"
    assert services.registry_event_apply(event=event) == "duplicate"
    event["id"] = "another-id-same-change"
    assert services.registry_event_apply(event=event) == "applied"
    assert ApprovalDecision.objects.filter(version=version).count() == 1
    assert AuditEvent.objects.filter(action="model_version.stage1_approve", target_id=str(version.pk)).count() == 1


def test_event_endpoint_applies_at_once_with_the_secret(gov_world, aws_endpoint, client, settings, monkeypatch):
    from portal.aws import client as aws_client
    monkeypatch.setattr(services, "_dispatch", lambda *args: None)
    settings.GOVERNANCE_EVENT_SECRET = "s3cret"
    arn = register_version(new_group_name(), as_user="ds")
    url = "/api/v1/events/sagemaker/"
    event = _event_for(arn, DEV)
    assert client.post(url, event, content_type="application/json").status_code == 403
    assert client.post(url, event, content_type="application/json",
                       HTTP_X_PORTAL_EVENT_SECRET="wrong").status_code == 403
    response = client.post(url, event, content_type="application/json", HTTP_X_PORTAL_EVENT_SECRET="s3cret")
    assert response.status_code == 200 and response.json() == {"status": "applied"}
    version = ModelVersion.objects.get(arn=arn)
    assert version.stage == Stage.REGISTERED and version.metrics["auc"] == "0.91"
    aws_client("sagemaker", DEV, session_name="lead").update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Rejected", ApprovalDescription="too slow")
    response = client.post(url, _event_for(arn, DEV), content_type="application/json",
                           HTTP_X_PORTAL_EVENT_SECRET="s3cret")
    assert response.json() == {"status": "applied"}
    version.refresh_from_db()
    assert version.stage == Stage.DEV_REJECTED and version.decisions.get().outcome == "reject"
    assert client.post(url, "not json", content_type="application/json",
                       HTTP_X_PORTAL_EVENT_SECRET="s3cret").status_code == 400
    other = {**event, "detail-type": "SageMaker Model Card State Change"}
    assert client.post(url, other, content_type="application/json",
                       HTTP_X_PORTAL_EVENT_SECRET="s3cret").json() == {"status": "ignored"}


def test_the_sandbox_webhook_delivers_to_the_portal(gov_world, aws_endpoint, live_server, settings, monkeypatch):
    """The sandbox's own EventBridge webhook (header X-Portal-Event-Secret) reaches the endpoint."""
    import time
    monkeypatch.setattr(services, "_dispatch", lambda *args: None)
    settings.GOVERNANCE_EVENT_SECRET = "hook-secret"
    engine = aws_endpoint.engine
    engine.config.update({"event_webhook_url": f"{live_server.url}/api/v1/events/sagemaker/",
                          "event_webhook_secret": "hook-secret"})
    try:
        arn = register_version(new_group_name(), as_user="ds")
        for _ in range(100):
            if ModelVersion.objects.filter(arn=arn).exists():
                break
            time.sleep(0.05)
    finally:
        engine.config.update({"event_webhook_url": "", "event_webhook_secret": ""})
    version = ModelVersion.objects.get(arn=arn)
    assert version.stage == Stage.REGISTERED and version.group.team == gov_world.team


def test_deploy_without_test_account_fails_with_a_sentence(world, aws_endpoint, eager,
                                                           django_capture_on_commit_callbacks):
    from portal import services as portal_services
    portal_services.account_link(actor=SYSTEM, account_id=CENTRAL, name="shared-services", environment="shared",
                                 team=None)
    version = observe(world, register_version(new_group_name(), as_user="ds"))
    with django_capture_on_commit_callbacks(execute=True):
        services.model_version_approve(actor=world["lead"], version=version)
    version.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.model_version_approve(actor=world["approver"], version=version)
    version.refresh_from_db()
    assert version.stage == Stage.CENTRAL_APPROVED
    assert "no prod or test account" in version.last_error or "no test or prod account" in version.last_error
    assert version.deployments.get().status == "failed"
    assert ModelGroup.objects.filter(is_central=True, name=version.group.name).exists()


def test_reconciler_resends_lost_messages(gov_world, aws_endpoint, eager, django_capture_on_commit_callbacks,
                                          monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from governance import tasks
    version = observe(gov_world, register_version(new_group_name(), as_user="ds"))
    with monkeypatch.context() as patch:
        patch.setattr(services, "_dispatch", lambda *args: None)   # the broker lost both messages
        services.model_version_approve(actor=gov_world["lead"], version=version)
    assert tasks.reconcile() == {"mirror": 0, "copy": 0, "deploy": 0}   # not stale yet
    earlier = timezone.now() - timedelta(minutes=10)
    ApprovalDecision.objects.filter(version=version).update(decided_at=earlier)
    ModelVersion.objects.filter(pk=version.pk).update(stage_changed_at=earlier)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.reconcile() == {"mirror": 1, "copy": 1, "deploy": 0}
    version.refresh_from_db()
    assert version.stage == Stage.IN_CENTRAL and version.decisions.get().mirrored_at is not None
    assert aws.describe_version_raw(DEV, version.arn)["ModelApprovalStatus"] == "Approved"


def test_failed_deploy_record_returns_the_version_with_the_reason_and_can_be_retried(
        gov_world, aws_endpoint, eager, django_capture_on_commit_callbacks):
    w = gov_world
    version = observe(w, register_version(new_group_name(), as_user="ds"))
    with django_capture_on_commit_callbacks(execute=True):
        services.model_version_approve(actor=w["lead"], version=version)
    version.refresh_from_db()
    aws_endpoint.engine.faults.add({"kind": "record_failure", "service": "servicecatalog",
                                    "subject": "MLOps Project: Multi-account Model Deploy",
                                    "message": "Endpoint quota exceeded for ml.m5.large"})
    with django_capture_on_commit_callbacks(execute=True):
        services.model_version_approve(actor=w["approver"], version=version)
    version.refresh_from_db()
    assert version.stage == Stage.CENTRAL_APPROVED and "failed" in version.last_error
    failed = version.deployments.get()
    assert failed.status == "failed" and failed.error
    with django_capture_on_commit_callbacks(execute=True):
        services.model_version_deploy(actor=w["mle"], version=version)   # "Deploy to test" again
    version.refresh_from_db()
    assert version.stage == Stage.IN_TEST and version.last_error == ""
    assert version.deployments.filter(status="succeeded", environment="test").count() == 1
