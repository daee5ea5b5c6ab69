"""Helpers shared by the sandbox's own SageMaker modules (registry, Studio, endpoints, tags).

State layout: ``ctx.state`` is ``state["sagemaker"]``; each kind of resource lives under its own
top-level key, then account id, then region: ``ctx.state["groups"]["333333333311"]["us-east-1"]``.
Times are stored as ISO strings; asynchronous status is derived from them at read time.
"""
from __future__ import annotations

import fnmatch
import functools
import json
from datetime import datetime

from sandbox.core.errors import AwsError
from sandbox.core.paging import page
from sandbox.core.registry import operation
from sandbox.core.validation import check_input
from sandbox.services.sts import resolve_caller

SERVICE = "sagemaker"
DEFAULT_PAGE_SIZE = 10


# -- registration with server-side input validation ----------------------------------------
def sagemaker_operation(name: str, **options):
    """Register ``fn`` as ``sagemaker:name`` after checking ``params`` against botocore's input
    shape the way SageMaker does server-side (lengths, ranges, enums, patterns)."""
    def register(fn):
        @functools.wraps(fn)
        def handler(ctx, params):
            check_input(SERVICE, name, params)
            return fn(ctx, params)
        return operation(SERVICE, name, **options)(handler)
    return register


# -- state, ARNs, time -----------------------------------------------------------------------
def records(ctx, kind: str, account_id: str | None = None, region: str | None = None) -> dict:
    """The mutable dict of ``kind`` records of one account and region (the caller's by default)."""
    return (ctx.state.setdefault(kind, {}).setdefault(account_id or ctx.account_id, {})
            .setdefault(region or ctx.region, {}))


def make_arn(ctx, resource: str, account_id: str | None = None, region: str | None = None) -> str:
    return f"arn:aws:sagemaker:{region or ctx.region}:{account_id or ctx.account_id}:{resource}"


