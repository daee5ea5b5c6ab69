"""The SageMaker part of the boot seed: the teams' dev model registries and the central registry.

Every team dev account gets two model package groups with 2-4 versions: earlier versions Approved
or Rejected by the team lead, the newest PendingManualApproval; each with model quality metrics
(an S3 report, and the headline values in CustomerMetadataProperties for the portal to show),
the pipeline execution that generated it and the data scientist who registered it. The shared
services account holds the central registry: one group per team model, a resource policy that
lets the team accounts use it, and an already promoted version for two models, and a model card
per model (Draft, waiting for review, or Approved by the governance approver). All values and
times are fixed, so every boot (and the portal's demo data) sees the same registry. The people
(IAM session names) are the demo organization's users: ``<team>-ds``, ``<team>-mle`` register,
``<team>-lead`` reviews, ``approver`` governs.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime, timedelta

from sandbox.core.org_layout import HOME_REGION, SHARED_SERVICES_ACCOUNT_ID, TEAMS, team_account
from sandbox.core.registry import seeder
from sandbox.services.sagemaker import add_model_package, add_model_package_group
from sandbox.services.sagemaker_cards import card_arn, validate_content
from sandbox.services.sagemaker_common import records

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
              ("fraud-detection-ds", "fraud-detection-mle"), "fraud-detection-lead"),
    SeedModel("fraud-detection", "fraud-graph-nn", "Graph neural network over the card-merchant-device graph",
              f"{ECR}/pytorch-inference:2.1-cpu-py310", "2026-07-14T14:40:00+00:00",
              ("Approved", "PendingManualApproval"),
              ({"auc": "0.921", "f1": "0.83"}, {"auc": "0.934", "f1": "0.85"}),
              ("fraud-detection-mle", "fraud-detection-ds"), "fraud-detection-lead"),
    SeedModel("credit-risk", "credit-scoring", "Application credit score for consumer lending",
              f"{ECR}/sagemaker-xgboost:1.7-1", "2026-05-05T09:05:00+00:00",
              ("Approved", "Rejected", "PendingManualApproval"),
              ({"auc": "0.781", "gini": "0.562", "ks": "0.421"}, {"auc": "0.776", "gini": "0.552", "ks": "0.409"},
               {"auc": "0.794", "gini": "0.588", "ks": "0.437"}),
              ("credit-risk-ds", "credit-risk-mle"), "credit-risk-lead"),
    SeedModel("credit-risk", "pd-model", "12-month probability of default for the retail portfolio",
              f"{ECR}/sagemaker-scikit-learn:1.2-1-cpu-py3", "2026-08-11T11:30:00+00:00",
              ("Approved", "PendingManualApproval"),
              ({"auc": "0.812", "brier": "0.071"}, {"auc": "0.823", "brier": "0.068"}),
              ("credit-risk-mle", "credit-risk-ds"), "credit-risk-lead"),
    SeedModel("marketing-ml", "churn-propensity", "Propensity of a subscriber to churn within 60 days",
              f"{ECR}/sagemaker-xgboost:1.7-1", "2026-06-02T08:20:00+00:00",
              ("Rejected", "Approved", "PendingManualApproval"),
              ({"auc": "0.702", "f1": "0.48"}, {"auc": "0.744", "f1": "0.55"}, {"auc": "0.761", "f1": "0.58"}),
              ("marketing-ml-ds", "marketing-ml-mle"), "marketing-ml-lead"),
    SeedModel("marketing-ml", "next-best-offer", "Ranks the offers a customer is most likely to accept",
              f"{ECR}/pytorch-inference:2.1-cpu-py310", "2026-08-25T15:10:00+00:00",
              ("Approved", "PendingManualApproval"),
              ({"ndcg@10": "0.412", "hit-rate": "0.287"}, {"ndcg@10": "0.436", "hit-rate": "0.301"}),
              ("marketing-ml-mle", "marketing-ml-ds"), "marketing-ml-lead"),
)
# (group, dev version) -> central approval status: the versions already promoted.
PROMOTED = {("fraud-xgboost", 3): "Approved", ("credit-scoring", 1): "PendingManualApproval"}
GOVERNANCE_APPROVER = "approver"
# Model card of each model in the central account: its status history, and its risk rating.
CARDS = {"fraud-xgboost": (("Draft", "PendingReview", "Approved"), "High"),
         "fraud-graph-nn": (("Draft",), "High"),
         "credit-scoring": (("Draft", "PendingReview"), "High"),
         "pd-model": (("Draft",), "Medium"),
         "churn-propensity": (("Draft", "PendingReview", "Approved"), "Low"),
         "next-best-offer": (("Draft", "PendingReview"), "Low")}
CARD_EDIT_INTERVAL = timedelta(days=1, hours=4)
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


def _card_content(model: SeedModel, newest: dict) -> str:
    """The card of ``model``, describing its newest dev version (the one waiting for review)."""
    statuses, risk = CARDS[model.group]
    content = json.dumps({
        "model_overview": {"model_name": model.group, "model_description": model.description,
                           "model_owner": model.team, "model_creator": model.registered_by[0],
                           "model_version": newest["ModelPackageVersion"],
                           "inference_environment": {"container_image": [model.image]}},
        "intended_uses": {"purpose_of_model": model.description, "risk_rating": risk},
        "model_package_details": {"model_package_arn": newest["ModelPackageArn"],
                                  "model_package_group_name": model.group,
                                  "model_package_description": newest["ModelPackageDescription"]},
        "additional_information": {"caveats_and_recommendations":
                                   "Monitor input drift monthly; retrain when the quality metric drops."},
    })
    validate_content(content)
    return content


def _seed_card(ctx, model: SeedModel, dev_versions: dict[int, dict]) -> None:
    """The model's card in the central account: one version per status it went through."""
    newest = dev_versions[max(dev_versions)]
    statuses, _risk = CARDS[model.group]
    content = _card_content(model, newest)
    written = datetime.fromisoformat(newest["CreationTime"]) + timedelta(hours=6)
    author = _identity(SHARED_SERVICES_ACCOUNT_ID, "DataScientist", model.registered_by[0])
    governor = _identity(SHARED_SERVICES_ACCOUNT_ID, "GovernanceApprover", GOVERNANCE_APPROVER)
    name = f"{model.group}-card"
    records(ctx, "cards", SHARED_SERVICES_ACCOUNT_ID, HOME_REGION)[name] = {
        "name": name, "arn": card_arn(HOME_REGION, SHARED_SERVICES_ACCOUNT_ID, name), "created": written.isoformat(),
        "security_config": None,
        "tags": [{"Key": "team", "Value": model.team}, {"Key": "model", "Value": model.group}],
        "versions": [{"version": number, "status": status, "content": content,
                      "time": (written + (number - 1) * CARD_EDIT_INTERVAL).isoformat(),
                      "by": governor if status == "Approved" else author}
                     for number, status in enumerate(statuses, start=1)],
    }


@seeder(order=30)
def seed_model_registries(ctx) -> None:
    """Team dev registries, the central registry and the model cards (no events: nothing
    happens at boot)."""
    for model in MODELS:
        dev_versions = _seed_team_registry(ctx, model)
        _seed_central_registry(ctx, model, dev_versions)
        _seed_card(ctx, model, dev_versions)
