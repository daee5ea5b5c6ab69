"""SageMaker Model Registry in the sandbox: groups, versions, approval semantics, events, the
Service Catalog hook, cross-account access to the central registry, paging, tags and the seed."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from sandbox.core import org_layout
from sandbox.core.errors import AwsError
from sandbox.core.registry import OPERATIONS, Operation
from tests.sandbox.helpers import service_caller

FRAUD_DEV = org_layout.team_account("fraud-detection", "dev")
CREDIT_DEV = org_layout.team_account("credit-risk", "dev")
FRAUD_TEST = org_layout.team_account("fraud-detection", "test")
CENTRAL = org_layout.SHARED_SERVICES_ACCOUNT_ID
DATA_LAKE = "222222222204"
CONTAINERS = {"Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                              "ModelDataUrl": "s3://bucket/model.tar.gz"}]}


call, error_of = service_caller("sagemaker", FRAUD_DEV)


@pytest.fixture
def events(engine):
    captured = []
    engine.on_events = captured.extend
    return captured


def new_group(engine, name="demo-model", account=FRAUD_DEV, **params):
    return call(engine, "CreateModelPackageGroup", account, ModelPackageGroupName=name,
                Tags=[{"Key": "team", "Value": "fraud-detection"}], **params)["ModelPackageGroupArn"]


def new_version(engine, group="demo-model", account=FRAUD_DEV, **params):
    return call(engine, "CreateModelPackage", account, ModelPackageGroupName=group,
                InferenceSpecification=CONTAINERS, **params)["ModelPackageArn"]


# -- seed ------------------------------------------------------------------------------------
@pytest.mark.parametrize("team,groups", [("fraud-detection", {"fraud-xgboost", "fraud-graph-nn"}),
                                         ("credit-risk", {"credit-scoring", "pd-model"}),
                                         ("marketing-ml", {"churn-propensity", "next-best-offer"})])
def test_seeded_dev_registries_have_reviewed_versions_and_a_pending_newest(engine, team, groups):
    account = org_layout.team_account(team, "dev")
    listed = call(engine, "ListModelPackageGroups", account)["ModelPackageGroupSummaryList"]
    assert {g["ModelPackageGroupName"] for g in listed} == groups
    for group in groups:
        versions = call(engine, "ListModelPackages", account, ModelPackageGroupName=group)["ModelPackageSummaryList"]
        assert 2 <= len(versions) <= 4
        assert [v["ModelPackageVersion"] for v in versions] == list(range(1, len(versions) + 1))
        assert versions[-1]["ModelApprovalStatus"] == "PendingManualApproval"
        assert {v["ModelApprovalStatus"] for v in versions[:-1]} <= {"Approved", "Rejected"}
        assert all(v["CreationTime"] < datetime.now(timezone.utc) for v in versions)
        newest = call(engine, "DescribeModelPackage", account, ModelPackageName=versions[-1]["ModelPackageArn"])
        assert newest["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"].startswith("s3://")
        assert newest["CustomerMetadataProperties"]["dataset"].startswith("s3://")
        assert newest["MetadataProperties"]["GeneratedBy"].startswith(f"arn:aws:sagemaker:us-east-1:{account}:pipeline/")
        assert "DataScientist" in newest["CreatedBy"]["IamIdentity"]["Arn"]
        tags = call(engine, "ListTags", account, ResourceArn=newest["ModelPackageArn"].rsplit("/", 1)[0]
                    .replace(":model-package/", ":model-package-group/"))["Tags"]
        assert {"Key": "team", "Value": team} in tags and {"Key": "environment", "Value": "dev"} in tags


def test_seeded_metrics_are_readable_from_customer_metadata(engine):
    newest = call(engine, "DescribeModelPackage", ModelPackageName="fraud-xgboost/4")
    assert newest["CustomerMetadataProperties"]["auc"] == "0.912"
    assert newest["CustomerMetadataProperties"]["f1"] == "0.81"
    reviewed = call(engine, "DescribeModelPackage", ModelPackageName="fraud-xgboost/1")
    assert reviewed["ModelApprovalStatus"] == "Rejected" and reviewed["ApprovalDescription"]
    assert "TeamLead" in reviewed["LastModifiedBy"]["IamIdentity"]["Arn"]
    assert reviewed["LastModifiedTime"] > reviewed["CreationTime"]


def test_seed_is_deterministic():
    from sandbox.core.engine import Config, Sandbox
    first, second = Sandbox(Config()), Sandbox(Config())
    assert first.state["sagemaker"]["packages"] == second.state["sagemaker"]["packages"]


def test_central_registry_has_a_group_per_team_model_and_two_promoted_versions(engine):
    groups = call(engine, "ListModelPackageGroups", CENTRAL, MaxResults=100)["ModelPackageGroupSummaryList"]
    assert len(groups) == 6
    promoted = {}
    for group in groups:
        for version in call(engine, "ListModelPackages", CENTRAL,
                            ModelPackageGroupName=group["ModelPackageGroupName"])["ModelPackageSummaryList"]:
            promoted[group["ModelPackageGroupName"]] = call(engine, "DescribeModelPackage", CENTRAL,
                                                            ModelPackageName=version["ModelPackageArn"])
    assert set(promoted) == {"fraud-xgboost", "credit-scoring"}
    assert promoted["fraud-xgboost"]["ModelApprovalStatus"] == "Approved"
    assert promoted["credit-scoring"]["ModelApprovalStatus"] == "PendingManualApproval"
    source = promoted["fraud-xgboost"]["SourceUri"]
    assert source == f"arn:aws:sagemaker:us-east-1:{FRAUD_DEV}:model-package/fraud-xgboost/3"
    assert call(engine, "DescribeModelPackage", ModelPackageName=source)["ModelApprovalStatus"] == "Approved"


def test_central_registry_policy_lets_team_accounts_in_and_keeps_others_out(engine):
    group_arn = f"arn:aws:sagemaker:us-east-1:{CENTRAL}:model-package-group/fraud-xgboost"
    policy = json.loads(call(engine, "GetModelPackageGroupPolicy", CENTRAL,
                             ModelPackageGroupName="fraud-xgboost")["ResourcePolicy"])
    assert f"arn:aws:iam::{CREDIT_DEV}:root" in policy["Statement"][0]["Principal"]["AWS"]
    assert call(engine, "DescribeModelPackageGroup", FRAUD_DEV, ModelPackageGroupName=group_arn)[
        "ModelPackageGroupArn"] == group_arn
    versions = call(engine, "ListModelPackages", FRAUD_TEST, ModelPackageGroupName=group_arn)["ModelPackageSummaryList"]
    assert len(versions) == 1
    denied = error_of(engine, "DescribeModelPackage", DATA_LAKE, ModelPackageName=versions[0]["ModelPackageArn"])
    assert denied.code == "AccessDeniedException"
    assert error_of(engine, "CreateModelPackage", FRAUD_TEST, ModelPackageGroupName=group_arn,
                    InferenceSpecification=CONTAINERS).code == "AccessDeniedException"
    shared = call(engine, "ListModelPackageGroups", FRAUD_DEV, CrossAccountFilterOption="CrossAccount",
                  MaxResults=100)["ModelPackageGroupSummaryList"]
    assert {g["ModelPackageGroupArn"].split(":")[4] for g in shared} == {CENTRAL}
    assert call(engine, "ListModelPackageGroups", DATA_LAKE, CrossAccountFilterOption="CrossAccount")[
        "ModelPackageGroupSummaryList"] == []


# -- groups ----------------------------------------------------------------------------------
def test_group_lifecycle_and_errors(engine):
    arn = new_group(engine, ModelPackageGroupDescription="demo")
    assert arn == f"arn:aws:sagemaker:us-east-1:{FRAUD_DEV}:model-package-group/demo-model"
    described = call(engine, "DescribeModelPackageGroup", ModelPackageGroupName="demo-model")
    assert described["ModelPackageGroupStatus"] == "Completed"
    assert described["ModelPackageGroupDescription"] == "demo"
    assert described["CreatedBy"]["IamIdentity"]["Arn"] == f"arn:aws:iam::{FRAUD_DEV}:root"
    assert call(engine, "DescribeModelPackageGroup", ModelPackageGroupName=arn)["ModelPackageGroupName"] == "demo-model"
    assert error_of(engine, "CreateModelPackageGroup", ModelPackageGroupName="demo-model").code == "ValidationException"
    missing = error_of(engine, "DescribeModelPackageGroup", ModelPackageGroupName="nope")
    assert missing.code == "ValidationException" and "does not exist" in missing.message

    new_version(engine)
    assert error_of(engine, "DeleteModelPackageGroup", ModelPackageGroupName="demo-model").code == "ConflictException"
    call(engine, "DeleteModelPackage", ModelPackageName="demo-model/1")
    call(engine, "DeleteModelPackageGroup", ModelPackageGroupName="demo-model")
    assert error_of(engine, "DescribeModelPackageGroup", ModelPackageGroupName="demo-model").code == "ValidationException"


def test_inputs_are_validated_server_side_with_aws_messages(engine):
    bad_name = error_of(engine, "CreateModelPackageGroup", ModelPackageGroupName="bad_name")
    assert bad_name.code == "ValidationException"
    assert bad_name.message.startswith("1 validation error detected: Value 'bad_name' at 'modelPackageGroupName'")
    too_long = error_of(engine, "CreateModelPackageGroup", ModelPackageGroupName="ok",
                        ModelPackageGroupDescription="x" * 1025)
    assert "less than or equal to 1024" in too_long.message
    assert error_of(engine, "ListModelPackages", ModelApprovalStatus="Maybe").code == "ValidationException"
    assert error_of(engine, "ListModelPackageGroups", MaxResults=101).code == "ValidationException"


def test_list_groups_filters_sorts_and_pages(engine):
    for name in ("alpha-model", "beta-model", "gamma-model"):
        new_group(engine, name)
    names = [g["ModelPackageGroupName"] for g in call(engine, "ListModelPackageGroups", NameContains="MODEL",
                                                      SortBy="Name", SortOrder="Descending")["ModelPackageGroupSummaryList"]]
    assert names == ["gamma-model", "beta-model", "alpha-model"]
    first = call(engine, "ListModelPackageGroups", NameContains="model", SortBy="Name", MaxResults=2)
    second = call(engine, "ListModelPackageGroups", NameContains="model", SortBy="Name", MaxResults=2,
                  NextToken=first["NextToken"])
    assert [g["ModelPackageGroupName"] for g in first["ModelPackageGroupSummaryList"] + second[
        "ModelPackageGroupSummaryList"]] == ["alpha-model", "beta-model", "gamma-model"]
    assert "NextToken" not in second
    recent = call(engine, "ListModelPackageGroups",
                  CreationTimeAfter=datetime.now(timezone.utc) - timedelta(minutes=5))["ModelPackageGroupSummaryList"]
    assert {g["ModelPackageGroupName"] for g in recent} == {"alpha-model", "beta-model", "gamma-model"}
    assert error_of(engine, "ListModelPackageGroups", NextToken="garbage").code == "ValidationException"


# -- packages --------------------------------------------------------------------------------
def test_versions_count_up_default_to_pending_and_use_the_group_tags(engine):
    new_group(engine)
    arns = [new_version(engine) for _ in range(3)]
    assert [arn.rsplit("/", 1)[1] for arn in arns] == ["1", "2", "3"]
    described = call(engine, "DescribeModelPackage", ModelPackageName="demo-model/2")
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert "ModelPackageName" not in described      # as AWS answers versioned packages
    assert described["ModelPackageGroupName"] == "demo-model" and described["ModelPackageVersion"] == 2
    assert described["ModelPackageStatus"] == "Completed"
    assert call(engine, "ListTags", ResourceArn=arns[0])["Tags"] == [{"Key": "team", "Value": "fraud-detection"}]
    tagged = error_of(engine, "CreateModelPackage", ModelPackageGroupName="demo-model",
                      Tags=[{"Key": "a", "Value": "b"}])
    assert tagged.code == "ValidationException" and "Tags" in tagged.message
    call(engine, "DeleteModelPackage", ModelPackageName=arns[2])
    assert new_version(engine).endswith("/demo-model/4")      # version numbers are not reused


def test_client_token_returns_the_first_result(engine):
    new_group(engine)
    first = new_version(engine, ClientToken="portal-request-42")
    again = new_version(engine, ClientToken="portal-request-42")
    assert first == again
    assert len(call(engine, "ListModelPackages", ModelPackageGroupName="demo-model")["ModelPackageSummaryList"]) == 1
    creations = [entry for entry in engine.ledger if entry["operation"] == "CreateModelPackage"]
    assert [entry["effect"] for entry in creations] == [True, False]
    assert creations[0]["key"] == "portal-request-42"


def test_package_naming_rules(engine):
    new_group(engine)
    assert error_of(engine, "CreateModelPackage", ModelPackageGroupName="demo-model",
                    ModelPackageName="x").message.startswith("Both ModelPackageName and ModelPackageGroupName")
    assert error_of(engine, "CreateModelPackage").message == "Missing ARN."
    assert error_of(engine, "CreateModelPackage", ModelPackageGroupName="unknown-group").code == "ValidationException"
    unversioned = call(engine, "CreateModelPackage", ModelPackageName="standalone",
                       InferenceSpecification=CONTAINERS)["ModelPackageArn"]
    assert unversioned.endswith(":model-package/standalone")
    described = call(engine, "DescribeModelPackage", ModelPackageName="standalone")
    assert "ModelApprovalStatus" not in described and "ModelPackageVersion" not in described
    assert error_of(engine, "CreateModelPackage", ModelPackageName="other",
                    ModelApprovalStatus="Approved").code == "ValidationException"
    missing = error_of(engine, "DescribeModelPackage", ModelPackageName="demo-model/9")
    assert missing.code == "ValidationException" and "does not exist" in missing.message
    containers = error_of(engine, "CreateModelPackage", ModelPackageGroupName="demo-model",
                          InferenceSpecification={"Containers": [{"Image": "i"}] * 16})
    assert "less than or equal to 15" in containers.message


def test_list_packages_filters_sorts_and_pages(engine):
    new_group(engine)
    new_version(engine, ModelApprovalStatus="Approved")
    new_version(engine, ModelApprovalStatus="Rejected")
    new_version(engine)
    call(engine, "CreateModelPackage", ModelPackageName="demo-standalone", InferenceSpecification=CONTAINERS)

    def versions(**params):
        listed = call(engine, "ListModelPackages", **params)
        return [p.get("ModelPackageVersion") for p in listed["ModelPackageSummaryList"]], listed.get("NextToken")

    assert versions(ModelPackageGroupName="demo-model")[0] == [1, 2, 3]
    assert versions(ModelPackageGroupName="demo-model", ModelApprovalStatus="Approved")[0] == [1]
    assert versions(ModelPackageGroupName="demo-model", SortOrder="Descending")[0] == [3, 2, 1]
    page, token = versions(ModelPackageGroupName="demo-model", MaxResults=2)
    assert page == [1, 2] and token
    assert versions(ModelPackageGroupName="demo-model", MaxResults=2, NextToken=token) == ([3], None)
    assert versions()[0] == [None]                           # without a group: unversioned by default
    assert versions(NameContains="demo", ModelPackageType="Both")[0] == [1, 2, 3, None]
    later = datetime.now(timezone.utc) + timedelta(minutes=1)
    assert versions(ModelPackageGroupName="demo-model", CreationTimeAfter=later)[0] == []


def test_update_keeps_what_it_is_not_told_to_change(engine):
    new_group(engine)
    arn = new_version(engine, CustomerMetadataProperties={"auc": "0.9", "f1": "0.8", "dataset": "s3://d/"})
    before = call(engine, "DescribeModelPackage", ModelPackageName=arn)
    call(engine, "UpdateModelPackage", ModelPackageArn=arn, ModelApprovalStatus="Approved",
         ApprovalDescription="looks good")
    call(engine, "UpdateModelPackage", ModelPackageArn=arn, CustomerMetadataProperties={"auc": "0.91", "owner": "ml"},
         CustomerMetadataPropertiesToRemove=["f1"])
    after = call(engine, "DescribeModelPackage", ModelPackageName=arn)
    assert after["CustomerMetadataProperties"] == {"auc": "0.91", "dataset": "s3://d/", "owner": "ml"}
    assert after["ApprovalDescription"] == "looks good"
    assert after["ModelApprovalStatus"] == "Approved"
    assert after["InferenceSpecification"] == before["InferenceSpecification"]
    assert after["LastModifiedTime"] > before["LastModifiedTime"]
    assert after["LastModifiedBy"]["IamIdentity"]["Arn"] == f"arn:aws:iam::{FRAUD_DEV}:root"
    assert error_of(engine, "UpdateModelPackage", ModelPackageArn=arn,
                    ApprovalDescription="x" * 1025).code == "ValidationException"
    assert error_of(engine, "UpdateModelPackage", ModelPackageArn=arn, CustomerMetadataProperties={"a": "1"},
                    CustomerMetadataPropertiesToRemove=["a"]).code == "ValidationException"
    assert error_of(engine, "UpdateModelPackage",
                    ModelPackageArn=arn.replace("/1", "/7")).code == "ValidationException"


def test_update_adds_inference_specifications_up_to_fifteen(engine):
    new_group(engine)
    arn = new_version(engine)
    spec = {"Name": "gpu", **CONTAINERS}
    call(engine, "UpdateModelPackage", ModelPackageArn=arn, AdditionalInferenceSpecificationsToAdd=[spec])
    assert [s["Name"] for s in call(engine, "DescribeModelPackage", ModelPackageName=arn)[
        "AdditionalInferenceSpecifications"]] == ["gpu"]
    assert error_of(engine, "UpdateModelPackage", ModelPackageArn=arn,
                    AdditionalInferenceSpecificationsToAdd=[spec]).code == "ValidationException"
    many = [{"Name": f"spec-{n}", **CONTAINERS} for n in range(15)]
    assert error_of(engine, "UpdateModelPackage", ModelPackageArn=arn,
                    AdditionalInferenceSpecificationsToAdd=many).code == "ValidationException"


def test_update_client_token_changes_nothing_the_second_time(engine, events):
    new_group(engine)
    arn = new_version(engine)
    events.clear()
    call(engine, "UpdateModelPackage", ModelPackageArn=arn, ModelApprovalStatus="Approved", ClientToken="t-1")
    call(engine, "UpdateModelPackage", ModelPackageArn=arn, ModelApprovalStatus="Rejected", ClientToken="t-1")
    assert call(engine, "DescribeModelPackage", ModelPackageName=arn)["ModelApprovalStatus"] == "Approved"
    assert len(events) == 1


def test_model_card_content_is_left_out_with_metadata_only(engine):
    new_group(engine)
    arn = new_version(engine, ModelCard={"ModelCardContent": "{}", "ModelCardStatus": "Draft"})
    assert call(engine, "DescribeModelPackage", ModelPackageName=arn)["ModelCard"]["ModelCardContent"] == "{}"
    assert call(engine, "DescribeModelPackage", ModelPackageName=arn, IncludedData="MetadataOnly")[
        "ModelCard"] == {"ModelCardStatus": "Draft"}


# -- events and the Service Catalog hook -----------------------------------------------------
def test_approval_changes_emit_eventbridge_events(engine, events):
    new_group(engine)
    arn = new_version(engine, MetadataProperties={"GeneratedBy": "arn:aws:sagemaker:us-east-1:1:pipeline/p/execution/e"})
    assert len(events) == 1 and events[0]["detail"]["ModelApprovalStatus"] == "PendingManualApproval"
    call(engine, "UpdateModelPackage", ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="ok")
    call(engine, "UpdateModelPackage", ModelPackageArn=arn, ApprovalDescription="still ok")   # no status change
    assert len(events) == 2
    event = events[1]
    assert event["source"] == "aws.sagemaker"
    assert event["detail-type"] == "SageMaker Model Package State Change"
    assert event["account"] == FRAUD_DEV and event["region"] == "us-east-1"
    assert event["resources"] == [arn]
    detail = event["detail"]
    assert detail["ModelPackageGroupName"] == "demo-model" and detail["ModelPackageVersion"] == 1
    assert detail["ModelPackageArn"] == arn
    assert detail["ModelApprovalStatus"] == "Approved" and detail["ApprovalDescription"] == "ok"
    assert detail["ModelPackageStatus"] == "Completed" and detail["CertifyForMarketplace"] is False
    assert detail["ModelPackageStatusDetails"] == {"ValidationStatuses": [], "ImageScanStatuses": []}
    assert detail["MetadataProperties"]["GeneratedBy"].endswith("/execution/e")
    assert detail["InferenceSpecification"] == CONTAINERS
    for field in ("CreationTime", "LastModifiedTime"):
        datetime.strptime(detail[field], "%Y-%m-%dT%H:%M:%SZ")
    assert "ModelPackageName" not in detail


def test_cross_account_registration_lands_and_is_announced_in_the_owner_account(engine, events):
    group_arn = f"arn:aws:sagemaker:us-east-1:{CENTRAL}:model-package-group/credit-scoring"
    arn = call(engine, "CreateModelPackage", CREDIT_DEV, ModelPackageGroupName=group_arn,
               InferenceSpecification=CONTAINERS)["ModelPackageArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:{CENTRAL}:model-package/credit-scoring/2"
    assert events[-1]["account"] == CENTRAL
    described = call(engine, "DescribeModelPackage", CENTRAL, ModelPackageName="credit-scoring/2")
    assert described["CreatedBy"]["IamIdentity"]["Arn"] == f"arn:aws:iam::{CREDIT_DEV}:root"   # the registering caller
    assert {"Key": "team", "Value": "credit-risk"} in call(engine, "ListTags", CENTRAL, ResourceArn=arn)["Tags"]


@pytest.fixture
def service_catalog_calls(monkeypatch):
    """Stand in for Service Catalog's deploy-on-approval hook and record what it is told."""
    received = []

    def hook(ctx, params):
        received.append((ctx.account_id, params))
        return {}

    monkeypatch.setitem(OPERATIONS, ("servicecatalog", "_ModelPackageApproved"),
                        Operation("servicecatalog", "_ModelPackageApproved", hook, True, None))
    return received


