"""The governance app's AWS calls (SageMaker Model Registry, ML lineage, Service Catalog).

The only module of this app that talks to boto3, always through ``portal.aws.client``. Small
functions: plain data in, plain data out. Errors are botocore's ``ClientError``; callers decide.
"""
from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.utils.dateparse import parse_datetime

from portal import aws as portal_aws

AWS_ERRORS = portal_aws.AWS_ERRORS

_clients: dict[tuple, tuple[float, object]] = {}
_CLIENT_TTL = 300.0


def client(service: str, account_id: str | None = None, session_name: str = "ml-platform-portal"):
    """portal.aws.client, kept for a few minutes per (service, account, endpoint): building a boto3
    client costs far more than the calls a sync or a chain step makes with it."""
    import time

    from django.conf import settings
    key = (service, account_id, session_name, settings.AWS_ENDPOINT_URL)
    cached = _clients.get(key)
    if cached and time.monotonic() - cached[0] < _CLIENT_TTL:
        return cached[1]
    made = portal_aws.client(service, account_id, session_name=session_name)
    _clients[key] = (time.monotonic(), made)
    return made


# -- plain data ------------------------------------------------------------------------------
def _time(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return parse_datetime(str(value).replace("Z", "+00:00"))


def _identity(user_context: dict | None) -> str:
    user_context = user_context or {}
    return (user_context.get("IamIdentity", {}).get("Arn") or user_context.get("UserProfileName")
            or user_context.get("UserProfileArn") or "")


def metrics_of(custom_metadata: dict) -> dict[str, str]:
    """The numeric headline metrics among a package's CustomerMetadataProperties (name -> string
    of a Decimal), e.g. {"auc": "0.912", "f1": "0.81"}."""
    metrics = {}
    for key, value in (custom_metadata or {}).items():
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            continue
        if number.is_finite() and len(str(value)) <= 20 and not str(value).isdigit():
            metrics[key] = str(value)
    return metrics


def package_from_aws(described: dict) -> dict:
    """A DescribeModelPackage answer, or an EventBridge event's ``detail``, as the portal's fields."""
    custom = dict(described.get("CustomerMetadataProperties") or {})
    metadata = dict(described.get("MetadataProperties") or {})
    return {
        "arn": described["ModelPackageArn"],
        "group_name": described.get("ModelPackageGroupName") or described["ModelPackageArn"].split("/")[-2],
        "version": int(described.get("ModelPackageVersion") or described["ModelPackageArn"].rsplit("/", 1)[-1]),
        "description": described.get("ModelPackageDescription") or "",
        "approval_status": described.get("ModelApprovalStatus") or "PendingManualApproval",
        "approval_description": described.get("ApprovalDescription") or "",
        "created_at": _time(described.get("CreationTime")),
        "last_modified_at": _time(described.get("LastModifiedTime") or described.get("CreationTime")),
        "created_by_arn": _identity(described.get("CreatedBy")),
        "source": metadata.get("GeneratedBy", ""),
        "metadata_properties": metadata,
        "custom_metadata": custom,
        "metrics": metrics_of(custom),
        "inference_specification": json.loads(json.dumps(described.get("InferenceSpecification") or {}, default=str)),
        "model_metrics": json.loads(json.dumps(described.get("ModelMetrics") or {}, default=str)),
        "source_uri": described.get("SourceUri") or custom.get("source-model-package", ""),
    }


def _pages(call, key: str, **params):
    while True:
        answer = call(**params)
        yield from answer.get(key, [])
        if not answer.get("NextToken"):
            return
        params["NextToken"] = answer["NextToken"]


# -- registry reads --------------------------------------------------------------------------
def list_groups(account_id: str) -> list[dict]:
    """Every model package group of the account: name, arn, description, created_at."""
    sagemaker = client("sagemaker", account_id)
    return [{"name": group["ModelPackageGroupName"], "arn": group["ModelPackageGroupArn"],
             "description": group.get("ModelPackageGroupDescription", ""),
             "created_at": _time(group.get("CreationTime"))}
            for group in _pages(sagemaker.list_model_package_groups, "ModelPackageGroupSummaryList", MaxResults=100)]


def group_tags(account_id: str, group_arn: str) -> dict[str, str]:
    sagemaker = client("sagemaker", account_id)
    return {tag["Key"]: tag["Value"] for tag in _pages(sagemaker.list_tags, "Tags", ResourceArn=group_arn)}


def list_versions(account_id: str, group_name: str) -> list[dict]:
    """The group's versions as summaries: arn, version, approval_status, created_at."""
    sagemaker = client("sagemaker", account_id)
    return [{"arn": summary["ModelPackageArn"], "version": summary.get("ModelPackageVersion"),
             "approval_status": summary.get("ModelApprovalStatus", "PendingManualApproval"),
             "created_at": _time(summary.get("CreationTime"))}
            for summary in _pages(sagemaker.list_model_packages, "ModelPackageSummaryList",
                                  ModelPackageGroupName=group_name, ModelPackageType="Versioned",
                                  SortBy="CreationTime", SortOrder="Ascending", MaxResults=100)]


def describe_version(account_id: str, arn: str) -> dict:
    """DescribeModelPackage as ``package_from_aws`` fields."""
    return package_from_aws(client("sagemaker", account_id).describe_model_package(ModelPackageName=arn))


def describe_version_raw(account_id: str, arn: str) -> dict:
    return client("sagemaker", account_id).describe_model_package(ModelPackageName=arn)


def upstream_dataset_count(account_id: str, package_arn: str) -> int | None:
    """How many DataSet artifacts lead to the package in its account's lineage (None when the
    package has no lineage artifact yet). Two calls: ListArtifacts + QueryLineage."""
    sagemaker = client("sagemaker", account_id)
    artifacts = sagemaker.list_artifacts(SourceUri=package_arn, MaxResults=1).get("ArtifactSummaries", [])
    if not artifacts:
        return None
    answer = sagemaker.query_lineage(StartArns=[artifacts[0]["ArtifactArn"]], Direction="Ascendants",
                                     IncludeEdges=False, Filters={"Types": ["DataSet"]}, MaxDepth=10, MaxResults=50)
    return len(answer.get("Vertices", []))


# -- registry writes -------------------------------------------------------------------------
def set_approval(account_id: str, arn: str, *, status: str | None, description: str, client_token: str,
                 metadata: dict | None = None) -> None:
    """UpdateModelPackage with the portal's decision; ``client_token`` makes a repeat a no-op."""
    params = {"ModelPackageArn": arn, "ApprovalDescription": description[:1024], "ClientToken": client_token[:36]}
    if status:
        params["ModelApprovalStatus"] = status
    if metadata:
        params["CustomerMetadataProperties"] = metadata
    client("sagemaker", account_id).update_model_package(**params)


def ensure_central_group(central_account_id: str, name: str, *, description: str, team_slug: str,
                         reader_accounts: list[str], writer_accounts: list[str]) -> str:
    """The central group ``name`` (created with a resource policy letting the team's accounts use
    it when missing); returns its ARN."""
    sagemaker = client("sagemaker", central_account_id)
    try:
        return sagemaker.describe_model_package_group(ModelPackageGroupName=name)["ModelPackageGroupArn"]
    except sagemaker.exceptions.ClientError as error:
        if error.response["Error"]["Code"] not in ("ValidationException", "ResourceNotFound"):
            raise
    arn = sagemaker.create_model_package_group(
        ModelPackageGroupName=name, ModelPackageGroupDescription=f"{description} (central registry)"[:1024],
        Tags=[{"Key": "team", "Value": team_slug}, {"Key": "environment", "Value": "shared-services"}],
    )["ModelPackageGroupArn"]
    packages = arn.replace(":model-package-group/", ":model-package/") + "/*"
    statements = []
    if writer_accounts:
        statements.append({"Sid": "TeamDevAccountsRegister", "Effect": "Allow",
                           "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in writer_accounts]},
                           "Action": ["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackageGroup",
                                      "sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
                           "Resource": [arn, packages]})
    if reader_accounts:
        statements.append({"Sid": "DeploymentAccountsRead", "Effect": "Allow",
                           "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in reader_accounts]},
                           "Action": ["sagemaker:DescribeModelPackageGroup", "sagemaker:DescribeModelPackage",
                                      "sagemaker:ListModelPackages"],
                           "Resource": [arn, packages]})
    if statements:
        sagemaker.put_model_package_group_policy(
            ModelPackageGroupName=name, ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    return arn


# Members of the dev package that the central copy carries over unchanged.
COPIED_MEMBERS = ("InferenceSpecification", "ModelMetrics", "MetadataProperties", "DriftCheckBaselines",
                  "Domain", "Task", "SamplePayloadUrl")


def copy_to_central(central_account_id: str, group_name: str, source: dict, *, client_token: str,
                    extra_metadata: dict) -> str:
    """CreateModelPackage in the central group with the dev package's inference specification,
    metrics and metadata, a link back (SourceUri + metadata) and ``client_token``: a retry with
    the same token returns the first copy. Returns the central package ARN."""
    params = {member: source[member] for member in COPIED_MEMBERS if source.get(member)}
    metadata = {**(source.get("CustomerMetadataProperties") or {}), **extra_metadata,
                "source-model-package": source["ModelPackageArn"]}
    params.update(ModelPackageGroupName=group_name, ModelApprovalStatus="PendingManualApproval",
                  ModelPackageDescription=(source.get("ModelPackageDescription") or "")[:1024] or group_name,
                  SourceUri=source["ModelPackageArn"], CustomerMetadataProperties=dict(list(metadata.items())[:50]),
                  ClientToken=client_token[:36])
    return client("sagemaker", central_account_id).create_model_package(**params)["ModelPackageArn"]


# -- deployments through Service Catalog -----------------------------------------------------
def _provisioned(servicecatalog, name: str) -> dict | None:
    try:
        return servicecatalog.describe_provisioned_product(Name=name)["ProvisionedProductDetail"]
    except servicecatalog.exceptions.ResourceNotFoundException:
        return None


def start_deployment(account_id: str, *, product_name: str, product_version: str, provisioned_name: str, project_name: str,
                     group_name: str, package_arn: str, stage: str, test_account: str, prod_account: str,
                     instance_type: str, token: str) -> dict:
    """Deploy ``package_arn`` to the ``stage`` endpoint through the multi-account deploy product
    provisioned as ``provisioned_name`` in ``account_id`` (ProvisionProduct the first time,
    UpdateProvisionedProduct after). ``token`` is the Provision/UpdateToken: a repeat returns the
    same record. Returns {"record_id", "provisioned_product_id", "status"}."""
    servicecatalog = client("servicecatalog", account_id)
    parameters = [
        {"Key": "SageMakerProjectName", "Value": project_name[:32]},
        {"Key": "ModelPackageGroupName", "Value": group_name},
        {"Key": "MultiAccountDeployment", "Value": "YES"},
        {"Key": "TestAccountId", "Value": test_account},
        {"Key": "ProdAccountId", "Value": prod_account},
        {"Key": "DeployModelPackageArn", "Value": package_arn},
        {"Key": "DeployStage", "Value": stage},
        {"Key": "EndpointInstanceType", "Value": instance_type},
    ]
    existing = _provisioned(servicecatalog, provisioned_name)
    if existing is None or existing.get("IdempotencyToken") == token:
        record = servicecatalog.provision_product(
            ProductName=product_name, ProvisioningArtifactName=product_version, ProvisionedProductName=provisioned_name,
            ProvisioningParameters=parameters, ProvisionToken=token)["RecordDetail"]
    else:
        record = servicecatalog.update_provisioned_product(
            ProvisionedProductName=provisioned_name, ProvisioningParameters=parameters,
            UpdateToken=token)["RecordDetail"]
    return {"record_id": record["RecordId"], "provisioned_product_id": record.get("ProvisionedProductId", ""),
            "status": record["Status"]}


def provisioned_product_status(account_id: str, provisioned_name: str) -> str | None:
    """AVAILABLE, UNDER_CHANGE, TAINTED, ERROR... or None when it does not exist."""
    detail = _provisioned(client("servicecatalog", account_id), provisioned_name)
    return detail["Status"] if detail else None


def terminate_provisioned_product(account_id: str, provisioned_name: str, *, token: str) -> None:
    """Terminate a provisioned product left in ERROR (it cannot be updated), keeping nothing of it.
    ``token`` (TerminateToken) makes a repeat while terminating a no-op."""
    servicecatalog = client("servicecatalog", account_id)
    try:
        servicecatalog.terminate_provisioned_product(ProvisionedProductName=provisioned_name, TerminateToken=token,
                                                     IgnoreErrors=True)
    except servicecatalog.exceptions.ResourceNotFoundException:
        pass


def describe_record(account_id: str, record_id: str) -> dict:
    """{"status", "errors": [str], "outputs": {key: value}} of a Service Catalog record."""
    answer = client("servicecatalog", account_id).describe_record(Id=record_id)
    detail = answer["RecordDetail"]
    return {"status": detail["Status"],
            "errors": [f"{e.get('Code', '')}: {e.get('Description', '')}".strip(": ")
                       for e in detail.get("RecordErrors", [])],
            "outputs": {o["OutputKey"]: o.get("OutputValue", "") for o in answer.get("RecordOutputs", [])}}


def endpoint_status(account_id: str, endpoint_name: str) -> str | None:
    """Creating, Updating, InService, ... or None when the endpoint does not exist."""
    sagemaker = client("sagemaker", account_id)
    try:
        return sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointStatus"]
    except sagemaker.exceptions.ClientError as error:
        if error.response["Error"]["Code"] == "ValidationException":
            return None
        raise
