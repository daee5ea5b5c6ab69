"""S3 Object Lock where moto falls short of AWS (everything else about S3 is moto's).

moto stores retention and refuses to delete a locked version, but it has no GetObjectRetention,
lets anyone shorten a COMPLIANCE retention or turn it into GOVERNANCE, lets versioning of an
Object Lock bucket be suspended, and reports a default retention with both Days and Years. These
handlers check what AWS checks, then hand the call to moto, whose state stays the only state.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sandbox.core.errors import AwsError
from sandbox.core.registry import operation

_ACCESS_DENIED = AwsError("AccessDenied", "Access Denied", 403)


def _as_utc(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _lock_enabled(ctx, bucket: str) -> bool:
    try:
        configuration = ctx.call_moto("s3", "GetObjectLockConfiguration", {"Bucket": bucket})
    except AwsError as error:
        if error.code == "ObjectLockConfigurationNotFoundError":
            return False
        raise
    return configuration.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"


def _version_lock(ctx, params: dict) -> tuple[str | None, datetime | None]:
    """The (mode, retain-until) of the addressed object version (HeadObject in moto)."""
    head_params = {"Bucket": params["Bucket"], "Key": params["Key"]}
    if params.get("VersionId"):
        head_params["VersionId"] = params["VersionId"]
    try:
        head = ctx.call_moto("s3", "HeadObject", head_params)
    except AwsError as error:
        if error.status == 404:
            raise AwsError("NoSuchKey", "The specified key does not exist.", 404) from None
        raise
    return head.get("ObjectLockMode"), _as_utc(head.get("ObjectLockRetainUntilDate"))


@operation("s3", "GetObjectRetention")
def get_object_retention(ctx, params):
    """The retention of one object version, as AWS reports it."""
    if not _lock_enabled(ctx, params["Bucket"]):
        raise AwsError("InvalidRequest", "Bucket is missing Object Lock Configuration", 400)
    mode, until = _version_lock(ctx, params)
    if mode is None:
        raise AwsError("NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock "
                       "configuration", 404)
    return {"Retention": {"Mode": mode, "RetainUntilDate": until}}


@operation("s3", "PutObjectRetention")
def put_object_retention(ctx, params):
    """Refuse what AWS refuses (AccessDenied): shortening or leaving a COMPLIANCE retention still in
    force, and shortening or leaving GOVERNANCE without x-amz-bypass-governance-retention."""
    mode, until = _version_lock(ctx, params)
    new = params.get("Retention") or {}
    new_mode, new_until = new.get("Mode"), _as_utc(new.get("RetainUntilDate"))
    if mode and until and until > ctx.now().astimezone(timezone.utc):
        weakened = new_mode != mode or new_until is None or new_until < until
        if weakened and (mode == "COMPLIANCE" or not params.get("BypassGovernanceRetention")):
            raise _ACCESS_DENIED
    return ctx.call_moto("s3", "PutObjectRetention", params)


@operation("s3", "PutBucketVersioning")
def put_bucket_versioning(ctx, params):
    """An Object Lock bucket stays versioned (InvalidBucketState, as AWS answers)."""
    status = (params.get("VersioningConfiguration") or {}).get("Status")
    if status == "Suspended" and _lock_enabled(ctx, params["Bucket"]):
        raise AwsError("InvalidBucketState", "An Object Lock configuration is present on this bucket, so the "
                       "versioning state cannot be changed.", 409)
    return ctx.call_moto("s3", "PutBucketVersioning", params)


@operation("s3", "GetObjectLockConfiguration")
def get_object_lock_configuration(ctx, params):
    """moto's answer without the zero Days or Years AWS leaves out (a rule has one of them)."""
    result = ctx.call_moto("s3", "GetObjectLockConfiguration", params)
    retention = result.get("ObjectLockConfiguration", {}).get("Rule", {}).get("DefaultRetention")
    if retention:
        for unit in ("Days", "Years"):
            if not retention.get(unit):
                retention.pop(unit, None)
    result.pop("ResponseMetadata", None)
    return result
