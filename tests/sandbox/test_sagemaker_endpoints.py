"""SageMaker hosting in the sandbox: models, endpoint configurations and endpoints, their
asynchronous status, deployments from the central registry and their cost meters."""
import pytest

from sandbox.core import org_layout
from sandbox.core.engine import Config, Sandbox
from tests.sandbox.helpers import service_caller

FRAUD_TEST = org_layout.team_account("fraud-detection", "test")
CENTRAL = org_layout.SHARED_SERVICES_ACCOUNT_ID
DATA_LAKE = "222222222204"
ROLE = f"arn:aws:iam::{FRAUD_TEST}:role/AmazonSageMaker-ExecutionRole"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
TAGS = [{"Key": "team", "Value": "fraud-detection"}, {"Key": "environment", "Value": "test"}]


@pytest.fixture
def slow_engine():
    """An engine where endpoints take 60 s to deploy or delete (moved with the clock)."""
    return Sandbox(Config(provision_seconds=0, account_seconds=0, domain_seconds=60, export_seconds=0))


call, error_of = service_caller("sagemaker", FRAUD_TEST)


def deploy_config(engine, name, instance_type="ml.m5.large", count=2, model="fraud-model"):
    if model.lower() not in engine.state.get("sagemaker", {}).get("models", {}).get(FRAUD_TEST, {}).get("us-east-1", {}):
        call(engine, "CreateModel", ModelName=model, ExecutionRoleArn=ROLE,
             PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://bucket/model.tar.gz"})
    return call(engine, "CreateEndpointConfig", EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": model, "InstanceType": instance_type,
        "InitialInstanceCount": count}])["EndpointConfigArn"]


def meters_of(engine, arn_prefix):
    return [meter for key, meter in engine.state.get("meters", {}).items() if key.startswith(arn_prefix)]


