"""The sandbox's SageMaker records lineage for packages and endpoints as SageMaker does, so the
portal's lineage summary has something to count (sandbox/services/sagemaker*.py)."""
import pytest

from sandbox.core.engine import Config, Sandbox

DEV = "333333333311"
SPEC = {"Containers": [{"Image": "img/xgb:1", "ModelDataUrl": "s3://b/m/pipelines-e1/train/output/model.tar.gz"}]}


@pytest.fixture(scope="module")
def engine():
    return Sandbox(Config(provision_seconds=0, account_seconds=0, domain_seconds=0, export_seconds=0))


def _entities(engine, source_uri):
    store = engine.state["sagemaker"]["lineage"][DEV]["us-east-1"]
    return {(e["kind"], e["type"]) for e in store["entities"].values() if e["source"]["SourceUri"] == source_uri}


def test_create_model_package_records_its_lineage(engine):
    arn = engine.invoke("sagemaker", "CreateModelPackage", {
        "ModelPackageGroupName": "fraud-xgboost", "InferenceSpecification": SPEC,
        "MetadataProperties": {"GeneratedBy": f"arn:aws:sagemaker:us-east-1:{DEV}:pipeline/p/execution/e1"}},
        account_id=DEV)["ModelPackageArn"]
    assert _entities(engine, arn) == {("artifact", "Model"), ("action", "Approval")}
    assert ("artifact", "Image") in _entities(engine, "img/xgb:1")
    assert ("trial_component", "TrainingJob") in _entities(
        engine, f"arn:aws:sagemaker:us-east-1:{DEV}:training-job/pipelines-e1-train")


def test_create_endpoint_records_deployment_lineage_and_has_its_own_duration():
    engine = Sandbox(Config(provision_seconds=0, account_seconds=0, domain_seconds=60, export_seconds=0,
                            endpoint_seconds=0))
    arn = engine.invoke("sagemaker", "CreateModelPackage", {"ModelPackageGroupName": "fraud-xgboost",
                                                            "InferenceSpecification": SPEC}, account_id=DEV)["ModelPackageArn"]
    engine.invoke("sagemaker", "CreateModel", {"ModelName": "m1", "PrimaryContainer": {"ModelPackageName": arn}},
                  account_id=DEV)
    engine.invoke("sagemaker", "CreateEndpointConfig", {"EndpointConfigName": "c1", "ProductionVariants": [
        {"VariantName": "a", "ModelName": "m1", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}]},
        account_id=DEV)
    endpoint = engine.invoke("sagemaker", "CreateEndpoint", {"EndpointName": "e1", "EndpointConfigName": "c1"},
                             account_id=DEV)["EndpointArn"]
    assert _entities(engine, endpoint) == {("context", "Endpoint")}
    assert ("action", "ModelDeployment") in _entities(engine, f"arn:aws:sagemaker:us-east-1:{DEV}:model/m1")
    # endpoint_seconds=0 while domain_seconds=60: the endpoint is InService at once.
    assert engine.invoke("sagemaker", "DescribeEndpoint", {"EndpointName": "e1"},
                         account_id=DEV)["EndpointStatus"] == "InService"
