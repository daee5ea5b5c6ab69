"""Service Catalog in the sandbox: the seeded catalog, access through principal associations,
the provisioning lifecycle with its asynchronous records, idempotency, parameter validation,
plans, paging, Control Tower's Account Factory, product effects in SageMaker and Organizations,
scripted record failures, and fidelity over HTTP (boto3 and the AWS CLI)."""
import json
import os
import subprocess
import sys

import pytest

from sandbox.core import org_layout
from sandbox.core.engine import Config, Sandbox
from sandbox.core.errors import AwsError

MANAGEMENT = org_layout.MANAGEMENT_ACCOUNT_ID
FRAUD_DEV = org_layout.team_account("fraud-detection", "dev")
FRAUD_TEST = org_layout.team_account("fraud-detection", "test")
FRAUD_PROD = org_layout.team_account("fraud-detection", "prod")
CREDIT_DEV = org_layout.team_account("credit-risk", "dev")
DOMAIN = "SageMaker Studio Domain"
BUILD = "MLOps Project: Model Build and Train"
DEPLOY = "MLOps Project: Multi-account Model Deploy"
FACTORY = "AWS Control Tower Account Factory"
VPC = "vpc-0a1b2c3d4e5f60718"
TEAM_TAG = [{"Key": "team", "Value": "fraud-detection"}]
CONTAINERS = {"Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                              "ModelDataUrl": "s3://fraud-models/model.tar.gz"}]}


def sc(engine, operation, account=FRAUD_DEV, **params):
    return engine.invoke("servicecatalog", operation, params, account_id=account)


def sagemaker(engine, operation, account=FRAUD_DEV, **params):
    return engine.invoke("sagemaker", operation, params, account_id=account)


def error_of(engine, operation, account=FRAUD_DEV, service="servicecatalog", **params) -> AwsError:
    with pytest.raises(AwsError) as caught:
        engine.invoke(service, operation, params, account_id=account)
    return caught.value


def product(engine, name, account=FRAUD_DEV) -> tuple[str, str]:
    """(product id, id of its DEFAULT version) as the end user finds them."""
    found = sc(engine, "SearchProducts", account, Filters={"FullTextSearch": [name]})["ProductViewSummaries"]
    product_id = next(p["ProductId"] for p in found if p["Name"] == name)
    versions = sc(engine, "DescribeProduct", account, Id=product_id)["ProvisioningArtifacts"]
    return product_id, next(v["Id"] for v in versions if v["Guidance"] == "DEFAULT")


def values(**pairs) -> list[dict]:
    return [{"Key": key, "Value": value} for key, value in pairs.items()]


def domain_parameters(**overrides) -> list[dict]:
    chosen = {"DomainName": "fraud-studio", "VpcId": VPC, "SubnetIds": "subnet-0a1b2c3d,subnet-4e5f6a7b",
              "SecurityGroupIds": "sg-0123abcd", **overrides}
    return values(**chosen)


def provision(engine, name, product_name=DOMAIN, parameters=None, account=FRAUD_DEV, token=None, **params):
    product_id, version = product(engine, product_name, account)
    request = {"ProductId": product_id, "ProvisioningArtifactId": version, "ProvisionedProductName": name,
               "ProvisionToken": token or f"token-{name}", "Tags": TEAM_TAG, **params}
    request["ProvisioningParameters"] = domain_parameters() if parameters is None else parameters
    return sc(engine, "ProvisionProduct", account, **request)["RecordDetail"]


def record(engine, record_id, account=FRAUD_DEV) -> dict:
    return sc(engine, "DescribeRecord", account, Id=record_id)


def outputs_of(described: dict) -> dict:
    return {output["OutputKey"]: output["OutputValue"] for output in described["RecordOutputs"]}


@pytest.fixture
def slow_engine():
    """Records take 100 s (accounts 300 s); Studio resources are instant. Time moves with the clock."""
    return Sandbox(Config(provision_seconds=100, account_seconds=300, domain_seconds=0, export_seconds=0))


# -- the catalog --------------------------------------------------------------------------------
def test_member_accounts_see_the_ml_platform_portfolio_and_only_management_the_account_factory(engine):
    member = {p["Name"] for p in sc(engine, "SearchProducts")["ProductViewSummaries"]}
    assert member == {DOMAIN, "SageMaker User Profile", BUILD, DEPLOY}
    management = sc(engine, "SearchProducts", MANAGEMENT)
    assert {p["Name"] for p in management["ProductViewSummaries"]} == member | {FACTORY}
    assert {"Value": "AWS Control Tower", "ApproximateCount": 1} in management["ProductViewAggregations"]["Owner"]
    assert error_of(engine, "DescribeProduct", Name=FACTORY).code == "ResourceNotFoundException"


def test_products_list_their_versions_and_launch_path(engine):
    product_id, _version = product(engine, DOMAIN)
    described = sc(engine, "DescribeProduct", Id=product_id)
    assert [(v["Name"], v["Guidance"]) for v in described["ProvisioningArtifacts"]] == [
        ("v1", "DEPRECATED"), ("v2", "DEFAULT")]
    assert [path["Name"] for path in described["LaunchPaths"]] == ["ML Platform"]
    assert described["LaunchPaths"][0]["Id"].startswith("lpv2-")
    paths = sc(engine, "ListLaunchPaths", ProductId=product_id)["LaunchPathSummaries"]
    assert paths[0]["ConstraintSummaries"][0]["Type"] == "LAUNCH"
    details = sc(engine, "ListProvisioningArtifacts", ProductId=product_id)["ProvisioningArtifactDetails"]
    assert [(d["Name"], d["Active"]) for d in details] == [("v1", True), ("v2", True)]
    verbose = sc(engine, "DescribeProvisioningArtifact", ProductName=DOMAIN, ProvisioningArtifactName="v2",
                 Verbose=True, IncludeProvisioningArtifactParameters=True)
    assert verbose["Info"]["TemplateUrl"].endswith("/sagemaker-domain/v2.yaml")
    assert "NetworkIsolation" in {p["ParameterKey"] for p in verbose["ProvisioningArtifactParameters"]}
    assert error_of(engine, "DescribeProvisioningArtifact", ProductId=product_id, ProvisioningArtifactId="pa-x",
                    ProvisioningArtifactName="v2").code == "InvalidParametersException"


def test_provisioning_parameters_carry_string_constraints_and_the_organizations_ous(engine):
    product_id, version = product(engine, DOMAIN)
    described = sc(engine, "DescribeProvisioningParameters", ProductId=product_id, ProvisioningArtifactId=version)
    parameters = {p["ParameterKey"]: p for p in described["ProvisioningArtifactParameters"]}
    assert parameters["DefaultInstanceType"]["ParameterConstraints"]["AllowedValues"][:3] == [
        "ml.t3.medium", "ml.t3.large", "ml.m5.large"]
    assert parameters["DomainName"]["ParameterConstraints"]["MaxLength"] == "63"
    assert parameters["SubnetIds"]["ParameterType"] == "CommaDelimitedList"
    assert "DefaultValue" not in parameters["VpcId"]
    assert {o["Key"] for o in described["ProvisioningArtifactOutputKeys"]} == {"DomainId", "DomainArn", "StudioUrl"}
    assert {"Type": "launchAsRole", "Value": f"arn:aws:iam::{FRAUD_DEV}:role/service-role/"
            "AmazonSageMakerServiceCatalogProductsLaunchRole"} in described["UsageInstructions"]
    factory_id, factory_version = product(engine, FACTORY, MANAGEMENT)
    factory = sc(engine, "DescribeProvisioningParameters", MANAGEMENT, ProductName=FACTORY,
                 ProvisioningArtifactId=factory_version, PathName="AWS Control Tower Account Factory Portfolio")
    ou = next(p for p in factory["ProvisioningArtifactParameters"] if p["ParameterKey"] == "ManagedOrganizationalUnit")
    assert "Sandbox (ou-ml01-sandbox0)" in ou["ParameterConstraints"]["AllowedValues"]
    assert len(ou["ParameterConstraints"]["AllowedValues"]) == len(org_layout.OUS)
    assert error_of(engine, "DescribeProvisioningParameters", MANAGEMENT, ProductId=factory_id, ProductName=FACTORY,
                    ProvisioningArtifactId=factory_version).code == "InvalidParametersException"


def test_a_principal_without_association_finds_no_launch_path_until_associated(engine):
    portfolio = sc(engine, "CreatePortfolio", DisplayName="Team tools", ProviderName="Fraud team",
                   IdempotencyToken="portfolio-1")["PortfolioDetail"]
    created = sc(engine, "CreateProduct", Name="Feature store", Owner="Fraud team",
                 ProductType="CLOUD_FORMATION_TEMPLATE", IdempotencyToken="product-1", ProvisioningArtifactParameters={
                     "Name": "v1", "Info": {"LoadTemplateFromURL": "https://s3.amazonaws.com/t/feature-store.yaml"}})
    product_id = created["ProductViewDetail"]["ProductViewSummary"]["ProductId"]
    version = created["ProvisioningArtifactDetail"]["Id"]
    sc(engine, "AssociateProductWithPortfolio", ProductId=product_id, PortfolioId=portfolio["Id"])
    assert "Feature store" not in {p["Name"] for p in sc(engine, "SearchProducts")["ProductViewSummaries"]}
    refused = error_of(engine, "ProvisionProduct", ProductId=product_id, ProvisioningArtifactId=version,
                       ProvisionedProductName="features", ProvisionToken="t1")
    assert (refused.code, refused.message) == ("InvalidParametersException",
                                               f"No launch paths found for resource: {product_id}")
    bad_pattern = error_of(engine, "AssociatePrincipalWithPortfolio", PortfolioId=portfolio["Id"],
                           PrincipalARN=f"arn:aws:iam::{FRAUD_DEV}:role/Portal*", PrincipalType="IAM_PATTERN")
    assert bad_pattern.code == "InvalidParametersException"
    sc(engine, "AssociatePrincipalWithPortfolio", PortfolioId=portfolio["Id"],
       PrincipalARN="arn:aws:iam:::role/Portal*", PrincipalType="IAM_PATTERN")
    listed = sc(engine, "ListPrincipalsForPortfolio", PortfolioId=portfolio["Id"])["Principals"]
    assert listed == [{"PrincipalARN": "arn:aws:iam:::role/Portal*", "PrincipalType": "IAM_PATTERN"}]
    detail = provision(engine, "features", "Feature store", parameters=[])
    assert record(engine, detail["RecordId"])["RecordDetail"]["Status"] == "SUCCEEDED"
    # the administrator's views of what was built
    assert sc(engine, "CreatePortfolio", DisplayName="Team tools", ProviderName="Fraud team",
              IdempotencyToken="portfolio-1")["PortfolioDetail"]["Id"] == portfolio["Id"]
    assert [p["Id"] for p in sc(engine, "ListPortfolios")["PortfolioDetails"]] == [portfolio["Id"]]
    assert sc(engine, "DescribePortfolio", Id=portfolio["Id"])["PortfolioDetail"]["ProviderName"] == "Fraud team"
    admin = sc(engine, "SearchProductsAsAdmin", PortfolioId=portfolio["Id"])["ProductViewDetails"]
    assert [d["ProductViewSummary"]["Name"] for d in admin] == ["Feature store"]
    summaries = sc(engine, "DescribeProductAsAdmin", Id=product_id)["ProvisioningArtifactSummaries"]
    assert summaries[0]["Id"] == version
    assert error_of(engine, "CreateProduct", Name="x", Owner="y", ProductType="CLOUD_FORMATION_TEMPLATE",
                    IdempotencyToken="product-2").code == "InvalidParametersException"


# -- lifecycle --------------------------------------------------------------------------------
def test_provision_update_through_a_plan_and_terminate(slow_engine):
    engine = slow_engine
    started = provision(engine, "fraud-studio")
    assert started["Status"] == "CREATED" and started["RecordType"] == "PROVISION_PRODUCT"
    assert started["ProvisionedProductId"].startswith("pp-") and started["RecordId"].startswith("rec-")
    engine.advance_clock(50)
    assert record(engine, started["RecordId"])["RecordDetail"]["Status"] == "IN_PROGRESS"
    assert sagemaker(engine, "ListDomains")["Domains"] == []
    pp = sc(engine, "DescribeProvisionedProduct", Name="fraud-studio")["ProvisionedProductDetail"]
    assert pp["Status"] == "UNDER_CHANGE"
    assert pp["Arn"] == f"arn:aws:servicecatalog:us-east-1:{FRAUD_DEV}:stack/fraud-studio/{pp['Id']}"

    engine.advance_clock(60)
    done = record(engine, started["RecordId"])
    assert done["RecordDetail"]["Status"] == "SUCCEEDED"
    domain_id = outputs_of(done)["DomainId"]
    domain = sagemaker(engine, "DescribeDomain", DomainId=domain_id)
    assert domain["AppNetworkAccessType"] == "VpcOnly" and domain["VpcId"] == VPC
    tags = {t["Key"]: t["Value"] for t in sagemaker(engine, "ListTags", ResourceArn=domain["DomainArn"])["Tags"]}
    assert tags == {"team": "fraud-detection", "platform": "ml-platform", "EnvironmentType": "dev",
                    "NetworkIsolation": "YES"}
    available = sc(engine, "DescribeProvisionedProduct", Id=pp["Id"])["ProvisionedProductDetail"]
    assert available["Status"] == "AVAILABLE" and available["LastSuccessfulProvisioningRecordId"] == started["RecordId"]
    assert sc(engine, "GetProvisionedProductOutputs", ProvisionedProductName="fraud-studio",
              OutputKeys=["DomainId"])["Outputs"][0]["OutputValue"] == domain_id

    plan = sc(engine, "CreateProvisionedProductPlan", PlanName="bigger-kernels", PlanType="CLOUDFORMATION",
              ProductId=available["ProductId"], ProvisioningArtifactId=available["ProvisioningArtifactId"],
              ProvisionedProductName="fraud-studio", IdempotencyToken="plan-1",
              ProvisioningParameters=[{"Key": "DefaultInstanceType", "Value": "ml.m5.xlarge"}])
    assert plan["ProvisionProductId"] == pp["Id"]
    assert sc(engine, "DescribeProvisionedProductPlan", PlanId=plan["PlanId"])[
        "ProvisionedProductPlanDetails"]["Status"] == "CREATE_IN_PROGRESS"
    engine.advance_clock(11)
    preview = sc(engine, "DescribeProvisionedProductPlan", PlanId=plan["PlanId"])
    assert preview["ProvisionedProductPlanDetails"]["Status"] == "CREATE_SUCCESS"
    assert preview["ResourceChanges"] == [{
        "Action": "MODIFY", "LogicalResourceId": "SageMakerStudioDomain", "PhysicalResourceId": domain_id,
        "ResourceType": "AWS::SageMaker::Domain", "Replacement": "FALSE", "Scope": ["PROPERTIES"],
        "Details": [{"Target": {"Attribute": "PROPERTIES", "Name": "DefaultUserSettings",
                                "RequiresRecreation": "NEVER"},
                     "Evaluation": "STATIC", "CausingEntity": "DefaultInstanceType"}]}]
    listed = sc(engine, "ListProvisionedProductPlans", ProvisionProductId=pp["Id"])["ProvisionedProductPlans"]
    assert [p["PlanId"] for p in listed] == [plan["PlanId"]]
    update = sc(engine, "ExecuteProvisionedProductPlan", PlanId=plan["PlanId"],
                IdempotencyToken="exec-1")["RecordDetail"]
    assert update["RecordType"] == "UPDATE_PROVISIONED_PRODUCT"
    assert error_of(engine, "UpdateProvisionedProduct", ProvisionedProductId=pp["Id"],
                    UpdateToken="too-early").code == "InvalidParametersException"
    engine.advance_clock(100)
    assert record(engine, update["RecordId"])["RecordDetail"]["Status"] == "SUCCEEDED"
    settings = sagemaker(engine, "DescribeDomain", DomainId=domain_id)["DefaultUserSettings"]
    assert settings["JupyterLabAppSettings"]["DefaultResourceSpec"]["InstanceType"] == "ml.m5.xlarge"
    assert sc(engine, "DescribeProvisionedProductPlan", PlanId=plan["PlanId"])[
        "ProvisionedProductPlanDetails"]["Status"] == "EXECUTE_SUCCESS"

    terminate = sc(engine, "TerminateProvisionedProduct", ProvisionedProductName="fraud-studio",
                   TerminateToken="bye")["RecordDetail"]
    assert terminate["Status"] == "IN_PROGRESS"
    assert sc(engine, "TerminateProvisionedProduct", ProvisionedProductName="fraud-studio",
              TerminateToken="bye")["RecordDetail"]["RecordId"] == terminate["RecordId"]
    engine.advance_clock(100)
    assert record(engine, terminate["RecordId"])["RecordDetail"]["Status"] == "SUCCEEDED"
    assert error_of(engine, "DescribeProvisionedProduct", Id=pp["Id"]).code == "ResourceNotFoundException"
    assert error_of(engine, "TerminateProvisionedProduct", ProvisionedProductId=pp["Id"],
                    TerminateToken="bye").code == "ResourceNotFoundException"
    assert error_of(engine, "DescribeDomain", service="sagemaker", DomainId=domain_id).code == "ResourceNotFound"
    history = sc(engine, "ListRecordHistory", SearchFilter={"Key": "provisionedproduct", "Value": pp["Id"]})
    assert [r["RecordType"] for r in history["RecordDetails"]] == [
        "TERMINATE_PROVISIONED_PRODUCT", "UPDATE_PROVISIONED_PRODUCT", "PROVISION_PRODUCT"]


def test_a_renamed_domain_is_replaced_and_an_unrenamed_replacement_fails_like_cloudformation(engine):
    first = provision(engine, "studio")
    old_id = outputs_of(record(engine, first["RecordId"]))["DomainId"]
    product_id, version = product(engine, DOMAIN)
    plan = sc(engine, "CreateProvisionedProductPlan", PlanName="move", PlanType="CLOUDFORMATION", ProductId=product_id,
              ProvisioningArtifactId=version, ProvisionedProductName="studio", IdempotencyToken="plan-move",
              ProvisioningParameters=[{"Key": "VpcId", "Value": "vpc-0fedcba987654321f"}])
    change = sc(engine, "DescribeProvisionedProductPlan", PlanId=plan["PlanId"])["ResourceChanges"][0]
    assert (change["Replacement"], change["Details"][0]["Target"]["RequiresRecreation"]) == ("TRUE", "ALWAYS")
    sc(engine, "DeleteProvisionedProductPlan", PlanId=plan["PlanId"])
    assert sc(engine, "ListProvisionedProductPlans")["ProvisionedProductPlans"] == []

    same_name = sc(engine, "UpdateProvisionedProduct", ProvisionedProductName="studio", UpdateToken="u1",
                   ProvisioningParameters=[{"Key": "VpcId", "Value": "vpc-0fedcba987654321f"}])["RecordDetail"]
    failed = record(engine, same_name["RecordId"])["RecordDetail"]
    assert failed["Status"] == "FAILED"
    assert failed["RecordErrors"][0]["Description"].startswith(
        "CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename fraud-studio")
    assert sc(engine, "DescribeProvisionedProduct", Name="studio")["ProvisionedProductDetail"]["Status"] == "TAINTED"

    renamed = sc(engine, "UpdateProvisionedProduct", ProvisionedProductName="studio", UpdateToken="u2",
                 ProvisioningParameters=[{"Key": "VpcId", "Value": "vpc-0fedcba987654321f"},
                                         {"Key": "DomainName", "Value": "fraud-studio-2"}])["RecordDetail"]
    new_id = outputs_of(record(engine, renamed["RecordId"]))["DomainId"]
    assert new_id != old_id
    assert sagemaker(engine, "DescribeDomain", DomainId=new_id)["VpcId"] == "vpc-0fedcba987654321f"
    assert error_of(engine, "DescribeDomain", service="sagemaker", DomainId=old_id).code == "ResourceNotFound"
    assert sc(engine, "DescribeProvisionedProduct", Name="studio")["ProvisionedProductDetail"]["Status"] == "AVAILABLE"


def test_a_plan_for_a_new_product_reserves_its_name_until_executed_or_deleted(slow_engine):
    engine = slow_engine
    product_id, version = product(engine, DOMAIN)
    plan_request = {"PlanType": "CLOUDFORMATION", "ProductId": product_id, "ProvisioningArtifactId": version,
                    "ProvisionedProductName": "planned", "ProvisioningParameters": domain_parameters()}
    plan = sc(engine, "CreateProvisionedProductPlan", PlanName="p1", IdempotencyToken="p1", **plan_request)
    reserved = sc(engine, "DescribeProvisionedProduct", Name="planned")["ProvisionedProductDetail"]
    assert reserved["Status"] == "PLAN_IN_PROGRESS"
    early = error_of(engine, "ExecuteProvisionedProductPlan", PlanId=plan["PlanId"], IdempotencyToken="x1")
    assert early.code == "InvalidStateException"
    engine.advance_clock(11)
    changes = sc(engine, "DescribeProvisionedProductPlan", PlanId=plan["PlanId"])["ResourceChanges"]
    assert [(c["Action"], c["LogicalResourceId"]) for c in changes] == [("ADD", "SageMakerStudioDomain")]
    assert error_of(engine, "ProvisionProduct", ProductId=product_id, ProvisioningArtifactId=version,
                    ProvisionedProductName="planned", ProvisionToken="t",
                    ProvisioningParameters=domain_parameters()).code == "DuplicateResourceException"
    sc(engine, "DeleteProvisionedProductPlan", PlanId=plan["PlanId"])
    assert error_of(engine, "DescribeProvisionedProduct", Name="planned").code == "ResourceNotFoundException"

    again = sc(engine, "CreateProvisionedProductPlan", PlanName="p2", IdempotencyToken="p2", **plan_request)
    engine.advance_clock(11)
    executed = sc(engine, "ExecuteProvisionedProductPlan", PlanId=again["PlanId"], IdempotencyToken="x2")
    assert executed["RecordDetail"]["RecordType"] == "PROVISION_PRODUCT"
    engine.advance_clock(100)
    assert record(engine, executed["RecordDetail"]["RecordId"])["RecordDetail"]["Status"] == "SUCCEEDED"
    assert [d["DomainName"] for d in sagemaker(engine, "ListDomains")["Domains"]] == ["fraud-studio"]


def test_a_failed_provisioning_rolls_back_what_it_created(engine):
    sagemaker(engine, "CreateModelPackageGroup", ModelPackageGroupName="taken-group")
    started = provision(engine, "fraud-build", BUILD, values(SageMakerProjectName="fraud-model",
                                                             ModelPackageGroupName="taken-group"))
    failed = record(engine, started["RecordId"])["RecordDetail"]
    assert failed["Status"] == "FAILED"
    assert error_of(engine, "DescribeProject", service="sagemaker", ProjectName="fraud-model").code == \
        "ValidationException"


def test_the_same_provision_token_returns_the_first_record_and_has_no_second_effect(engine):
    first = provision(engine, "studio", token="portal-request-42")
    again = provision(engine, "studio", token="portal-request-42")
    assert again["RecordId"] == first["RecordId"]
    assert len(sc(engine, "ScanProvisionedProducts")["ProvisionedProducts"]) == 1
    assert len(sagemaker(engine, "ListDomains")["Domains"]) == 1
    provisions = [e for e in engine.ledger if e["operation"] == "ProvisionProduct"]
    assert [(e["key"], e["effect"]) for e in provisions] == [("portal-request-42", True), ("portal-request-42", False)]


def test_provisioned_product_names_are_unique_per_account(engine):
    provision(engine, "studio")
    duplicate = error_of(engine, "ProvisionProduct", ProductName=DOMAIN, ProvisioningArtifactName="v2",
                         ProvisionedProductName="studio", ProvisionToken="other-token",
                         ProvisioningParameters=domain_parameters())
    assert duplicate.code == "DuplicateResourceException"
    assert provision(engine, "studio", account=CREDIT_DEV)["Status"] in ("CREATED", "IN_PROGRESS")
    invalid_name = error_of(engine, "ProvisionProduct", ProductName=DOMAIN, ProvisioningArtifactName="v2",
                            ProvisionedProductName="my studio", ProvisionToken="t")
    assert invalid_name.code == "ValidationException" and "provisionedProductName" in invalid_name.message


def test_unknown_keys_and_missing_values_are_refused_at_once(engine):
    unknown = error_of(engine, "ProvisionProduct", ProductName=DOMAIN, ProvisioningArtifactName="v2",
                       ProvisionedProductName="studio", ProvisionToken="t1",
                       ProvisioningParameters=domain_parameters(InstanceSize="large"))
    assert (unknown.code, unknown.message) == ("InvalidParametersException",
                                               "Parameters: [InstanceSize] do not exist in the template")
    missing = error_of(engine, "ProvisionProduct", ProductName=DOMAIN, ProvisioningArtifactName="v2",
                       ProvisionedProductName="studio", ProvisionToken="t2", ProvisioningParameters=values(VpcId=VPC))
    assert missing.message == "Parameters: [DomainName, SubnetIds, SecurityGroupIds] must have values"
    deprecated = error_of(engine, "ProvisionProduct", ProductName=DOMAIN, ProvisioningArtifactName="v1",
                          ProvisionedProductName="studio", ProvisionToken="t3", ProvisioningParameters=[])
    assert deprecated.code == "InvalidParametersException"
    empty_tag = error_of(engine, "ProvisionProduct", ProductName=DOMAIN, ProvisioningArtifactName="v2",
                         ProvisionedProductName="studio", ProvisionToken="t4",
                         ProvisioningParameters=domain_parameters(), Tags=[{"Key": "team", "Value": ""}])
    assert empty_tag.code == "ValidationException" and "tags.1.member.value" in empty_tag.message
    assert sc(engine, "ScanProvisionedProducts")["ProvisionedProducts"] == []


@pytest.mark.parametrize("override,message", [
    ({"EnvironmentName": "staging"}, "Parameter 'EnvironmentName' must be one of AllowedValues"),
    ({"DomainName": "-studio"}, "Parameter DomainName failed to satisfy constraint: 1-63 letters, digits or "
                                "hyphens, starting with a letter or digit."),
    ({"VpcId": "my-vpc"}, "Parameter validation failed: parameter value my-vpc for parameter name VpcId does not "
                          "exist."),
])
def test_constraint_violations_fail_the_record_as_cloudformation_reports_them(engine, override, message):
    started = provision(engine, "studio", parameters=domain_parameters(**override))
    failed = record(engine, started["RecordId"])
    assert failed["RecordDetail"]["Status"] == "FAILED" and failed["RecordOutputs"] == []
    assert failed["RecordDetail"]["RecordErrors"] == [{"Code": "ValidationError", "Description": message}]
    detail = sc(engine, "DescribeProvisionedProduct", Name="studio")["ProvisionedProductDetail"]
    assert (detail["Status"], detail["StatusMessage"]) == ("ERROR", message)
    assert sagemaker(engine, "ListDomains")["Domains"] == []


def test_a_failed_update_leaves_the_product_tainted_with_its_previous_values(engine):
    first = provision(engine, "studio")
    domain_id = outputs_of(record(engine, first["RecordId"]))["DomainId"]
    bad = sc(engine, "UpdateProvisionedProduct", ProvisionedProductName="studio", UpdateToken="u1",
             ProvisioningParameters=[{"Key": "DefaultInstanceType", "Value": "ml.p5.48xlarge"}])["RecordDetail"]
    assert record(engine, bad["RecordId"])["RecordDetail"]["Status"] == "FAILED"
    detail = sc(engine, "DescribeProvisionedProduct", Name="studio")["ProvisionedProductDetail"]
    assert detail["Status"] == "TAINTED"
    assert detail["LastSuccessfulProvisioningRecordId"] == first["RecordId"]
    retry = sc(engine, "UpdateProvisionedProduct", ProvisionedProductName="studio", UpdateToken="u2",
               ProvisioningParameters=[{"Key": "DefaultInstanceType", "Value": "ml.m5.large"},
                                       {"Key": "DomainName", "UsePreviousValue": True}])["RecordDetail"]
    assert outputs_of(record(engine, retry["RecordId"]))["DomainId"] == domain_id
    assert sc(engine, "DescribeProvisionedProduct", Name="studio")["ProvisionedProductDetail"]["Status"] == "AVAILABLE"
    assert sc(engine, "UpdateProvisionedProduct", ProvisionedProductName="studio",
              UpdateToken="u2")["RecordDetail"]["RecordId"] == retry["RecordId"]


def test_termination_fails_on_resources_in_use_unless_errors_are_ignored_or_resources_retained(engine):
    domain_id = outputs_of(record(engine, provision(engine, "studio")["RecordId"]))["DomainId"]
    sagemaker(engine, "CreateUserProfile", DomainId=domain_id, UserProfileName="ada")
    blocked = sc(engine, "TerminateProvisionedProduct", ProvisionedProductName="studio", TerminateToken="t1")
    failed = record(engine, blocked["RecordDetail"]["RecordId"])["RecordDetail"]
    assert (failed["Status"], failed["RecordErrors"][0]["Code"]) == ("FAILED", "ResourceInUse")
    assert sc(engine, "DescribeProvisionedProduct", Name="studio")["ProvisionedProductDetail"]["Status"] == "ERROR"
    forced = sc(engine, "TerminateProvisionedProduct", ProvisionedProductName="studio", TerminateToken="t2",
                IgnoreErrors=True)
    assert record(engine, forced["RecordDetail"]["RecordId"])["RecordDetail"]["Status"] == "SUCCEEDED"
    assert error_of(engine, "DescribeProvisionedProduct", Name="studio").code == "ResourceNotFoundException"
    assert sagemaker(engine, "DescribeDomain", DomainId=domain_id)["Status"] == "InService"

    kept_id = outputs_of(record(engine, provision(engine, "kept", parameters=domain_parameters(
        DomainName="kept-studio"))["RecordId"]))["DomainId"]
    retained = sc(engine, "TerminateProvisionedProduct", ProvisionedProductName="kept", TerminateToken="t3",
                  RetainPhysicalResources=True)
    assert record(engine, retained["RecordDetail"]["RecordId"])["RecordDetail"]["Status"] == "SUCCEEDED"
    assert sagemaker(engine, "DescribeDomain", DomainId=kept_id)["Status"] == "InService"


# -- search and paging -------------------------------------------------------------------------
def test_search_provisioned_products_filters_sorts_and_pages(engine):
    for index, name in enumerate(["studio-c", "studio-a", "studio-b"]):
        provision(engine, name, parameters=domain_parameters(DomainName=f"domain-{index}"))
    provision(engine, "broken", parameters=domain_parameters(EnvironmentName="qa"))
    available = sc(engine, "SearchProvisionedProducts", Filters={"SearchQuery": ["status:AVAILABLE"]},
                   SortBy="name", SortOrder="DESCENDING", PageSize=2)
    assert [p["Name"] for p in available["ProvisionedProducts"]] == ["studio-c", "studio-b"]
    assert available["TotalResultsCount"] == 3
    rest = sc(engine, "SearchProvisionedProducts", Filters={"SearchQuery": ["status:AVAILABLE"]}, SortBy="name",
              SortOrder="DESCENDING", PageSize=2, PageToken=available["NextPageToken"])
    assert [p["Name"] for p in rest["ProvisionedProducts"]] == ["studio-a"] and "NextPageToken" not in rest
    found = sc(engine, "SearchProvisionedProducts", Filters={"SearchQuery": ["name:broken"]})["ProvisionedProducts"]
    assert [(p["Status"], p["ProductName"], p["ProvisioningArtifactName"]) for p in found] == [("ERROR", DOMAIN, "v2")]
    tagged = sc(engine, "SearchProvisionedProducts", Filters={"SearchQuery": ["tags.team:fraud-detection"]})
    assert tagged["TotalResultsCount"] == 4
    by_product = [f"productId:{found[0]['ProductId']}", "status:TAINTED"]
    assert sc(engine, "SearchProvisionedProducts", Filters={"SearchQuery": by_product})["TotalResultsCount"] == 0
    scanned = sc(engine, "ScanProvisionedProducts", PageSize=3)
    assert len(scanned["ProvisionedProducts"]) == 3 and scanned["NextPageToken"]
    assert error_of(engine, "SearchProvisionedProducts", PageToken="garbage").code == "InvalidParametersException"
    assert error_of(engine, "SearchProvisionedProducts", PageSize=101).code == "ValidationException"
    assert error_of(engine, "SearchProvisionedProducts", SortBy="status").code == "InvalidParametersException"
    assert error_of(engine, "SearchProvisionedProducts",
                    AccessLevelFilter={"Key": "Account", "Value": "123"}).code == "InvalidParametersException"
    history = sc(engine, "ListRecordHistory", PageSize=3)
    assert len(history["RecordDetails"]) == 3
    assert len(sc(engine, "ListRecordHistory", PageToken=history["NextPageToken"])["RecordDetails"]) == 1
    page = sc(engine, "SearchProducts", PageSize=1, SortBy="Title")
    assert [p["Name"] for p in page["ProductViewSummaries"]] == [BUILD]
    assert error_of(engine, "SearchProductsAsAdmin", MANAGEMENT, PageSize=21).code == "ValidationException"


# -- Account Factory ----------------------------------------------------------------------------
def account_parameters(name: str, email: str, ou="Sandbox (ou-ml01-sandbox0)") -> list[dict]:
    return values(AccountName=name, AccountEmail=email, SSOUserFirstName="Ada", SSOUserLastName="Lovelace",
                  SSOUserEmail="ada@mlplatform.example.com", ManagedOrganizationalUnit=ou)


def vend(engine, name, email=None, **kwargs):
    email = email or f"aws+{name}@mlplatform.example.com"
    return provision(engine, name, FACTORY, account_parameters(name, email), account=MANAGEMENT, **kwargs)


def test_account_factory_vends_an_account_in_the_chosen_ou_within_the_concurrency_limit(slow_engine):
    engine = slow_engine
    engine.config.max_concurrent_account_operations = 2
    first, _second = vend(engine, "fraud-sandbox-1"), vend(engine, "fraud-sandbox-2")
    assert first["ProvisionedProductType"] == "CONTROL_TOWER_ACCOUNT"
    busy = error_of(engine, "ProvisionProduct", MANAGEMENT, ProductName=FACTORY,
                    ProvisioningArtifactName=FACTORY, ProvisionedProductName="fraud-sandbox-3", ProvisionToken="t3",
                    ProvisioningParameters=account_parameters("fraud-sandbox-3", "aws+fs3@mlplatform.example.com"))
    assert (busy.code, busy.message) == ("ResourceInUseException", "Account Factory cannot complete an operation on "
                                         "this account, because the allowed maximum of 2 concurrent account "
                                         "operations is exceeded.")
    engine.advance_clock(150)
    assert record(engine, first["RecordId"], MANAGEMENT)["RecordDetail"]["Status"] == "IN_PROGRESS"
    engine.advance_clock(150)
    done = record(engine, first["RecordId"], MANAGEMENT)
    outputs = outputs_of(done)
    assert set(outputs) == {"AccountId", "AccountEmail", "SSOUserEmail", "SSOUserPortal"}
    assert outputs["SSOUserPortal"].endswith(".awsapps.com/start")
    account = engine.invoke("organizations", "DescribeAccount", {"AccountId": outputs["AccountId"]},
                            account_id=MANAGEMENT)["Account"]
    assert account["Name"] == "fraud-sandbox-1" and account["Paths"][0].endswith(f"/ou-ml01-sandbox0/{account['Id']}/")
    assert "AWSControlTowerExecution" in engine.state["iam"]["roles"][account["Id"]]
    assert vend(engine, "fraud-sandbox-3")["Status"] == "CREATED"


def test_account_factory_moves_the_account_on_an_ou_change_and_refuses_an_email_change(engine):
    vended = vend(engine, "fraud-sandbox")
    account_id = outputs_of(record(engine, vended["RecordId"], MANAGEMENT))["AccountId"]
    moved = sc(engine, "UpdateProvisionedProduct", MANAGEMENT, ProvisionedProductName="fraud-sandbox", UpdateToken="u1",
               ProvisioningParameters=values(ManagedOrganizationalUnit="NonProd (ou-ml01-wkldnonp)"))["RecordDetail"]
    assert record(engine, moved["RecordId"], MANAGEMENT)["RecordDetail"]["Status"] == "SUCCEEDED"
    parents = engine.invoke("organizations", "ListParents", {"ChildId": account_id}, account_id=MANAGEMENT)["Parents"]
    assert parents == [{"Id": "ou-ml01-wkldnonp", "Type": "ORGANIZATIONAL_UNIT"}]
    refused = sc(engine, "UpdateProvisionedProduct", MANAGEMENT, ProvisionedProductName="fraud-sandbox",
                 UpdateToken="u2", ProvisioningParameters=values(AccountEmail="aws+new@mlplatform.example.com"))
    assert record(engine, refused["RecordDetail"]["RecordId"], MANAGEMENT)["RecordDetail"]["Status"] == "FAILED"
    assert sc(engine, "DescribeProvisionedProduct", MANAGEMENT, Name="fraud-sandbox")[
        "ProvisionedProductDetail"]["Status"] == "TAINTED"


def test_account_factory_fails_the_record_when_the_email_is_already_used(engine):
    taken = org_layout.ACCOUNTS_BY_ID[FRAUD_DEV].email
    started = vend(engine, "fraud-again", email=taken)
    failed = record(engine, started["RecordId"], MANAGEMENT)["RecordDetail"]
    assert failed["Status"] == "FAILED"
    assert failed["RecordErrors"] == [{"Code": "EMAIL_ALREADY_EXISTS",
                                       "Description": f"The email address {taken} is already associated with an "
                                                      "AWS account."}]


def test_a_scripted_record_failure_fails_the_next_record_of_that_product_only(engine):
    engine.faults.add({"kind": "record_failure", "service": "servicecatalog", "operation": "ProvisionProduct",
                       "subject": DOMAIN, "count": 1})
    other_product = provision(engine, "fraud-build", BUILD, values(SageMakerProjectName="fraud-model"))
    assert record(engine, other_product["RecordId"])["RecordDetail"]["Status"] == "SUCCEEDED"
    failed = record(engine, provision(engine, "studio-1")["RecordId"])["RecordDetail"]
    assert failed["Status"] == "FAILED"
    assert failed["RecordErrors"] == [{"Code": "CREATE_FAILED", "Description": "The following resource(s) failed to "
                                       "create: [SageMakerStudioDomain]. Rollback requested by user."}]
    assert sagemaker(engine, "ListDomains")["Domains"] == []
    succeeded = record(engine, provision(engine, "studio-2")["RecordId"])["RecordDetail"]
    assert succeeded["Status"] == "SUCCEEDED"


# -- MLOps projects and deployment on approval ------------------------------------------------------
def test_an_approved_model_version_deploys_to_the_test_account_and_an_update_promotes_it(engine):
    built = provision(engine, "fraud-build", BUILD, values(SageMakerProjectName="fraud-model",
                                                           ModelPackageGroupName="fraud-model"))
    build_outputs = outputs_of(record(engine, built["RecordId"]))
    assert build_outputs["ModelPackageGroupName"] == "fraud-model"
    assert sagemaker(engine, "DescribeProject", ProjectName="fraud-model")["ProjectId"] == \
        build_outputs["SageMakerProjectId"]
    deploy_parameters = values(SageMakerProjectName="fraud-deploy", ModelPackageGroupName="fraud-model",
                               MultiAccountDeployment="YES", TestAccountId=FRAUD_TEST, ProdAccountId=FRAUD_PROD)
    deployed = provision(engine, "fraud-deploy", DEPLOY, deploy_parameters)
    assert outputs_of(record(engine, deployed["RecordId"])) == {"ModelPackageGroupName": "fraud-model"}
    group_arn = build_outputs["ModelPackageGroupArn"]
    sagemaker(engine, "PutModelPackageGroupPolicy", ModelPackageGroupName="fraud-model",
              ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [{
                  "Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam::{FRAUD_TEST}:root",
                                                           f"arn:aws:iam::{FRAUD_PROD}:root"]},
                  "Action": ["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"],
                  "Resource": [group_arn, group_arn.replace("model-package-group", "model-package") + "/*"]}]}))
    version = sagemaker(engine, "CreateModelPackage", ModelPackageGroupName="fraud-model",
                        InferenceSpecification={**CONTAINERS, "SupportedContentTypes": ["text/csv"],
                                                "SupportedResponseMIMETypes": ["text/csv"]})["ModelPackageArn"]
    sagemaker(engine, "UpdateModelPackage", ModelPackageArn=version, ModelApprovalStatus="Approved")
    endpoint = sagemaker(engine, "DescribeEndpoint", FRAUD_TEST, EndpointName="fraud-model-test")
    assert endpoint["EndpointStatus"] == "InService"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in sc(
        engine, "GetProvisionedProductOutputs", ProvisionedProductName="fraud-deploy")["Outputs"]}
    assert outputs["TestEndpointArn"] == endpoint["EndpointArn"] and outputs["TestModelPackageArn"] == version

    promoted = sc(engine, "UpdateProvisionedProduct", ProvisionedProductName="fraud-deploy", UpdateToken="promote",
                  ProvisioningParameters=values(DeployStage="prod", DeployModelPackageArn=version))["RecordDetail"]
    assert outputs_of(record(engine, promoted["RecordId"]))["ProdEndpointName"] == "fraud-model-prod"
    assert sagemaker(engine, "DescribeEndpoint", FRAUD_PROD, EndpointName="fraud-model-prod")["EndpointStatus"] == \
        "InService"
    sc(engine, "TerminateProvisionedProduct", ProvisionedProductName="fraud-deploy", TerminateToken="t")
    sc(engine, "DescribeProvisionedProduct", Name="fraud-build")    # settles the termination
    for account, name in ((FRAUD_TEST, "fraud-model-test"), (FRAUD_PROD, "fraud-model-prod")):
        assert error_of(engine, "DescribeEndpoint", account, service="sagemaker", EndpointName=name).code == \
            "ValidationException"


