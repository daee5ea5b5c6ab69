"""SageMaker Studio in the sandbox: domains, user profiles and projects, their asynchronous
status, their rules and their cost meters."""
import pytest

from sandbox.core import org_layout
from sandbox.core.engine import Config, Sandbox
from sandbox.core.errors import AwsError

FRAUD_DEV = org_layout.team_account("fraud-detection", "dev")
ROLE = f"arn:aws:iam::{FRAUD_DEV}:role/AmazonSageMaker-ExecutionRole"
DOMAIN_TAGS = [{"Key": "team", "Value": "fraud-detection"}, {"Key": "environment", "Value": "dev"}]


@pytest.fixture
def slow_engine():
    """An engine where Studio resources take 60 s to create or delete (moved with the clock)."""
    return Sandbox(Config(provision_seconds=0, account_seconds=0, domain_seconds=60, export_seconds=0))


def call(engine, operation, **params):
    return engine.invoke("sagemaker", operation, params, account_id=FRAUD_DEV)


def error_of(engine, operation, **params) -> AwsError:
    with pytest.raises(AwsError) as caught:
        call(engine, operation, **params)
    return caught.value


def new_domain(engine, auth_mode="IAM", **params):
    settings = {"DomainName": "fraud-studio", "AuthMode": auth_mode, "DefaultUserSettings": {"ExecutionRole": ROLE},
                "VpcId": "vpc-0a1b2c3d", "SubnetIds": ["subnet-0a1", "subnet-0b2"], "Tags": DOMAIN_TAGS, **params}
    return call(engine, "CreateDomain", **settings)


def meters_of(engine, arn_prefix):
    return [meter for key, meter in engine.state.get("meters", {}).items() if key.startswith(arn_prefix)]


# -- domains ---------------------------------------------------------------------------------
def test_domain_is_pending_then_in_service(slow_engine):
    created = new_domain(slow_engine)
    domain_id = created["DomainId"]
    assert domain_id.startswith("d-") and created["DomainArn"].endswith(f":domain/{domain_id}")
    assert created["Url"] == f"https://{domain_id}.studio.us-east-1.sagemaker.aws"
    described = call(slow_engine, "DescribeDomain", DomainId=domain_id)
    assert described["Status"] == "Pending"
    assert described["DomainName"] == "fraud-studio" and described["AuthMode"] == "IAM"
    assert described["AppNetworkAccessType"] == "PublicInternetOnly"
    assert described["HomeEfsFileSystemId"].startswith("fs-")
    slow_engine.advance_clock(61)
    assert call(slow_engine, "DescribeDomain", DomainId=domain_id)["Status"] == "InService"
    listed = call(slow_engine, "ListDomains")["Domains"]
    assert [(d["DomainId"], d["Status"]) for d in listed] == [(domain_id, "InService")]


def test_domain_rules(engine):
    assert error_of(engine, "DescribeDomain", DomainId="d-missing0000").code == "ResourceNotFound"
    new_domain(engine)
    assert error_of(engine, "CreateDomain", DomainName="fraud-studio", AuthMode="IAM", VpcId="vpc-1",
                    SubnetIds=["subnet-1"], DefaultUserSettings={"ExecutionRole": ROLE}).code == "ResourceInUse"
    assert error_of(engine, "CreateDomain", DomainName="x", AuthMode="IAM",
                    DefaultUserSettings={"ExecutionRole": ROLE}).code == "ValidationException"
    assert error_of(engine, "CreateDomain", DomainName="x", AuthMode="IAM", DefaultUserSettings={},
                    VpcId="vpc-1", SubnetIds=["subnet-1"]).code == "ValidationException"
    vpc_only = error_of(engine, "CreateDomain", DomainName="x", AuthMode="IAM", DefaultUserSettings={"ExecutionRole": ROLE},
                        VpcId="vpc-1", SubnetIds=["subnet-1"], AppNetworkAccessType="VpcOnly")
    assert "SecurityGroups" in vpc_only.message
    assert error_of(engine, "CreateDomain", DomainName="x", AuthMode="Kerberos",
                    DefaultUserSettings={"ExecutionRole": ROLE}).code == "ValidationException"


