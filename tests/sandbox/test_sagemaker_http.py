"""The sandbox's SageMaker operations through boto3 and the AWS CLI, over HTTP, with every
response checked strictly against botocore's output shapes (the ``aws`` fixture).

The server is shared by the whole session, so each test uses names of its own."""
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from sandbox.core import org_layout

FRAUD_DEV = org_layout.team_account("fraud-detection", "dev")
FRAUD_TEST = org_layout.team_account("fraud-detection", "test")
CENTRAL = org_layout.SHARED_SERVICES_ACCOUNT_ID
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
INFERENCE = {"Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://bucket/model.tar.gz"}],
             "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]}
PORTAL_SESSION = "assumed-role/PortalExecutionRole/sandbox-tests"


def error_code(call, **params) -> str:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]["Code"]


def test_model_registry_over_boto3(aws):
    sm = aws("sagemaker", account_id=FRAUD_DEV)
    group_arn = sm.create_model_package_group(ModelPackageGroupName="http-registry", ModelPackageGroupDescription="d",
                                              Tags=[{"Key": "team", "Value": "fraud-detection"}])["ModelPackageGroupArn"]
    group = sm.describe_model_package_group(ModelPackageGroupName="http-registry")
    assert group["ModelPackageGroupArn"] == group_arn and group["ModelPackageGroupStatus"] == "Completed"
    assert PORTAL_SESSION in group["CreatedBy"]["IamIdentity"]["Arn"]
    first = sm.create_model_package(ModelPackageGroupName="http-registry", InferenceSpecification=INFERENCE,
                                    CustomerMetadataProperties={"auc": "0.9"})["ModelPackageArn"]
    second = sm.create_model_package(ModelPackageGroupName=group_arn, InferenceSpecification=INFERENCE)["ModelPackageArn"]
    assert first.endswith("/http-registry/1") and second.endswith("/http-registry/2")
    sm.update_model_package(ModelPackageArn=first, ModelApprovalStatus="Approved", ApprovalDescription="ok")
    sm.update_model_package(ModelPackageArn=first, CustomerMetadataProperties={"f1": "0.8"})
    described = sm.describe_model_package(ModelPackageName="http-registry/1")
    assert described["ModelApprovalStatus"] == "Approved" and described["ApprovalDescription"] == "ok"
    assert described["CustomerMetadataProperties"] == {"auc": "0.9", "f1": "0.8"}
    assert PORTAL_SESSION in described["LastModifiedBy"]["IamIdentity"]["Arn"]

    paginator = sm.get_paginator("list_model_packages")
    pages = list(paginator.paginate(ModelPackageGroupName="http-registry", PaginationConfig={"PageSize": 1}))
    assert [p["ModelPackageSummaryList"][0]["ModelPackageVersion"] for p in pages] == [1, 2]
    recent = sm.list_model_packages(ModelPackageGroupName="http-registry", ModelApprovalStatus="Approved",
                                    CreationTimeAfter=datetime.now(timezone.utc) - timedelta(hours=1))
    assert [p["ModelPackageArn"] for p in recent["ModelPackageSummaryList"]] == [first]
    groups = sm.get_paginator("list_model_package_groups").paginate(NameContains="http-registry").build_full_result()
    assert [g["ModelPackageGroupName"] for g in groups["ModelPackageGroupSummaryList"]] == ["http-registry"]

    sm.put_model_package_group_policy(ModelPackageGroupName="http-registry", ResourcePolicy=(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "%s"},'
        ' "Action": "sagemaker:DescribeModelPackage", "Resource": "*"}]}' % FRAUD_TEST))
    assert FRAUD_TEST in sm.get_model_package_group_policy(ModelPackageGroupName="http-registry")["ResourcePolicy"]
    assert aws("sagemaker", account_id=FRAUD_TEST).describe_model_package(ModelPackageName=first)["ModelPackageArn"] == first
    sm.delete_model_package_group_policy(ModelPackageGroupName="http-registry")

    assert error_code(sm.describe_model_package, ModelPackageName="http-registry/9") == "ValidationException"
    assert error_code(sm.delete_model_package_group, ModelPackageGroupName="http-registry") == "ConflictException"
    sm.delete_model_package(ModelPackageName=first)
    sm.delete_model_package(ModelPackageName=second)
    sm.delete_model_package_group(ModelPackageGroupName="http-registry")
    assert error_code(sm.describe_model_package_group, ModelPackageGroupName="http-registry") == "ValidationException"


