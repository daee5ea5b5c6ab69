"""The only place that creates boto3 clients (DESIGN.md §3).

``client(service, account_id=None, region=None)`` returns a client for the portal's own (hub)
account, or for a member account by assuming ``AWS_MEMBER_ROLE_NAME`` there through STS.
Assumed credentials are cached per process until five minutes before they expire. The
endpoint comes from ``AWS_ENDPOINT_URL`` (the sandbox) or, when unset, from boto3's defaults.
No AWS key is ever stored in the database.
"""
import threading
from datetime import datetime, timedelta, timezone

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.utils.module_loading import import_string

# What any AWS call can raise: an error answer, or no answer (connection, timeout, credentials).
AWS_ERRORS = (ClientError, BotoCoreError)

_lock = threading.Lock()
_credentials: dict[tuple[str, str], dict] = {}
_REFRESH_BEFORE = timedelta(minutes=5)
# The sandbox accepts any key; real AWS takes credentials from the environment/instance role.
_SANDBOX_KEYS = {"aws_access_key_id": "portal", "aws_secret_access_key": "portal"}


def _config() -> Config:
    return Config(
        region_name=settings.AWS_REGION,
        retries={"mode": "adaptive", "max_attempts": settings.AWS_MAX_ATTEMPTS},
        connect_timeout=settings.AWS_CONNECT_TIMEOUT,
        read_timeout=settings.AWS_READ_TIMEOUT,
        user_agent_appid="ml-platform-portal",
    )


def _base_kwargs(region: str | None) -> dict:
    kwargs = {"region_name": region or settings.AWS_REGION, "config": _config()}
    if settings.AWS_ENDPOINT_URL:
        kwargs["endpoint_url"] = settings.AWS_ENDPOINT_URL
        kwargs.update(_SANDBOX_KEYS)
    return kwargs


def _instrument(client):
    if settings.AWS_CLIENT_INSTRUMENT:
        import_string(settings.AWS_CLIENT_INSTRUMENT)(client)
    return client


def hub_account_id() -> str:
    """The account the portal's own credentials belong to (the management/hub account)."""
    return client("sts").get_caller_identity()["Account"]


def _assumed_credentials(account_id: str, session_name: str) -> dict:
    key = (account_id, session_name)
    with _lock:
        cached = _credentials.get(key)
        if cached and cached["Expiration"] - _REFRESH_BEFORE > datetime.now(timezone.utc):
            return cached
    sts = client("sts")
    params = {"RoleArn": f"arn:aws:iam::{account_id}:role/{settings.AWS_MEMBER_ROLE_NAME}",
              "RoleSessionName": session_name, "DurationSeconds": 3600}
    if settings.AWS_ROLE_EXTERNAL_ID:
        params["ExternalId"] = settings.AWS_ROLE_EXTERNAL_ID
    credentials = sts.assume_role(**params)["Credentials"]
    with _lock:
        _credentials[key] = credentials
    return credentials


_clients: dict[tuple, object] = {}


def client(service: str, account_id: str | None = None, region: str | None = None,
           session_name: str = "ml-platform-portal"):
    """A boto3 client for ``service``; in ``account_id`` through the member role when given and
    different from the hub account. Clients are reused per process (they are thread-safe) until
    their credentials are replaced: building one costs tens of milliseconds."""
    kwargs = _base_kwargs(region)
    if account_id is not None and account_id != _hub_account_cached():
        credentials = _assumed_credentials(account_id, session_name)
        kwargs.update(aws_access_key_id=credentials["AccessKeyId"],
                      aws_secret_access_key=credentials["SecretAccessKey"],
                      aws_session_token=credentials["SessionToken"])
    key = (service, kwargs["region_name"], settings.AWS_ENDPOINT_URL, kwargs.get("aws_access_key_id"),
           settings.AWS_MAX_ATTEMPTS, settings.AWS_CONNECT_TIMEOUT, settings.AWS_READ_TIMEOUT)
    with _lock:
        cached = _clients.get(key)
    if cached is None:
        cached = _instrument(boto3.session.Session().client(service, **kwargs))
        with _lock:
            _clients[key] = cached
    return cached