def test_domain_update_and_delete(slow_engine):
    domain_id = new_domain(slow_engine)["DomainId"]
    pending = error_of(slow_engine, "UpdateDomain", DomainId=domain_id, DefaultUserSettings={"ExecutionRole": ROLE})
    assert pending.code == "ResourceInUse"
    slow_engine.advance_clock(61)
    call(slow_engine, "UpdateDomain", DomainId=domain_id, DefaultUserSettings={"ExecutionRole": ROLE + "2"},
         DomainSettingsForUpdate={"ExecutionRoleIdentityConfig": "USER_PROFILE_NAME"})
    updating = call(slow_engine, "DescribeDomain", DomainId=domain_id)
    assert updating["Status"] == "Updating"
    assert updating["DefaultUserSettings"]["ExecutionRole"] == ROLE + "2"
    assert updating["DomainSettings"] == {"ExecutionRoleIdentityConfig": "USER_PROFILE_NAME"}
    slow_engine.advance_clock(61)
    call(slow_engine, "DeleteDomain", DomainId=domain_id)
    assert call(slow_engine, "DescribeDomain", DomainId=domain_id)["Status"] == "Deleting"
    call(slow_engine, "DeleteDomain", DomainId=domain_id)                   # already deleting: no effect
    assert slow_engine.ledger[-1]["effect"] is False
    slow_engine.advance_clock(61)
    assert error_of(slow_engine, "DescribeDomain", DomainId=domain_id).code == "ResourceNotFound"
    assert call(slow_engine, "ListDomains")["Domains"] == []


def test_domain_accrues_efs_cost_until_deleted(engine):
    created = new_domain(engine)
    [meter] = meters_of(engine, created["DomainArn"])
    assert meter["service"] == "Amazon SageMaker" and meter["account"] == FRAUD_DEV
    assert 0 < meter["hourly_usd"] < 0.05 and meter["end"] is None
    assert meter["tags"] == {"team": "fraud-detection", "environment": "dev"}
    call(engine, "DeleteDomain", DomainId=created["DomainId"])
    assert meters_of(engine, created["DomainArn"])[0]["end"] is not None