def test_seeded_registries_and_the_central_registry_over_boto3(aws):
    dev = aws("sagemaker", account_id=FRAUD_DEV)
    versions = dev.list_model_packages(ModelPackageGroupName="fraud-xgboost")["ModelPackageSummaryList"]
    assert [v["ModelPackageVersion"] for v in versions][:4] == [1, 2, 3, 4]
    central_group = f"arn:aws:sagemaker:us-east-1:{CENTRAL}:model-package-group/fraud-xgboost"
    shared = dev.list_model_package_groups(CrossAccountFilterOption="CrossAccount", MaxResults=100)
    assert central_group in {g["ModelPackageGroupArn"] for g in shared["ModelPackageGroupSummaryList"]}
    assert dev.describe_model_package_group(ModelPackageGroupName=central_group)["ModelPackageGroupName"] == "fraud-xgboost"
    outsider = aws("sagemaker", account_id="222222222204")
    assert error_code(outsider.list_model_packages, ModelPackageGroupName=central_group) == "AccessDeniedException"


def test_studio_over_boto3(aws):
    sm = aws("sagemaker", account_id=FRAUD_DEV)
    created = sm.create_domain(DomainName="http-studio", AuthMode="IAM", VpcId="vpc-0abc", SubnetIds=["subnet-0abc"],
                               DefaultUserSettings={"ExecutionRole": f"arn:aws:iam::{FRAUD_DEV}:role/Execution"},
                               Tags=[{"Key": "team", "Value": "fraud-detection"}])
    domain_id = created["DomainId"]
    assert sm.describe_domain(DomainId=domain_id)["Status"] == "InService"
    assert domain_id in {d["DomainId"] for d in sm.list_domains()["Domains"]}
    sm.update_domain(DomainId=domain_id, DefaultUserSettings={"ExecutionRole": f"arn:aws:iam::{FRAUD_DEV}:role/Other"})
    assert sm.describe_domain(DomainId=domain_id)["DefaultUserSettings"]["ExecutionRole"].endswith("/Other")
    assert error_code(sm.describe_domain, DomainId="d-doesnotexist") == "ResourceNotFound"

    profile_arn = sm.create_user_profile(DomainId=domain_id, UserProfileName="http-user")["UserProfileArn"]
    assert sm.describe_user_profile(DomainId=domain_id, UserProfileName="http-user")["UserProfileArn"] == profile_arn
    assert [p["UserProfileName"] for p in sm.list_user_profiles(DomainIdEquals=domain_id)["UserProfiles"]] == ["http-user"]
    assert error_code(sm.create_user_profile, DomainId=domain_id, UserProfileName="HTTP-USER") == "ResourceInUse"
    assert error_code(sm.delete_domain, DomainId=domain_id) == "ResourceInUse"
    sm.delete_user_profile(DomainId=domain_id, UserProfileName="http-user")
    sm.delete_domain(DomainId=domain_id)
    assert error_code(sm.describe_domain, DomainId=domain_id) == "ResourceNotFound"

    project = sm.create_project(ProjectName="http-project", ServiceCatalogProvisioningDetails={
        "ProductId": "prod-abcdefghijklm", "ProvisioningParameters": [{"Key": "ModelName", "Value": "m"}]})
    described = sm.describe_project(ProjectName="http-project")
    assert described["ProjectId"] == project["ProjectId"] and described["ProjectStatus"] == "CreateCompleted"
    assert "http-project" in {p["ProjectName"] for p in sm.list_projects(NameContains="http")["ProjectSummaryList"]}
    sm.delete_project(ProjectName="http-project")
    assert error_code(sm.describe_project, ProjectName="http-project") == "ValidationException"


def test_hosting_and_tags_over_boto3(aws):
    sm = aws("sagemaker", account_id=FRAUD_TEST)
    sm.create_model(ModelName="http-model", ExecutionRoleArn=f"arn:aws:iam::{FRAUD_TEST}:role/Execution",
                    PrimaryContainer={"ModelPackageName": f"arn:aws:sagemaker:us-east-1:{CENTRAL}:model-package/fraud-xgboost/1"})
    assert sm.describe_model(ModelName="http-model")["ModelArn"].endswith(":model/http-model")
    for name, instance_type in (("http-config-1", "ml.m5.large"), ("http-config-2", "ml.c5.xlarge")):
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": "http-model", "InstanceType": instance_type,
            "InitialInstanceCount": 1}])
    assert sm.describe_endpoint_config(EndpointConfigName="http-config-2")["ProductionVariants"][0][
        "InstanceType"] == "ml.c5.xlarge"
    endpoint_arn = sm.create_endpoint(EndpointName="http-endpoint", EndpointConfigName="http-config-1",
                                      Tags=[{"Key": "team", "Value": "fraud-detection"}])["EndpointArn"]
    assert sm.describe_endpoint(EndpointName="http-endpoint")["EndpointStatus"] == "InService"
    sm.update_endpoint(EndpointName="http-endpoint", EndpointConfigName="http-config-2")
    assert sm.describe_endpoint(EndpointName="http-endpoint")["EndpointConfigName"] == "http-config-2"
    assert "http-endpoint" in {e["EndpointName"] for e in sm.list_endpoints(NameContains="http")["Endpoints"]}

    sm.add_tags(ResourceArn=endpoint_arn, Tags=[{"Key": "model", "Value": "fraud-xgboost"}])
    sm.delete_tags(ResourceArn=endpoint_arn, TagKeys=["team"])
    assert sm.list_tags(ResourceArn=endpoint_arn)["Tags"] == [{"Key": "model", "Value": "fraud-xgboost"}]

    sm.delete_endpoint(EndpointName="http-endpoint")
    assert error_code(sm.describe_endpoint, EndpointName="http-endpoint") == "ValidationException"
    for name in ("http-config-1", "http-config-2"):
        sm.delete_endpoint_config(EndpointConfigName=name)
    sm.delete_model(ModelName="http-model")
    assert error_code(sm.describe_model, ModelName="http-model") == "ValidationException"


