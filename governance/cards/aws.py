"""The only place model cards, RAM shares, export jobs, S3 downloads and lineage call boto3.

Small functions: plain data in, plain data out. Errors are botocore ``ClientError``s; callers
turn them into messages with ``error_message``.
"""
import json

from botocore.exceptions import ClientError

from portal.aws import AWS_ERRORS, client  # noqa: F401  (AWS_ERRORS: what these calls can raise, for services)

MODEL_CARD_PERMISSION = "arn:aws:ram::aws:permission/AWSRAMPermissionSageMakerModelCards"


def error_message(error: Exception) -> str:
    """AWS's own message, for people."""
    if isinstance(error, ClientError):
        detail = error.response.get("Error", {})
        return f"{detail.get('Code', 'Error')}: {detail.get('Message', str(error))}"
    return str(error)


def _sagemaker(account_id: str):
    return client("sagemaker", account_id=account_id)


def create_card(account_id: str, *, name: str, content: dict, status: str, tags: dict) -> str:
    response = _sagemaker(account_id).create_model_card(
        ModelCardName=name, Content=json.dumps(content), ModelCardStatus=status,
        Tags=[{"Key": key, "Value": value} for key, value in tags.items()])
    return response["ModelCardArn"]


def update_content(account_id: str, *, name: str, content: dict) -> None:
    """A full content replacement (never together with a status change: SageMaker refuses both)."""
    _sagemaker(account_id).update_model_card(ModelCardName=name, Content=json.dumps(content))


def update_status(account_id: str, *, name: str, status: str) -> None:
    _sagemaker(account_id).update_model_card(ModelCardName=name, ModelCardStatus=status)


def describe_card(account_id: str, *, name: str, version: int | None = None) -> dict:
    params = {"ModelCardName": name}
    if version is not None:
        params["ModelCardVersion"] = version
    r = _sagemaker(account_id).describe_model_card(**params)
    return {"arn": r["ModelCardArn"], "name": r["ModelCardName"], "version": r["ModelCardVersion"],
            "status": r["ModelCardStatus"], "content": json.loads(r.get("Content") or "{}"),
            "modified_at": r.get("LastModifiedTime") or r.get("CreationTime"),
            "modified_by": _who(r.get("LastModifiedBy") or r.get("CreatedBy"))}


def _who(user_context: dict | None) -> str:
    """A UserContext for people: the Studio user profile, else the IAM session (or user) name."""
    user_context = user_context or {}
    arn = (user_context.get("IamIdentity") or {}).get("Arn", "")
    return user_context.get("UserProfileName") or arn.rsplit("/", 1)[-1]


def list_cards(account_id: str) -> list[dict]:
    paginator = _sagemaker(account_id).get_paginator("list_model_cards")
    return [{"name": s["ModelCardName"], "arn": s["ModelCardArn"], "status": s["ModelCardStatus"],
             "modified_at": s.get("LastModifiedTime") or s.get("CreationTime")}
            for page in paginator.paginate() for s in page["ModelCardSummaries"]]


def list_card_versions(account_id: str, *, name: str) -> list[dict]:
    paginator = _sagemaker(account_id).get_paginator("list_model_card_versions")
    return sorted(({"version": s["ModelCardVersion"], "status": s["ModelCardStatus"]}
                   for page in paginator.paginate(ModelCardName=name)
                   for s in page["ModelCardVersionSummaryList"]), key=lambda row: row["version"])


def card_tags(account_id: str, *, arn: str) -> dict:
    response = _sagemaker(account_id).list_tags(ResourceArn=arn)
    return {tag["Key"]: tag.get("Value", "") for tag in response.get("Tags", [])}


def share_card(account_id: str, *, card_arn: str, principal: str, name: str, client_token: str,
               permission_arn: str = MODEL_CARD_PERMISSION) -> dict:
    """One RAM share per (card, account); the clientToken makes a retry return the same share."""
    response = client("ram", account_id=account_id).create_resource_share(
        name=name, resourceArns=[card_arn], principals=[principal], allowExternalPrincipals=False,
        permissionArns=[permission_arn], clientToken=client_token,
        tags=[{"key": "portal-share", "value": name}])
    share = response["resourceShare"]
    return {"arn": share["resourceShareArn"], "status": share["status"]}


def delete_share(account_id: str, *, share_arn: str) -> None:
    client("ram", account_id=account_id).delete_resource_share(resourceShareArn=share_arn)


def start_export(account_id: str, *, name: str, version: int, job_name: str, s3_output: str) -> str:
    response = _sagemaker(account_id).create_model_card_export_job(
        ModelCardName=name, ModelCardVersion=version, ModelCardExportJobName=job_name,
        OutputConfig={"S3OutputPath": s3_output})
    return response["ModelCardExportJobArn"]


def describe_export(account_id: str, *, job_arn: str) -> dict:
    r = _sagemaker(account_id).describe_model_card_export_job(ModelCardExportJobArn=job_arn)
    return {"status": r["Status"], "failure": r.get("FailureReason", ""),
            "s3_uri": (r.get("ExportArtifacts") or {}).get("S3ExportArtifacts", "")}


def ensure_bucket(account_id: str, bucket: str) -> None:
    s3 = client("s3", account_id=account_id)
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        s3.create_bucket(Bucket=bucket)


def download(account_id: str, *, s3_uri: str) -> bytes:
    bucket, _, key = s3_uri.removeprefix("s3://").partition("/")
    return client("s3", account_id=account_id).get_object(Bucket=bucket, Key=key)["Body"].read()


def lineage_entity(account_id: str, arn: str) -> str:
    """The lineage entity for ``arn``: a model package is traced through the artifact SageMaker
    created for it (SourceUri = the package ARN), an endpoint through its context."""
    sagemaker = _sagemaker(account_id)
    if ":model-package/" in arn:
        found = sagemaker.list_artifacts(SourceUri=arn).get("ArtifactSummaries", [])
        return found[0]["ArtifactArn"] if found else arn
    if ":endpoint/" in arn:
        found = sagemaker.list_contexts(SourceUri=arn).get("ContextSummaries", [])
        return found[0]["ContextArn"] if found else arn
    return arn


def query_lineage(account_id: str, *, arn: str, direction: str = "Both", max_depth: int = 10) -> dict:
    """Vertices and edges around ``arn`` (QueryLineage has no paginator: follow NextToken)."""
    sagemaker = _sagemaker(account_id)
    arn = lineage_entity(account_id, arn)
    params = {"StartArns": [arn], "Direction": direction, "IncludeEdges": True, "MaxDepth": max_depth,
              "MaxResults": 50}
    vertices, edges = {}, {}
    for _ in range(20):
        response = sagemaker.query_lineage(**params)
        for vertex in response.get("Vertices", []):
            vertices[vertex["Arn"]] = {"arn": vertex["Arn"], "type": vertex.get("Type", ""),
                                       "lineage_type": vertex.get("LineageType", "")}
        for edge in response.get("Edges", []):
            edges[(edge["SourceArn"], edge["DestinationArn"])] = {
                "source": edge["SourceArn"], "target": edge["DestinationArn"],
                "type": edge.get("AssociationType", "")}
        if not response.get("NextToken"):
            break
        params["NextToken"] = response["NextToken"]
    return {"start": arn, "nodes": list(vertices.values()), "edges": list(edges.values())}
