"""The SageMaker part of the boot seed: the teams' dev model registries and the central registry.

Every team dev account gets two model package groups with 2-4 versions: earlier versions Approved
or Rejected by the team lead, the newest PendingManualApproval; each with model quality metrics
(an S3 report, and the headline values in CustomerMetadataProperties for the portal to show),
the pipeline execution that generated it and the data scientist who registered it. The shared
services account holds the central registry: one group per team model, a resource policy that
lets the team accounts use it, and an already promoted version for two models. All values and
times are fixed, so every boot (and the portal's demo data) sees the same registry.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime, timedelta

from sandbox.core.org_layout import HOME_REGION, SHARED_SERVICES_ACCOUNT_ID, TEAMS, team_account
from sandbox.core.registry import seeder
from sandbox.services.sagemaker import add_model_package, add_model_package_group

ECR = "683313688378.dkr.ecr.us-east-1.amazonaws.com"
CENTRAL_ENVIRONMENT = "shared-services"


@dataclasses.dataclass(frozen=True)
class SeedModel:
    team: str
    group: str
    description: str
    image: str
    first_registered: str               # ISO time of version 1; later versions follow every 5 weeks
    statuses: tuple[str, ...]           # approval status of versions 1, 2, ...
    metrics: tuple[dict, ...]           # headline metrics of versions 1, 2, ...
    registered_by: tuple[str, str]      # data scientists (alternating), IAM session names
    approver: str                       # the team lead's IAM session name


MODELS = (
    SeedModel("fraud-detection", "fraud-xgboost", "Card-present and card-not-present transaction fraud classifier",
              f"{ECR}/sagemaker-xgboost:1.7-1", "2026-04-07T10:12:00+00:00",
              ("Rejected", "Approved", "Approved", "PendingManualApproval"),
              ({"auc": "0.874", "f1": "0.71"}, {"auc": "0.896", "f1": "0.77"}, {"auc": "0.905", "f1": "0.79"},
               {"auc": "0.912", "f1": "0.81"}),
              ("maria.lopez", "jonas.weber"), "priya.raman"),
    SeedModel("fraud-detection", "fraud-graph-nn", "Graph neural network over the card-merchant-device graph",
              f"{ECR}/pytorch-inference:2.1-cpu-py310", "2026-07-14T14:40:00+00:00",
              ("Approved", "PendingManualApproval"),
              ({"auc": "0.921", "f1": "0.83"}, {"auc": "0.934", "f1": "0.85"}),
              ("jonas.weber", "maria.lopez"), "priya.raman"),
    SeedModel("credit-risk", "credit-scoring", "Application credit score for consumer lending",
              f"{ECR}/sagemaker-xgboost:1.7-1", "2026-05-05T09:05:00+00:00",
              ("Approved", "Rejected", "PendingManualApproval"),
              ({"auc": "0.781", "gini": "0.562", "ks": "0.421"}, {"auc": "0.776", "gini": "0.552", "ks": "0.409"},
               {"auc": "0.794", "gini": "0.588", "ks": "0.437"}),
              ("chen.li", "amara.okafor"), "daniel.novak"),
    SeedModel("credit-risk", "pd-model", "12-month probability of default for the retail portfolio",
              f"{ECR}/sagemaker-scikit-learn:1.2-1-cpu-py3", "2026-08-11T11:30:00+00:00",
              ("Approved", "PendingManualApproval"),
              ({"auc": "0.812", "brier": "0.071"}, {"auc": "0.823", "brier": "0.068"}),
              ("amara.okafor", "chen.li"), "daniel.novak"),
    SeedModel("marketing-ml", "churn-propensity", "Propensity of a subscriber to churn within 60 days",
              f"{ECR}/sagemaker-xgboost:1.7-1", "2026-06-02T08:20:00+00:00",
              ("Rejected", "Approved", "PendingManualApproval"),
              ({"auc": "0.702", "f1": "0.48"}, {"auc": "0.744", "f1": "0.55"}, {"auc": "0.761", "f1": "0.58"}),
              ("sofia.rossi", "tom.becker"), "lena.park"),
    SeedModel("marketing-ml", "next-best-offer", "Ranks the offers a customer is most likely to accept",
              f"{ECR}/pytorch-inference:2.1-cpu-py310", "2026-08-25T15:10:00+00:00",
              ("Approved", "PendingManualApproval"),
              ({"ndcg@10": "0.412", "hit-rate": "0.287"}, {"ndcg@10": "0.436", "hit-rate": "0.301"}),
              ("tom.becker", "sofia.rossi"), "lena.park"),
)
# (group, dev version) -> central approval status: the versions already promoted.
PROMOTED = {("fraud-xgboost", 3): "Approved", ("credit-scoring", 1): "PendingManualApproval"}
GOVERNANCE_APPROVER = "helena.schmidt"
VERSION_INTERVAL = timedelta(weeks=5)
REVIEW_DELAY = timedelta(days=2, hours=3)


def _digest(*parts, length: int = 12) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:length]


def _identity(account: str, role: str, session: str) -> dict:
    return {"IamIdentity": {"Arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
                            "PrincipalId": f"AROA{_digest(account, role, length=16).upper()}:{session}"}}


def _version_params(model: SeedModel, account: str, version: int) -> dict:
    """CreateModelPackage parameters of a version as the team's training pipeline registers it."""
    bucket = f"s3://sagemaker-{HOME_REGION}-{account}/{model.group}"
    execution = _digest(model.group, version)
    metrics = model.metrics[version - 1]
    return {
        "ModelPackageDescription": f"{model.description} (training run {execution}).",
        "InferenceSpecification": {
            "Containers": [{"Image": model.image, "ImageDigest": f"sha256:{_digest(model.image, length=64)}",
                            "ModelDataUrl": f"{bucket}/pipelines-{execution}/train/output/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
            "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large", "ml.m5.xlarge"],
            "SupportedTransformInstanceTypes": ["ml.m5.xlarge"],
        },
        "ModelMetrics": {"ModelQuality": {"Statistics": {
            "ContentType": "application/json",
            "S3Uri": f"{bucket}/pipelines-{execution}/evaluate/output/evaluation.json"}}},
        "MetadataProperties": {
            "GeneratedBy": (f"arn:aws:sagemaker:{HOME_REGION}:{account}:pipeline/{model.group}-train/"
                            f"execution/{execution}"),
            "Repository": f"https://git.mlplatform.example.com/{model.team}/{model.group}",
            "CommitId": _digest(model.group, "commit", version, length=40),
        },
        "CustomerMetadataProperties": {
            **metrics,
            "dataset": f"s3://data-lake-{HOME_REGION}-222222222204/{model.team}/{model.group}/snapshot={version:03d}/",
            "training-pipeline-execution": execution,
        },
        "ModelApprovalStatus": model.statuses[version - 1],
    }


def _review(package: dict, status: str, reviewed_by: dict, registered_at: datetime, note: str) -> None:
    if status != "PendingManualApproval":
        package.update(ApprovalDescription=note, LastModifiedBy=reviewed_by,
                       LastModifiedTime=(registered_at + REVIEW_DELAY).isoformat())


def _seed_team_registry(ctx, model: SeedModel) -> dict[int, dict]:
    """The model's group and versions in the team's dev account; returns the versions by number."""
    account = team_account(model.team, "dev")
    dev_ctx = dataclasses.replace(ctx, account_id=account, region=HOME_REGION)
    first = datetime.fromisoformat(model.first_registered)
    group = add_model_package_group(
        dev_ctx, model.group, description=model.description,
        tags=[{"Key": "team", "Value": model.team}, {"Key": "environment", "Value": "dev"}],
        created_at=(first - timedelta(days=1)).isoformat(),
        created_by=_identity(account, "DataScientist", model.registered_by[0]))
    versions = {}
    for version, status in enumerate(model.statuses, start=1):
        registered_at = first + (version - 1) * VERSION_INTERVAL
        package = add_model_package(
            dev_ctx, _version_params(model, account, version), group=group, created_at=registered_at.isoformat(),
            created_by=_identity(account, "DataScientist", model.registered_by[(version - 1) % 2]))
        _review(package, status, _identity(account, "TeamLead", model.approver), registered_at,
                "Meets the team's quality bar; promote to the central registry." if status == "Approved"
                else "Below the current production model on recall; retrain with the new features.")
        versions[version] = package
    return versions


def _central_policy(group_arn: str, group: str) -> str:
    """Team dev accounts may register and read versions; test and prod accounts may read and deploy."""
    def principals(environment: str) -> list[str]:
        return [f"arn:aws:iam::{team_account(team, environment)}:root" for team in TEAMS]
    packages = f"arn:aws:sagemaker:{HOME_REGION}:{SHARED_SERVICES_ACCOUNT_ID}:model-package/{group}/*"
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "TeamDevAccountsRegister", "Effect": "Allow", "Principal": {"AWS": principals("dev")},
         "Action": ["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
         "Resource": [group_arn, packages]},
        {"Sid": "DeploymentAccountsRead", "Effect": "Allow",
         "Principal": {"AWS": principals("test") + principals("prod")},
         "Action": ["sagemaker:DescribeModelPackageGroup", "sagemaker:DescribeModelPackage",
                    "sagemaker:ListModelPackages"],
         "Resource": [group_arn, packages]},
    ]})