def test_model_registry_through_the_aws_cli(aws_cli):
    listed = aws_cli("sagemaker", "list-model-packages", "--model-package-group-name", "credit-scoring",
                     "--model-approval-status", "Approved", account_id=org_layout.team_account("credit-risk", "dev"))
    assert [p["ModelPackageVersion"] for p in listed.json["ModelPackageSummaryList"]][:1] == [1]
    described = aws_cli("sagemaker", "describe-model-package", "--model-package-name", "credit-scoring/3",
                        account_id=org_layout.team_account("credit-risk", "dev"))
    assert described.json["CustomerMetadataProperties"]["auc"] == "0.794"
    missing = aws_cli("sagemaker", "describe-model-package-group", "--model-package-group-name", "nope",
                      account_id=FRAUD_DEV, check=False)
    assert missing.returncode != 0 and "ValidationException" in missing.stderr


def test_every_model_package_name_the_sandbox_hands_out_describes_the_same_package(aws, aws_cli):
    """AWS's developer guide shows versioned packages without ``ModelPackageName`` (summary and
    description alike): a client that echoes back the name it was given, as the SageMaker SDK's
    ``refresh()`` and ``get_all()`` do, must never get a name that DescribeModelPackage refuses.
    Every form the model's ``VersionedArnOrName`` pattern allows resolves."""
    sm = aws("sagemaker", account_id=FRAUD_DEV)
    sm.create_model_package_group(ModelPackageGroupName="http-names")
    versioned = [sm.create_model_package(ModelPackageGroupName="http-names", InferenceSpecification=INFERENCE)[
        "ModelPackageArn"] for _ in range(2)]
    unversioned = sm.create_model_package(ModelPackageName="http-names-standalone",
                                          InferenceSpecification=INFERENCE)["ModelPackageArn"]
    summaries = sm.list_model_packages(NameContains="http-names", ModelPackageType="Both")["ModelPackageSummaryList"]
    assert sorted(s["ModelPackageArn"] for s in summaries) == sorted([*versioned, unversioned])
    for summary in summaries:
        handed_out = [summary["ModelPackageArn"]] + ([summary["ModelPackageName"]] if "ModelPackageName" in summary
                                                     else [])
        described = sm.describe_model_package(ModelPackageName=handed_out[-1])
        assert described["ModelPackageArn"] == summary["ModelPackageArn"]
        if "ModelPackageName" in described:
            again = sm.describe_model_package(ModelPackageName=described["ModelPackageName"])
            assert again["ModelPackageArn"] == summary["ModelPackageArn"]
    for summary in summaries:
        assert ("ModelPackageName" in summary) == (summary["ModelPackageArn"] == unversioned)
    for form in (versioned[1], "http-names/2"):
        assert sm.describe_model_package(ModelPackageName=form)["ModelPackageArn"] == versioned[1]
    assert sm.describe_model_package(ModelPackageName="http-names-standalone")["ModelPackageArn"] == unversioned
    described = sm.describe_model_package(ModelPackageName=versioned[0])
    assert "ModelPackageName" not in described
    assert (described["ModelPackageGroupName"], described["ModelPackageVersion"]) == ("http-names", 1)
    listed = aws_cli("sagemaker", "list-model-packages", "--model-package-group-name", "http-names",
                     account_id=FRAUD_DEV).json["ModelPackageSummaryList"]
    for summary in listed:
        name = summary.get("ModelPackageName") or summary["ModelPackageArn"]
        answer = aws_cli("sagemaker", "describe-model-package", "--model-package-name", name, account_id=FRAUD_DEV)
        assert answer.json["ModelPackageArn"] == summary["ModelPackageArn"]
