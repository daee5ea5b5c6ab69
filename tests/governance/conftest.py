"""Governance fixtures: the world with the fraud team's test/prod accounts and the central account,
eager tasks, and helpers that register model versions in the sandbox as a named person would."""
import uuid

import pytest

from portal.permissions import SYSTEM
from tests.conftest import tasks_in_process

DEV = "333333333311"
CENTRAL = "222222222203"
SPEC = {"Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                        "ModelDataUrl": "s3://sagemaker-us-east-1-333333333311/m/pipelines-x1/train/output/model.tar.gz"}],
        "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]}


@pytest.fixture
def gov_world(world):
    return link_accounts(world)


def link_accounts(world):
    """The fraud team's test and prod accounts and the shared-services (central registry) account."""
    from portal import services as portal_services
    for env, suffix in (("test", "2"), ("prod", "3")):
        portal_services.account_link(actor=SYSTEM, account_id=f"33333333331{suffix}", name=f"fraud-detection-{env}",
                                     environment=env, team=world.team)
    portal_services.account_link(actor=SYSTEM, account_id=CENTRAL, name="shared-services", environment="shared",
                                 team=None)
    return world


@pytest.fixture
def eager(settings):
    """Tasks run in-process at once; a retry runs again at once (as a worker would, without the
    countdown). Failures are seen through the rows the tests assert on."""
    with tasks_in_process(settings, propagate=False) as app:
        yield app


def new_group_name(prefix: str = "gov") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def register_version(group: str, *, as_user: str = "ds", metrics=None, account: str = DEV,
                     description: str = "Retrained with the new merchant features.") -> str:
    """Register a version in the sandbox dev registry as ``as_user`` would (the IAM session name is
    the user's name, so CreatedBy identifies them). Creates the group on first use."""
    from portal.aws import client
    sagemaker = client("sagemaker", account, session_name=as_user)
    try:
        sagemaker.describe_model_package_group(ModelPackageGroupName=group)
    except sagemaker.exceptions.ClientError:
        sagemaker.create_model_package_group(ModelPackageGroupName=group, ModelPackageGroupDescription="test model",
                                             Tags=[{"Key": "team", "Value": "fraud-detection"}])
    return sagemaker.create_model_package(
        ModelPackageGroupName=group, InferenceSpecification=SPEC, ModelPackageDescription=description,
        MetadataProperties={"GeneratedBy": f"arn:aws:sagemaker:us-east-1:{account}:pipeline/{group}/execution/e1"},
        CustomerMetadataProperties=metrics or {"auc": "0.91", "f1": "0.80", "dataset": "s3://lake/x/"},
    )["ModelPackageArn"]


def sync_dev(world):
    from governance import services
    services.registry_sync_account(account=world.account, full=True)