def split_arn(arn: str) -> tuple[str, str, str, str]:
    """``arn:aws:sagemaker:R:A:type/rest`` -> (region, account, type, rest)."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or not parts[2] == SERVICE or "/" not in parts[5]:
        raise AwsError("ValidationException", f"Invalid ARN: {arn}")
    resource_type, rest = parts[5].split("/", 1)
    return parts[3], parts[4], resource_type, rest


def now_iso(ctx) -> str:
    return ctx.now().isoformat()


def as_time(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def seconds_since(ctx, iso: str) -> float:
    return (ctx.now() - as_time(iso)).total_seconds()


def event_time(iso: str) -> str:
    """Timestamps inside EventBridge ``detail`` are ISO strings like ``2021-02-24T17:00:14Z``."""
    return as_time(iso).strftime("%Y-%m-%dT%H:%M:%SZ")


def created_between(record_time: str, params: dict, after_key: str, before_key: str) -> bool:
    created = as_time(record_time)
    return ((params.get(after_key) is None or created > params[after_key])
            and (params.get(before_key) is None or created < params[before_key]))


def compact(values: dict) -> dict:
    """``values`` without the members whose value is None (optional output members)."""
    return {key: value for key, value in values.items() if value is not None}


def user_context(ctx) -> dict:
    """UserContext of the caller: the signing identity (e.g. the portal's assumed-role session),
    or the account's root when the call does not come from a credential of this account
    (internal and test calls)."""
    caller = resolve_caller(ctx.sandbox, ctx.access_key)
    if caller.account_id != ctx.account_id:
        return {"IamIdentity": {"Arn": f"arn:aws:iam::{ctx.account_id}:root", "PrincipalId": ctx.account_id}}
    return {"IamIdentity": {"Arn": caller.arn, "PrincipalId": caller.user_id}}


# -- listing -----------------------------------------------------------------------------------
def paginate(ctx, items: list, params: dict, *, default_size: int = DEFAULT_PAGE_SIZE) -> tuple[list, str | None]:
    """One page of ``items`` for ``MaxResults``/``NextToken`` and the token of the next page;
    tokens are bound to the listing operation."""
    return page(items, params.get("NextToken"), params.get("MaxResults"), default_max=default_size,
                scope=ctx.operation, invalid_token=AwsError("ValidationException", "Invalid pagination token."))


def sort_records(items: list, params: dict, keys: dict, *, default_by: str, default_order: str = "Ascending") -> list:
    """Sort by ``params["SortBy"]`` (a name in ``keys``: record -> sort value) and ``SortOrder``."""
    by = keys[params.get("SortBy") or default_by]
    return sorted(items, key=by, reverse=(params.get("SortOrder") or default_order) == "Descending")


def name_contains(name: str, params: dict, key: str = "NameContains") -> bool:
    return not params.get(key) or params[key].lower() in name.lower()


# -- tags --------------------------------------------------------------------------------------
def tags_as_dict(tags: list[dict]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags}


def merge_tags(existing: list[dict], added: list[dict]) -> list[dict]:
    """``existing`` with ``added`` applied: same key overwrites the value, new keys append."""
    merged = tags_as_dict(existing)
    merged.update(tags_as_dict(added))
    return [{"Key": key, "Value": value} for key, value in merged.items()]


# -- resource policies (model package groups) -------------------------------------------------
def policy_allows(policy: str | None, account_id: str, action: str, resource_arn: str) -> bool:
    """Whether a resource policy lets principals of ``account_id`` do ``action`` on the resource.

    Principals are matched by account (``"*"``, the account id, or any IAM ARN of the account):
    the sandbox does not track principals within an account. An explicit Deny wins."""
    if not policy:
        return False
    statements = json.loads(policy).get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for statement in statements:
        if (_principal_matches(statement.get("Principal"), account_id)
                and _any_match(statement.get("Action"), action)
                and _any_match(statement.get("Resource", "*"), resource_arn)):
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value] if value is not None else []


def _any_match(patterns, value: str) -> bool:
    return any(fnmatch.fnmatchcase(value.lower(), pattern.lower()) for pattern in _as_list(patterns))


def _principal_matches(principal, account_id: str) -> bool:
    if principal == "*":
        return True
    entries = _as_list(principal.get("AWS")) if isinstance(principal, dict) else []
    return any(entry in ("*", account_id) or f":iam::{account_id}:" in entry for entry in entries)


# -- cost meters -----------------------------------------------------------------------------
COST_SERVICE = "Amazon SageMaker"
# On-demand us-east-1 hourly prices (USD) of the instance types the platform uses, for Studio
# apps and real-time endpoints alike (the two price lists agree on these types).
INSTANCE_HOURLY_USD = {
    "ml.t2.medium": 0.056, "ml.t3.medium": 0.05, "ml.m5.large": 0.115, "ml.m5.xlarge": 0.23,
    "ml.c5.xlarge": 0.204, "ml.g4dn.xlarge": 0.736, "ml.p3.2xlarge": 3.825,
}
UNLISTED_INSTANCE_TYPE = "ml.m5.xlarge"   # types outside the table are priced like this one
REGION_USAGE_PREFIX = {"us-east-1": "USE1", "us-east-2": "USE2", "us-west-2": "USW2", "eu-west-1": "EU"}


def instance_hourly_usd(instance_type: str) -> float:
    return INSTANCE_HOURLY_USD.get(instance_type, INSTANCE_HOURLY_USD[UNLISTED_INSTANCE_TYPE])


def start_meter(ctx, record: dict, resource_arn: str, *, usage: str, hourly_usd: float, tags: dict) -> None:
    """Start a cost meter for ``record`` (remembered in ``record["_meters"]``). The meter key is
    the ARN plus the start time, because a resource re-created under the same ARN, or an endpoint
    redeployed, must get a meter of its own."""
    key = f"{resource_arn}#{now_iso(ctx)}"
    prefix = REGION_USAGE_PREFIX.get(ctx.region, ctx.region)
    ctx.meter_start(key, service_name=COST_SERVICE, usage_type=f"{prefix}-{usage}", hourly_usd=hourly_usd,
                    tags=tags)
    record.setdefault("_meters", []).append(key)


def stop_meters(ctx, record: dict) -> None:
    for key in record.pop("_meters", []):
        ctx.meter_stop(key)


def public_fields(record: dict) -> dict:
    """A record without its tags and internal (``_``-prefixed) members: the Describe output."""
    return {key: value for key, value in record.items() if key != "Tags" and not key.startswith("_")}


def lifecycle_phase(ctx, record: dict, seconds: float) -> str | None:
    """Where an asynchronously created resource is, from its stored times: "creating",
    "updating", "ready" or "deleting", and None once its deletion has completed."""
    if "_deleted" in record:
        return None if seconds_since(ctx, record["_deleted"]) >= seconds else "deleting"
    if seconds_since(ctx, record["CreationTime"]) < seconds:
        return "creating"
    if "_updated" in record and seconds_since(ctx, record["_updated"]) < seconds:
        return "updating"
    return "ready"


def with_times(values: dict, *keys: str) -> dict:
    """``values`` with the stored ISO strings under ``keys`` turned into datetimes for output."""
    return {**values, **{key: as_time(values[key]) for key in keys if key in values}}