# -- user profiles ---------------------------------------------------------------------------
def test_user_profile_lifecycle(slow_engine):
    domain_id = new_domain(slow_engine)["DomainId"]
    arn = call(slow_engine, "CreateUserProfile", DomainId=domain_id, UserProfileName="Maria-Lopez",
               Tags=[{"Key": "owner", "Value": "maria"}])["UserProfileArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:{FRAUD_DEV}:user-profile/{domain_id}/maria-lopez"
    described = call(slow_engine, "DescribeUserProfile", DomainId=domain_id, UserProfileName="maria-lopez")
    assert described["Status"] == "Pending" and described["UserProfileName"] == "Maria-Lopez"
    assert described["HomeEfsFileSystemUid"] == "200001"
    duplicate = error_of(slow_engine, "CreateUserProfile", DomainId=domain_id, UserProfileName="MARIA-LOPEZ")
    assert duplicate.code == "ResourceInUse"
    slow_engine.advance_clock(61)
    call(slow_engine, "CreateUserProfile", DomainId=domain_id, UserProfileName="jonas")
    listed = call(slow_engine, "ListUserProfiles", DomainIdEquals=domain_id)["UserProfiles"]
    assert [(p["UserProfileName"], p["Status"]) for p in listed] == [("Maria-Lopez", "InService"), ("jonas", "Pending")]
    assert [p["UserProfileName"] for p in call(slow_engine, "ListUserProfiles", UserProfileNameContains="JON",
                                                SortOrder="Descending")["UserProfiles"]] == ["jonas"]
    assert error_of(slow_engine, "DeleteDomain", DomainId=domain_id).code == "ResourceInUse"
    call(slow_engine, "DeleteUserProfile", DomainId=domain_id, UserProfileName="maria-lopez")
    assert call(slow_engine, "DescribeUserProfile", DomainId=domain_id,
                UserProfileName="Maria-Lopez")["Status"] == "Deleting"
    slow_engine.advance_clock(61)
    assert error_of(slow_engine, "DescribeUserProfile", DomainId=domain_id,
                    UserProfileName="Maria-Lopez").code == "ResourceNotFound"
    call(slow_engine, "CreateUserProfile", DomainId=domain_id, UserProfileName="maria-lopez")   # name free again


def test_sso_domains_need_the_user_identity_and_iam_domains_refuse_it(engine):
    sso = new_domain(engine, auth_mode="SSO")["DomainId"]
    iam = new_domain(engine, DomainName="iam-studio")["DomainId"]
    described = call(engine, "DescribeDomain", DomainId=sso)
    assert described["SingleSignOnManagedApplicationInstanceId"].startswith("ins-")
    assert error_of(engine, "CreateUserProfile", DomainId=sso, UserProfileName="a").code == "ValidationException"
    call(engine, "CreateUserProfile", DomainId=sso, UserProfileName="a", SingleSignOnUserIdentifier="UserName",
         SingleSignOnUserValue="a@example.com")
    assert call(engine, "DescribeUserProfile", DomainId=sso, UserProfileName="a")["SingleSignOnUserValue"] == "a@example.com"
    assert error_of(engine, "CreateUserProfile", DomainId=iam, UserProfileName="b", SingleSignOnUserIdentifier="UserName",
                    SingleSignOnUserValue="b@example.com").code == "ValidationException"
    assert error_of(engine, "CreateUserProfile", DomainId="d-missing0000",
                    UserProfileName="c").code == "ResourceNotFound"


def test_user_profile_accrues_its_studio_instance_with_domain_and_profile_tags(engine):
    domain_id = new_domain(engine)["DomainId"]
    default = call(engine, "CreateUserProfile", DomainId=domain_id, UserProfileName="default",
                   Tags=[{"Key": "owner", "Value": "maria"}])["UserProfileArn"]
    gpu = call(engine, "CreateUserProfile", DomainId=domain_id, UserProfileName="gpu", UserSettings={
        "JupyterLabAppSettings": {"DefaultResourceSpec": {"InstanceType": "ml.g4dn.xlarge"}}})["UserProfileArn"]
    [default_meter] = meters_of(engine, default)
    assert default_meter["hourly_usd"] == 0.05 and default_meter["usage_type"].endswith("ml.t3.medium")
    assert default_meter["tags"] == {"team": "fraud-detection", "environment": "dev", "owner": "maria"}
    assert meters_of(engine, gpu)[0]["hourly_usd"] == 0.736
    call(engine, "DeleteUserProfile", DomainId=domain_id, UserProfileName="default")
    assert meters_of(engine, default)[0]["end"] is not None


# -- projects --------------------------------------------------------------------------------
SC_DETAILS = {"ProductId": "prod-abcdefghijklm", "ProvisioningArtifactId": "pa-abcdefghijklm",
              "ProvisioningParameters": [{"Key": "ModelName", "Value": "fraud-xgboost"}]}


def test_project_moves_from_pending_to_create_completed(slow_engine):
    created = call(slow_engine, "CreateProject", ProjectName="fraud-train", ProjectDescription="build & train",
                   ServiceCatalogProvisioningDetails=SC_DETAILS, Tags=DOMAIN_TAGS)
    assert created["ProjectId"].startswith("p-")
    assert created["ProjectArn"] == f"arn:aws:sagemaker:us-east-1:{FRAUD_DEV}:project/fraud-train"
    statuses = []
    for _ in range(3):
        statuses.append(call(slow_engine, "DescribeProject", ProjectName="fraud-train")["ProjectStatus"])
        slow_engine.advance_clock(31)
    assert statuses == ["Pending", "CreateInProgress", "CreateCompleted"]
    described = call(slow_engine, "DescribeProject", ProjectName="fraud-train")
    assert described["ServiceCatalogProvisioningDetails"] == SC_DETAILS
    assert described["CreatedBy"]["IamIdentity"]["Arn"] == f"arn:aws:iam::{FRAUD_DEV}:root"
    assert call(slow_engine, "ListTags", ResourceArn=created["ProjectArn"])["Tags"] == DOMAIN_TAGS
    call(slow_engine, "DeleteProject", ProjectName="fraud-train")
    assert call(slow_engine, "DescribeProject", ProjectName="fraud-train")["ProjectStatus"] == "DeleteInProgress"
    slow_engine.advance_clock(61)
    assert error_of(slow_engine, "DescribeProject", ProjectName="fraud-train").code == "ValidationException"


def test_project_rules_and_listing(engine):
    call(engine, "CreateProject", ProjectName="beta", ServiceCatalogProvisioningDetails=SC_DETAILS)
    call(engine, "CreateProject", ProjectName="alpha", TemplateProviders=[{"CfnTemplateProvider": {
        "TemplateName": "train", "TemplateURL": "https://bucket.s3.amazonaws.com/train.yaml"}}])
    assert call(engine, "DescribeProject", ProjectName="alpha")["TemplateProviderDetails"] == [
        {"CfnTemplateProviderDetail": {"TemplateName": "train", "TemplateURL": "https://bucket.s3.amazonaws.com/train.yaml"}}]
    assert error_of(engine, "CreateProject", ProjectName="beta",
                    ServiceCatalogProvisioningDetails=SC_DETAILS).code == "ValidationException"
    assert error_of(engine, "CreateProject", ProjectName="x" * 33,
                    ServiceCatalogProvisioningDetails=SC_DETAILS).code == "ValidationException"
    assert error_of(engine, "CreateProject", ProjectName="neither").code == "ValidationException"
    names = [p["ProjectName"] for p in call(engine, "ListProjects", SortBy="Name")["ProjectSummaryList"]]
    assert names == ["alpha", "beta"]
    page = call(engine, "ListProjects", MaxResults=1)
    rest = call(engine, "ListProjects", MaxResults=1, NextToken=page["NextToken"])
    assert [p["ProjectName"] for p in page["ProjectSummaryList"] + rest["ProjectSummaryList"]] == ["beta", "alpha"]
    assert all(p["ProjectStatus"] == "CreateCompleted" for p in page["ProjectSummaryList"])
    assert [p["ProjectName"] for p in call(engine, "ListProjects", NameContains="alp")["ProjectSummaryList"]] == ["alpha"]