def test_records_settle_once_on_the_core_timer_and_the_state_stays_json(slow_engine):
    engine = slow_engine
    provision(engine, "studio")
    assert sc(engine, "_Settle", MANAGEMENT) == {"Settled": 0}
    engine.advance_clock(100)
    assert sc(engine, "_Settle", MANAGEMENT) == {"Settled": 1}
    assert sc(engine, "_Settle", MANAGEMENT) == {"Settled": 0}
    assert len(sagemaker(engine, "ListDomains")["Domains"]) == 1
    assert json.loads(json.dumps(engine.state["servicecatalog"])) == engine.state["servicecatalog"]


# -- over HTTP ----------------------------------------------------------------------------------
def test_every_operation_through_boto3_matches_botocore_shapes(aws):
    client = aws("servicecatalog", FRAUD_DEV)
    domain = next(p for p in client.search_products(Filters={"FullTextSearch": ["Studio Domain"]})[
        "ProductViewSummaries"] if p["Name"] == DOMAIN)
    described = client.describe_product(Id=domain["ProductId"])
    version = next(v["Id"] for v in described["ProvisioningArtifacts"] if v["Guidance"] == "DEFAULT")
    client.list_launch_paths(ProductId=domain["ProductId"])
    client.describe_provisioning_parameters(ProductId=domain["ProductId"], ProvisioningArtifactId=version)
    client.list_provisioning_artifacts(ProductId=domain["ProductId"])
    client.describe_provisioning_artifact(ProductId=domain["ProductId"], ProvisioningArtifactId=version, Verbose=True,
                                          IncludeProvisioningArtifactParameters=True)
    started = client.provision_product(ProductId=domain["ProductId"], ProvisioningArtifactId=version,
                                       ProvisionedProductName="http-studio", Tags=TEAM_TAG,
                                       ProvisioningParameters=domain_parameters(DomainName="http-studio"))
    done = client.describe_record(Id=started["RecordDetail"]["RecordId"])
    assert done["RecordDetail"]["Status"] == "SUCCEEDED"
    pp_id = started["RecordDetail"]["ProvisionedProductId"]
    client.describe_provisioned_product(Id=pp_id)
    client.get_provisioned_product_outputs(ProvisionedProductId=pp_id)
    assert client.search_provisioned_products(Filters={"SearchQuery": ["name:http-studio"]})["TotalResultsCount"] == 1
    client.scan_provisioned_products()
    plan = client.create_provisioned_product_plan(
        PlanName="http-plan", PlanType="CLOUDFORMATION", ProductId=domain["ProductId"],
        ProvisioningArtifactId=version, ProvisionedProductName="http-studio",
        ProvisioningParameters=[{"Key": "AppNetworkAccessType", "Value": "PublicInternetOnly"}])
    assert client.describe_provisioned_product_plan(PlanId=plan["PlanId"])["ResourceChanges"]
    client.list_provisioned_product_plans(ProvisionProductId=pp_id)
    client.execute_provisioned_product_plan(PlanId=plan["PlanId"])
    client.delete_provisioned_product_plan(PlanId=plan["PlanId"])
    client.update_provisioned_product(ProvisionedProductId=pp_id, ProvisioningParameters=[
        {"Key": "DefaultInstanceType", "Value": "ml.m5.large"}])
    client.list_record_history(SearchFilter={"Key": "provisionedproduct", "Value": pp_id})
    client.terminate_provisioned_product(ProvisionedProductId=pp_id)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_provisioned_product(Id=pp_id)
    with pytest.raises(client.exceptions.InvalidParametersException):
        client.provision_product(ProductId=domain["ProductId"], ProvisioningArtifactId=version,
                                 ProvisionedProductName="http-bad", ProvisioningParameters=values(Size="xl"))

    admin = aws("servicecatalog")
    portfolio = admin.create_portfolio(DisplayName="HTTP tools", ProviderName="Platform")["PortfolioDetail"]
    created = admin.create_product(Name="HTTP product", Owner="Platform", ProductType="CLOUD_FORMATION_TEMPLATE",
                                   ProvisioningArtifactParameters={"Name": "v1", "Info": {
                                       "LoadTemplateFromURL": "https://s3.amazonaws.com/t/http.yaml"}})
    product_id = created["ProductViewDetail"]["ProductViewSummary"]["ProductId"]
    admin.associate_product_with_portfolio(ProductId=product_id, PortfolioId=portfolio["Id"])
    admin.associate_principal_with_portfolio(PortfolioId=portfolio["Id"], PrincipalType="IAM",
                                             PrincipalARN=f"arn:aws:iam::{MANAGEMENT}:role/Admin")
    assert admin.list_principals_for_portfolio(PortfolioId=portfolio["Id"])["Principals"]
    admin.describe_portfolio(Id=portfolio["Id"])
    assert portfolio["Id"] in {p["Id"] for p in admin.list_portfolios()["PortfolioDetails"]}
    admin.describe_product_as_admin(Id=product_id)
    admin.search_products_as_admin(PortfolioId=portfolio["Id"])