_hub: dict[str, str] = {}


def _hub_account_cached() -> str:
    endpoint = settings.AWS_ENDPOINT_URL or "aws"
    if endpoint not in _hub:
        _hub[endpoint] = hub_account_id()
    return _hub[endpoint]


def reset_caches() -> None:
    """Forget cached credentials and the hub account (tests, endpoint changes)."""
    with _lock:
        _credentials.clear()
        _hub.clear()
        _clients.clear()


def reachable() -> tuple[bool, str]:
    """Whether AWS (or the sandbox) answers: (ok, the hub account id or the error)."""
    try:
        return True, client("sts").get_caller_identity()["Account"]
    except Exception as error:  # any failure means "not reachable"; the message says why
        return False, str(error)


def _pages(call, result_key: str, **params):
    """Yield every item of a NextToken-paginated Organizations list (empty pages included)."""
    while True:
        response = call(**params)
        yield from response.get(result_key, [])
        if not response.get("NextToken"):
            return
        params["NextToken"] = response["NextToken"]


def organization_accounts() -> list[dict]:
    """Every account of the organization as plain data: id, name, email, state, tags, OU path.

    Read-only: ListAccounts, ListTagsForResource, ListParents, DescribeOrganizationalUnit.
    """
    orgs = client("organizations")
    ou_names: dict[str, str] = {}
    parents: dict[str, str | None] = {}

    def parent_of(child_id: str) -> str | None:
        if child_id not in parents:
            found = orgs.list_parents(ChildId=child_id)["Parents"]
            parents[child_id] = found[0]["Id"] if found and found[0]["Type"] == "ORGANIZATIONAL_UNIT" else None
        return parents[child_id]

    def ou_path(account_id: str) -> str:
        names, node = [], parent_of(account_id)
        while node:
            if node not in ou_names:
                ou_names[node] = orgs.describe_organizational_unit(OrganizationalUnitId=node)["OrganizationalUnit"]["Name"]
            names.append(ou_names[node])
            node = parent_of(node)
        return "/".join(reversed(names))

    accounts = []
    for account in _pages(orgs.list_accounts, "Accounts"):
        tags = {t["Key"]: t["Value"] for t in _pages(orgs.list_tags_for_resource, "Tags", ResourceId=account["Id"])}
        accounts.append({"account_id": account["Id"], "name": account["Name"], "email": account.get("Email", ""),
                         "state": account.get("State") or account.get("Status", "ACTIVE"), "tags": tags,
                         "ou_path": ou_path(account["Id"])})
    return accounts


def audit_checkpoint_put(bucket: str, key: str, document: str, account_id: str | None, *, retain_days: int) -> None:
    """PutObject one audit checkpoint under Object Lock COMPLIANCE retention for ``retain_days``
    (the bucket must have Object Lock enabled; nobody can delete that version before then)."""
    client("s3", account_id).put_object(
        Bucket=bucket, Key=key, Body=document.encode(), ContentType="application/json",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=datetime.now(timezone.utc) + timedelta(days=retain_days))


def audit_checkpoint_exists(bucket: str, key: str, account_id: str | None) -> bool:
    """Whether any version of ``key`` exists (a delete marker on top does not hide it)."""
    response = client("s3", account_id).list_object_versions(Bucket=bucket, Prefix=key, MaxKeys=1)
    return any(version["Key"] == key for version in response.get("Versions", []))


def audit_checkpoint_documents(bucket: str, prefix: str, account_id: str | None) -> list[tuple[str, str]]:
    """Every version of every checkpoint object under ``prefix`` as (where, text): overwrites
    and delete markers hide nothing. ListObjectVersions and GetObject only."""
    s3 = client("s3", account_id)
    documents = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for version in page.get("Versions", []):
            body = s3.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"].read()
            documents.append((f"s3://{bucket}/{version['Key']}?versionId={version['VersionId']}",
                              body.decode("utf-8", "replace")))
    return documents
