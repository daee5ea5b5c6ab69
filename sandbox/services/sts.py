"""STS (query protocol): AssumeRole, GetCallerIdentity, GetAccessKeyInfo, and caller resolution.

Credentials issued by AssumeRole are kept in ``state["sts"]["sessions"]`` (access key id ->
session), so later requests signed with them land in the role's account, also after a restart.
Long-term keys created with moto's IAM (CreateAccessKey) belong to their user's account; other
long-term keys (``testing``) are the management account's root; an ``ASIA...`` key the sandbox
never issued is refused as AWS does.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sandbox.core.errors import AwsError
from sandbox.core.org_layout import MANAGEMENT_ACCOUNT_ID
from sandbox.core.registry import operation, own_service
from sandbox.services.iam import find_role, moto_access_key_owner

own_service("sts")

_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$")
_SESSION_NAME = re.compile(r"^[\w+=,.@-]*$")
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]*$")
# AWS's [\p{L}\p{Z}\p{N}_.:/=+\-@]* in Python's re: \w covers letters, digits and "_".
_TAG = re.compile(r"^[\w\s.:/=+\-@]*$")
_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
CHAINED_SESSION_LIMIT = 3600
MAX_POLICY_CHARS = 2048


@dataclass(frozen=True)
class Caller:
    """Who signed a request: the account it lands in and the identity GetCallerIdentity reports."""
    account_id: str
    arn: str
    user_id: str
    status: str = "ok"          # "ok", "expired" (session past its Expiration), "invalid" (unknown ASIA key)
    session: dict | None = None


def resolve_caller(sandbox, access_key: str | None) -> Caller:
    """Map a request's access key id to its caller (read-only; safe to call outside handlers)."""
    session = sandbox.state.get("sts", {}).get("sessions", {}).get(access_key or "")
    if session is None:
        root = Caller(MANAGEMENT_ACCOUNT_ID, f"arn:aws:iam::{MANAGEMENT_ACCOUNT_ID}:root", MANAGEMENT_ACCOUNT_ID)
        if access_key and access_key.startswith("ASIA"):
            return Caller(root.account_id, root.arn, root.user_id, status="invalid")
        owner = moto_access_key_owner(access_key) if access_key else None
        if owner is not None:
            account_id, user_name = owner
            return Caller(account_id, f"arn:aws:iam::{account_id}:user/{user_name}", access_key)
        return root
    expired = datetime.fromisoformat(session["Expiration"]) <= sandbox.now()
    return Caller(session["Account"], session["Arn"], session["AssumedRoleId"],
                  status="expired" if expired else "ok", session=session)


def _validation(message: str) -> AwsError:
    return AwsError("ValidationError", message)


def _constraint(value, member: str, constraint: str) -> AwsError:
    return _validation(f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
                       f"constraint: {constraint}")


def _check_length(value: str, member: str, low: int, high: int) -> None:
    if len(value) > high:
        raise _constraint(value, member, f"Member must have length less than or equal to {high}")
    if len(value) < low:
        raise _constraint(value, member, f"Member must have length greater than or equal to {low}")


def _check_pattern(value: str, member: str, pattern: re.Pattern, shown: str) -> None:
    if not pattern.match(value):
        raise _constraint(value, member, f"Member must satisfy regular expression pattern: {shown}")