def _seed_central_registry(ctx, model: SeedModel, dev_versions: dict[int, dict]) -> None:
    central_ctx = dataclasses.replace(ctx, account_id=SHARED_SERVICES_ACCOUNT_ID, region=HOME_REGION)
    first = datetime.fromisoformat(model.first_registered)
    group = add_model_package_group(
        central_ctx, model.group, description=f"{model.description} (central registry)",
        tags=[{"Key": "team", "Value": model.team}, {"Key": "environment", "Value": CENTRAL_ENVIRONMENT}],
        created_at=(first - timedelta(days=1)).isoformat(),
        created_by=_identity(SHARED_SERVICES_ACCOUNT_ID, "PortalExecutionRole", "ml-platform-portal"))
    group["_resource_policy"] = _central_policy(group["ModelPackageGroupArn"], model.group)
    for (group_name, dev_version), status in PROMOTED.items():
        if group_name != model.group:
            continue
        source = dev_versions[dev_version]
        promoted_at = datetime.fromisoformat(source["LastModifiedTime"]) + timedelta(days=1)
        params = _version_params(model, team_account(model.team, "dev"), dev_version)
        params.update(ModelApprovalStatus=status, SourceUri=source["ModelPackageArn"])
        params["CustomerMetadataProperties"]["source-model-package"] = source["ModelPackageArn"]
        package = add_model_package(
            central_ctx, params, group=group, created_at=promoted_at.isoformat(),
            created_by=_identity(SHARED_SERVICES_ACCOUNT_ID, "PortalExecutionRole", "ml-platform-portal"))
        _review(package, status, _identity(SHARED_SERVICES_ACCOUNT_ID, "GovernanceApprover", GOVERNANCE_APPROVER),
                promoted_at, "Model risk review passed; cleared for deployment.")


@seeder(order=30)
def seed_model_registries(ctx) -> None:
    """Team dev registries and the central registry (no events: nothing happens at boot)."""
    for model in MODELS:
        _seed_central_registry(ctx, model, _seed_team_registry(ctx, model))