def test_approval_tells_service_catalog(engine, service_catalog_calls):
    new_group(engine)
    pending = new_version(engine)
    approved_at_birth = new_version(engine, ModelApprovalStatus="Approved")
    assert service_catalog_calls == [(FRAUD_DEV, {"ModelPackageArn": approved_at_birth,
                                                  "ModelPackageGroupName": "demo-model", "AccountId": FRAUD_DEV})]
    call(engine, "UpdateModelPackage", ModelPackageArn=pending, ModelApprovalStatus="Rejected")
    call(engine, "UpdateModelPackage", ModelPackageArn=pending, ModelApprovalStatus="Approved")
    assert [params["ModelPackageArn"] for _, params in service_catalog_calls] == [approved_at_birth, pending]


def test_a_failing_deployment_hook_does_not_undo_the_approval(engine, monkeypatch):
    def failing(ctx, params):
        raise AwsError("InvalidParametersException", "no deploy product")

    monkeypatch.setitem(OPERATIONS, ("servicecatalog", "_ModelPackageApproved"),
                        Operation("servicecatalog", "_ModelPackageApproved", failing, True, None))
    new_group(engine)
    arn = new_version(engine)
    call(engine, "UpdateModelPackage", ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert call(engine, "DescribeModelPackage", ModelPackageName=arn)["ModelApprovalStatus"] == "Approved"
    assert engine.ledger[-1]["deployment_trigger_error"] == "InvalidParametersException"


# -- policies and tags -----------------------------------------------------------------------
def test_group_policy_put_get_delete(engine):
    new_group(engine)
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{CREDIT_DEV}:root"},
        "Action": "sagemaker:Describe*", "Resource": "*"}]})
    assert error_of(engine, "GetModelPackageGroupPolicy", ModelPackageGroupName="demo-model").code == "ValidationException"
    assert error_of(engine, "DescribeModelPackageGroup", CREDIT_DEV,
                    ModelPackageGroupName=f"arn:aws:sagemaker:us-east-1:{FRAUD_DEV}:model-package-group/demo-model"
                    ).code == "AccessDeniedException"
    call(engine, "PutModelPackageGroupPolicy", ModelPackageGroupName="demo-model", ResourcePolicy=policy)
    assert call(engine, "GetModelPackageGroupPolicy", ModelPackageGroupName="demo-model")["ResourcePolicy"] == policy
    group_arn = f"arn:aws:sagemaker:us-east-1:{FRAUD_DEV}:model-package-group/demo-model"
    assert call(engine, "DescribeModelPackageGroup", CREDIT_DEV, ModelPackageGroupName=group_arn)
    assert error_of(engine, "PutModelPackageGroupPolicy", ModelPackageGroupName="demo-model",
                    ResourcePolicy="{not json").code == "ValidationException"
    call(engine, "DeleteModelPackageGroupPolicy", ModelPackageGroupName="demo-model")
    assert error_of(engine, "DescribeModelPackageGroup", CREDIT_DEV,
                    ModelPackageGroupName=group_arn).code == "AccessDeniedException"


def test_tags_add_list_delete(engine):
    arn = new_group(engine)
    call(engine, "AddTags", ResourceArn=arn, Tags=[{"Key": "team", "Value": "credit-risk"}, {"Key": "owner", "Value": ""}])
    assert call(engine, "ListTags", ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "credit-risk"},
                                                                  {"Key": "owner", "Value": ""}]
    call(engine, "DeleteTags", ResourceArn=arn, TagKeys=["owner", "absent"])
    assert call(engine, "ListTags", ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "credit-risk"}]
    assert error_of(engine, "AddTags", ResourceArn=arn, Tags=[{"Key": "aws:x", "Value": "1"}]).code == "ValidationException"
    too_many = [{"Key": f"k{n}", "Value": "v"} for n in range(50)]
    assert error_of(engine, "AddTags", ResourceArn=arn, Tags=too_many).code == "ValidationException"
    assert error_of(engine, "ListTags", ResourceArn=arn.replace("demo-model", "nope")).code == "ValidationException"
    assert error_of(engine, "ListTags", CREDIT_DEV, ResourceArn=arn).code == "ValidationException"