CLI_DRIVER = """
import contextlib, io, json, sys
from awscli.clidriver import create_clidriver
driver, results = create_clidriver(), []
for args in json.loads(sys.argv[1]):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = driver.main(args)
    results.append({"code": code, "output": json.loads(out.getvalue()) if out.getvalue().strip() else None})
print(json.dumps(results))
"""


def run_cli(url: str, commands: list[list[str]]) -> list[dict]:
    """Run AWS CLI commands (``aws --endpoint-url url ...``) with the management account's dummy
    credentials, all in one process (one interpreter start instead of one per command)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_PAGER="")
    argv = [["--endpoint-url", url, "--output", "json", "servicecatalog", *command] for command in commands]
    completed = subprocess.run([sys.executable, "-c", CLI_DRIVER, json.dumps(argv)], env=env, capture_output=True,
                               text=True, timeout=120, check=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_every_operation_through_the_aws_cli(aws, sandbox_server):
    """Ids come from boto3 first, so the CLI commands do not depend on each other."""
    client = aws("servicecatalog")
    domain = next(p for p in client.search_products()["ProductViewSummaries"] if p["Name"] == DOMAIN)
    version = next(v["Id"] for v in client.describe_product(Id=domain["ProductId"])["ProvisioningArtifacts"]
                   if v["Guidance"] == "DEFAULT")

    def studio(name: str) -> dict:
        return client.provision_product(ProductId=domain["ProductId"], ProvisioningArtifactId=version,
                                        ProvisionedProductName=name, ProvisioningParameters=domain_parameters(
                                            DomainName=name))["RecordDetail"]

    updated, terminated, planned = studio("cli-update"), studio("cli-terminate"), studio("cli-plan")
    plans = [client.create_provisioned_product_plan(
        PlanName=f"cli-{use}", PlanType="CLOUDFORMATION", ProductId=domain["ProductId"], ProvisioningArtifactId=version,
        ProvisionedProductName="cli-plan", ProvisioningParameters=[{"Key": "NetworkIsolation", "Value": "NO"}]
    )["PlanId"] for use in ("execute", "delete")]
    client.describe_record(Id=planned["RecordId"])
    portfolio = client.create_portfolio(DisplayName="CLI tools", ProviderName="Platform")["PortfolioDetail"]["Id"]
    product_id = client.create_product(Name="CLI product", Owner="Platform", ProductType="CLOUD_FORMATION_TEMPLATE",
                                       ProvisioningArtifactParameters={"Info": {
                                           "LoadTemplateFromURL": "https://s3.amazonaws.com/t/cli.yaml"}}
                                       )["ProductViewDetail"]["ProductViewSummary"]["ProductId"]
    domain_parameters_json = json.dumps(domain_parameters(DomainName="cli-new"))
    commands = [
        ["create-portfolio", "--display-name", "CLI more", "--provider-name", "Platform"],
        ["describe-portfolio", "--id", portfolio],
        ["list-portfolios"],
        ["create-product", "--name", "CLI other", "--owner", "Platform", "--product-type", "CLOUD_FORMATION_TEMPLATE",
         "--provisioning-artifact-parameters",
         '{"Info": {"LoadTemplateFromURL": "https://s3.amazonaws.com/t/o.yaml"}}'],
        ["describe-product-as-admin", "--id", product_id],
        ["associate-product-with-portfolio", "--product-id", product_id, "--portfolio-id", portfolio],
        ["associate-principal-with-portfolio", "--portfolio-id", portfolio, "--principal-type", "IAM_PATTERN",
         "--principal-arn", "arn:aws:iam:::role/PortalExecutionRole"],
        ["list-principals-for-portfolio", "--portfolio-id", portfolio],
        ["search-products-as-admin", "--portfolio-id", portfolio],
        ["search-products", "--filters", "FullTextSearch=Studio"],
        ["describe-product", "--id", domain["ProductId"]],
        ["list-launch-paths", "--product-id", domain["ProductId"]],
        ["describe-provisioning-parameters", "--product-id", domain["ProductId"],
         "--provisioning-artifact-id", version],
        ["list-provisioning-artifacts", "--product-id", domain["ProductId"]],
        ["describe-provisioning-artifact", "--product-id", domain["ProductId"], "--provisioning-artifact-id", version],
        ["provision-product", "--product-id", domain["ProductId"], "--provisioning-artifact-id", version,
         "--provisioned-product-name", "cli-new", "--provisioning-parameters", domain_parameters_json],
        ["describe-record", "--id", updated["RecordId"]],
        ["list-record-history"],
        ["describe-provisioned-product", "--id", updated["ProvisionedProductId"]],
        ["search-provisioned-products", "--filters", "SearchQuery=name:cli-update"],
        ["scan-provisioned-products"],
        ["get-provisioned-product-outputs", "--provisioned-product-name", "cli-update"],
        ["update-provisioned-product", "--provisioned-product-id", updated["ProvisionedProductId"],
         "--provisioning-parameters", "Key=NetworkIsolation,Value=NO"],
        ["terminate-provisioned-product", "--provisioned-product-id", terminated["ProvisionedProductId"]],
        ["describe-provisioned-product-plan", "--plan-id", plans[0]],
        ["list-provisioned-product-plans"],
        ["execute-provisioned-product-plan", "--plan-id", plans[0]],
        ["delete-provisioned-product-plan", "--plan-id", plans[1]],
        ["create-provisioned-product-plan", "--plan-name", "cli-create", "--plan-type", "CLOUDFORMATION",
         "--product-id", domain["ProductId"], "--provisioning-artifact-id", version,
         "--provisioned-product-name", "cli-plan"],
    ]
    results = run_cli(sandbox_server.url, commands)
    failed = [(command[0], result) for command, result in zip(commands, results) if result["code"] != 0]
    assert failed == []
    by_command = {command[0]: result["output"] for command, result in zip(commands, results)}
    assert by_command["provision-product"]["RecordDetail"]["ProvisionedProductName"] == "cli-new"
    assert by_command["search-provisioned-products"]["TotalResultsCount"] == 1
    assert by_command["describe-record"]["RecordDetail"]["Status"] == "SUCCEEDED"