def _validate_assume_role(params: dict) -> None:
    """What STS checks before looking at the role (AWS_API.md §4)."""
    _check_length(params["RoleArn"], "roleArn", 20, 2048)
    session_name = params["RoleSessionName"]
    _check_length(session_name, "roleSessionName", 2, 64)
    _check_pattern(session_name, "roleSessionName", _SESSION_NAME, r"[\w+=,.@-]*")
    duration = params.get("DurationSeconds")
    if duration is not None:
        if duration > 43200:
            raise _constraint(duration, "durationSeconds", "Member must have value less than or equal to 43200")
        if duration < 900:
            raise _constraint(duration, "durationSeconds", "Member must have value greater than or equal to 900")
    if "ExternalId" in params:
        _check_length(params["ExternalId"], "externalId", 2, 1224)
        _check_pattern(params["ExternalId"], "externalId", _EXTERNAL_ID, r"[\w+=,.@:\/-]*")
    if "SourceIdentity" in params:
        identity = params["SourceIdentity"]
        _check_length(identity, "sourceIdentity", 2, 64)
        _check_pattern(identity, "sourceIdentity", _SESSION_NAME, r"[\w+=,.@-]*")
        if identity.lower().startswith("aws:"):
            raise _validation("SourceIdentity cannot start with 'aws:'.")
    tags = params.get("Tags", [])
    if len(tags) > 50:
        raise _constraint("[...]", "tags", "Member must have length less than or equal to 50")
    for tag in tags:
        _check_length(tag["Key"], "tags.member.key", 1, 128)
        _check_length(tag["Value"], "tags.member.value", 0, 256)
        _check_pattern(tag["Key"], "tags.member.key", _TAG, r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+")
    if len(params.get("PolicyArns", [])) > 10:
        raise _constraint("[...]", "policyArns", "Member must have length less than or equal to 10")
    policy = params.get("Policy")
    if policy is not None:
        if len(policy) > MAX_POLICY_CHARS:
            raise _constraint("...", "policy", f"Member must have length less than or equal to {MAX_POLICY_CHARS}")
        try:
            json.loads(policy)
        except ValueError:
            raise AwsError("MalformedPolicyDocument", "The policy is not in the valid JSON format.") from None


@operation("sts", "AssumeRole", key=lambda p: f"{p['RoleArn']}/{p['RoleSessionName']}")
def assume_role(ctx, params):
    """Issue temporary credentials for a role of another (or the same) account.

    Refused (AccessDenied) when the role does not exist in its account or its trust policy does
    not name the caller's account. Each call issues new credentials (no idempotency, as in AWS).
    """
    _validate_assume_role(params)
    caller = resolve_caller(ctx.sandbox, ctx.access_key)
    found = _ROLE_ARN.match(params["RoleArn"])
    if not found:
        raise _validation(f"{params['RoleArn']} is invalid")
    account_id, role_name = found.groups()
    role = find_role(ctx, account_id, role_name)
    trusted = role is not None and (role["TrustedAccounts"] is None or caller.account_id in role["TrustedAccounts"])
    if not trusted:
        raise AwsError("AccessDenied", f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on "
                       f"resource: {params['RoleArn']}", status=403)
    duration = params.get("DurationSeconds", 3600)
    if caller.session is not None and duration > CHAINED_SESSION_LIMIT:
        raise _validation("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed "
                          "by role chaining.")
    if duration > role["MaxSessionDuration"]:
        raise _validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    session_name = params["RoleSessionName"]
    expiration = ctx.now().replace(microsecond=0) + timedelta(seconds=duration)
    access_key = ctx.new_id("ASIA", 16, _KEY_ALPHABET)
    session = {
        "Account": account_id, "RoleArn": role["Arn"], "SessionName": session_name,
        "AssumedRoleId": f"{role['RoleId']}:{session_name}",
        "Arn": f"arn:aws:sts::{account_id}:assumed-role/{role_name}/{session_name}",
        "Expiration": expiration.isoformat(), "SourceIdentity": params.get("SourceIdentity"),
        "Issued": ctx.now().replace(microsecond=0).isoformat(),
    }
    ctx.state.setdefault("sessions", {})[access_key] = session
    result = {
        "Credentials": {
            "AccessKeyId": access_key, "SecretAccessKey": ctx.new_id("", 40, _SECRET_ALPHABET),
            "SessionToken": "IQoJb3JpZ2luX2VjE" + ctx.new_id("", 300, _SECRET_ALPHABET), "Expiration": expiration,
        },
        "AssumedRoleUser": {"AssumedRoleId": session["AssumedRoleId"], "Arn": session["Arn"]},
    }
    if params.get("Policy") or params.get("PolicyArns") or params.get("Tags"):
        result["PackedPolicySize"] = _packed_policy_percent(params)
    if params.get("SourceIdentity"):
        result["SourceIdentity"] = params["SourceIdentity"]
    return result


def _packed_policy_percent(params: dict) -> int:
    """How much of the packed session-policy limit the inline policy, ARNs and tags use (0-100)."""
    size = len(params.get("Policy") or "") + 60 * len(params.get("PolicyArns", []))
    size += sum(len(tag["Key"]) + len(tag["Value"]) for tag in params.get("Tags", []))
    return min(100, max(1, size * 100 // 2048))


@operation("sts", "GetCallerIdentity")
def get_caller_identity(ctx, params):
    """Who the request's credentials belong to (an assumed role, or the management account's root)."""
    caller = resolve_caller(ctx.sandbox, ctx.access_key)
    return {"UserId": caller.user_id, "Account": caller.account_id, "Arn": caller.arn}


@operation("sts", "GetAccessKeyInfo")
def get_access_key_info(ctx, params):
    """The account an access key id belongs to; works for keys of any account, as in AWS."""
    key = params["AccessKeyId"]
    _check_length(key, "accessKeyId", 16, 128)
    return {"Account": resolve_caller(ctx.sandbox, key).account_id}