def test_models_and_configs(engine):
    arn = call(engine, "CreateModel", ModelName="Fraud-Model", ExecutionRoleArn=ROLE,
               PrimaryContainer={"Image": IMAGE}, Tags=TAGS)["ModelArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:{FRAUD_TEST}:model/fraud-model"
    assert call(engine, "DescribeModel", ModelName="fraud-model")["ModelName"] == "Fraud-Model"
    existing = error_of(engine, "CreateModel", ModelName="FRAUD-MODEL", PrimaryContainer={"Image": IMAGE})
    assert existing.message == f'Cannot create already existing model "{arn}".'
    assert error_of(engine, "CreateModel", ModelName="empty").code == "ValidationException"
    config_arn = deploy_config(engine, "fraud-config", model="Fraud-Model")
    described = call(engine, "DescribeEndpointConfig", EndpointConfigName="fraud-config")
    assert described["EndpointConfigArn"] == config_arn
    assert described["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"
    missing_model = error_of(engine, "CreateEndpointConfig", EndpointConfigName="c2", ProductionVariants=[
        {"VariantName": "v", "ModelName": "nope", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    assert missing_model.message.startswith('Could not find model "')
    bad_type = error_of(engine, "CreateEndpointConfig", EndpointConfigName="c3", ProductionVariants=[
        {"VariantName": "v", "ModelName": "fraud-model", "InstanceType": "ml.huge", "InitialInstanceCount": 1}])
    assert "enum value set" in bad_type.message
    call(engine, "DeleteModel", ModelName="fraud-model")
    assert error_of(engine, "DescribeModel", ModelName="fraud-model").code == "ValidationException"


def test_endpoint_is_creating_then_in_service_and_accrues_its_instances(slow_engine):
    deploy_config(slow_engine, "fraud-config", count=2)
    arn = call(slow_engine, "CreateEndpoint", EndpointName="fraud-xgboost-test", EndpointConfigName="fraud-config",
               Tags=TAGS)["EndpointArn"]
    creating = call(slow_engine, "DescribeEndpoint", EndpointName="fraud-xgboost-test")
    assert creating["EndpointStatus"] == "Creating"
    assert creating["ProductionVariants"][0]["VariantStatus"][0]["Status"] == "Creating"
    slow_engine.advance_clock(61)
    ready = call(slow_engine, "DescribeEndpoint", EndpointName="fraud-xgboost-test")
    assert ready["EndpointStatus"] == "InService" and ready["EndpointConfigName"] == "fraud-config"
    [variant] = ready["ProductionVariants"]
    assert variant["CurrentInstanceCount"] == variant["DesiredInstanceCount"] == 2
    assert variant["DeployedImages"][0]["SpecifiedImage"] == IMAGE
    [meter] = meters_of(slow_engine, arn)
    assert meter["hourly_usd"] == pytest.approx(0.23) and meter["usage_type"] == "USE1-Host:ml.m5.large"
    assert meter["tags"] == {"team": "fraud-detection", "environment": "test"}
    assert error_of(slow_engine, "CreateEndpoint", EndpointName="Fraud-XGBoost-Test",
                    EndpointConfigName="fraud-config").message.startswith("Cannot create already existing endpoint")
    assert error_of(slow_engine, "CreateEndpoint", EndpointName="other",
                    EndpointConfigName="missing").message.startswith('Could not find endpoint configuration "')


def test_update_deploys_a_new_configuration_and_switches_meters(slow_engine):
    deploy_config(slow_engine, "config-v1", "ml.m5.large", 1)
    deploy_config(slow_engine, "config-v2", "ml.g4dn.xlarge", 2)
    arn = call(slow_engine, "CreateEndpoint", EndpointName="fraud", EndpointConfigName="config-v1")["EndpointArn"]
    assert error_of(slow_engine, "UpdateEndpoint", EndpointName="fraud",
                    EndpointConfigName="config-v2").message == f'Cannot update in-progress endpoint "{arn}".'
    slow_engine.advance_clock(61)
    call(slow_engine, "UpdateEndpoint", EndpointName="fraud", EndpointConfigName="config-v2")
    updating = call(slow_engine, "DescribeEndpoint", EndpointName="fraud")
    assert updating["EndpointStatus"] == "Updating" and updating["EndpointConfigName"] == "config-v1"
    pending = updating["PendingDeploymentSummary"]
    assert pending["EndpointConfigName"] == "config-v2"
    assert pending["ProductionVariants"][0]["InstanceType"] == "ml.g4dn.xlarge"
    slow_engine.advance_clock(61)
    updated = call(slow_engine, "DescribeEndpoint", EndpointName="fraud")
    assert updated["EndpointStatus"] == "InService" and updated["EndpointConfigName"] == "config-v2"
    assert "PendingDeploymentSummary" not in updated
    meters = meters_of(slow_engine, arn)
    running = sorted((m["hourly_usd"], m["end"] is None) for m in meters)
    assert running == [(0.115, False), (1.472, True)]      # the old variant stopped, the new one accrues


def test_delete_endpoint_stops_meters_and_frees_the_name(slow_engine):
    deploy_config(slow_engine, "fraud-config")
    arn = call(slow_engine, "CreateEndpoint", EndpointName="fraud", EndpointConfigName="fraud-config")["EndpointArn"]
    slow_engine.advance_clock(61)
    call(slow_engine, "DeleteEndpoint", EndpointName="fraud")
    assert call(slow_engine, "DescribeEndpoint", EndpointName="fraud")["EndpointStatus"] == "Deleting"
    assert all(meter["end"] is not None for meter in meters_of(slow_engine, arn))
    slow_engine.advance_clock(61)
    assert error_of(slow_engine, "DescribeEndpoint", EndpointName="fraud").message == f'Could not find endpoint "{arn}".'
    assert call(slow_engine, "ListEndpoints")["Endpoints"] == []
    call(slow_engine, "CreateEndpoint", EndpointName="fraud", EndpointConfigName="fraud-config")
    assert len(meters_of(slow_engine, arn)) == 2


def test_list_endpoints_filters_and_sorts(engine):
    deploy_config(engine, "fraud-config")
    for name in ("b-endpoint", "a-endpoint", "c-other"):
        call(engine, "CreateEndpoint", EndpointName=name, EndpointConfigName="fraud-config")
    names = lambda **params: [e["EndpointName"] for e in call(engine, "ListEndpoints", **params)["Endpoints"]]
    assert names() == ["c-other", "a-endpoint", "b-endpoint"]           # newest first by default
    assert names(SortBy="Name", SortOrder="Ascending", NameContains="endpoint") == ["a-endpoint", "b-endpoint"]
    assert names(StatusEquals="InService", MaxResults=1) == ["c-other"]
    assert names(StatusEquals="Creating") == []
    first = call(engine, "ListEndpoints", MaxResults=2)
    assert [e["EndpointName"] for e in call(engine, "ListEndpoints", MaxResults=2, NextToken=first["NextToken"])[
        "Endpoints"]] == ["b-endpoint"]


def test_models_can_come_from_the_central_registry_when_its_policy_allows(engine):
    package = f"arn:aws:sagemaker:us-east-1:{CENTRAL}:model-package/fraud-xgboost/1"
    call(engine, "CreateModel", ModelName="from-central", ExecutionRoleArn=ROLE,
         PrimaryContainer={"ModelPackageName": package})
    assert call(engine, "DescribeModel", ModelName="from-central")["PrimaryContainer"]["ModelPackageName"] == package
    denied = error_of(engine, "CreateModel", DATA_LAKE, ModelName="from-central", PrimaryContainer={"ModelPackageName": package})
    assert denied.code == "AccessDeniedException"


def test_endpoint_tags(engine):
    deploy_config(engine, "fraud-config")
    arn = call(engine, "CreateEndpoint", EndpointName="fraud", EndpointConfigName="fraud-config", Tags=TAGS)["EndpointArn"]
    call(engine, "AddTags", ResourceArn=arn, Tags=[{"Key": "model", "Value": "fraud-xgboost"}])
    assert call(engine, "ListTags", ResourceArn=arn)["Tags"] == TAGS + [{"Key": "model", "Value": "fraud-xgboost"}]
