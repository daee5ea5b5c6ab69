"""AWS Organizations, owned by the sandbox (moto is never consulted): the seeded organization,
OUs, accounts, asynchronous CreateAccount, MoveAccount, CloseAccount and tags.

State (``ctx.state``): ``organization``; ``ous`` {id: {Name, ParentId}}; ``accounts`` {id:
{Name, Email, ParentId, JoinedMethod, JoinedTimestamp, ClosedAt}}; ``requests`` {car-id:
{AccountName, Email, RequestedTimestamp, CompletesAt, AccountId | FailureReason}}; ``tags``
{resource id: {key: value}}. A created account is in the state from the request on, but it
shows (in lists, DescribeAccount, AssumeRole) only once its request completed; status is
computed from the clock at read time.

Internal operation for Account Factory: ``ctx.call("organizations", "_VendAccount", {AccountName,
AccountEmail, ParentId, Tags?, ExtraRoles?})`` creates an account in ``ParentId`` through the same
path as CreateAccount (same limits and failure reasons) and returns ``{"CreateAccountStatus"}``;
poll it with ``DescribeCreateAccountStatus``. The new account gets ``PortalExecutionRole`` plus
``ExtraRoles`` (e.g. ``AWSControlTowerExecution``).
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta

from sandbox.core import org_layout
from sandbox.core.errors import AwsError
from sandbox.core.org_layout import MANAGEMENT_ACCOUNT_ID, ORGANIZATION_ID, ROOT_ID
from sandbox.core.paging import page
from sandbox.core.protocols import service_model
from sandbox.core.registry import operation, own_service, seeder
from sandbox.core.validation import input_violations, validation_message
from sandbox.services.iam import add_role

own_service("organizations")

SERVICE = "organizations"
MAX_PAGE = 20
MAX_TAGS = 50
MAX_OU_DEPTH = 5
CLOSE_WINDOW = timedelta(days=30)
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_VIOLATION_REASONS = {"length_max": "MAX_LENGTH_EXCEEDED", "length_min": "MIN_LENGTH_EXCEEDED",
                      "value_max": "MAX_VALUE_EXCEEDED", "value_min": "MIN_VALUE_EXCEEDED",
                      "pattern": "INVALID_PATTERN", "enum": "INVALID_ENUM"}
# AWS_API.md §2.1: what the e-mail pattern lets through but account creation later refuses.
_EMAIL_LOCAL_FORBIDDEN = set(" \t\"'()<>[]:;,\\|%&")
_EMAIL_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
_FAILURE_REASONS = frozenset(service_model(SERVICE).shape_for("CreateAccountFailureReason").enum)


# -- errors and shared checks ---------------------------------------------------------------------
def _error(code: str, message: str, reason: str | None = None) -> AwsError:
    return AwsError(code, message, extra={"Reason": reason} if reason else None)


def _access_denied() -> AwsError:
    return _error("AccessDeniedException", "You don't have permissions to access this resource.")


def _constraint(reason: str, message: str) -> AwsError:
    return _error("ConstraintViolationException", message, reason)


def _check_input(operation: str, params: dict) -> None:
    """Raise InvalidInputException, with the Reason of the first violated model constraint."""
    violations = input_violations(SERVICE, operation, params)
    if violations:
        raise _error("InvalidInputException", validation_message(violations),
                     _VIOLATION_REASONS[violations[0].kind])


def _check(ctx, params: dict, *, management_only: bool = True) -> None:
    """Caller and input checks every operation starts with."""
    if management_only and ctx.account_id != MANAGEMENT_ACCOUNT_ID:
        raise _access_denied()
    _check_input(ctx.operation, params)


def _listing(ctx, items: list, params: dict) -> tuple[list, str | None]:
    invalid = _error("InvalidInputException", "The specified NextToken is not valid.", "INVALID_NEXT_TOKEN")
    return page(items, params.get("NextToken"), params.get("MaxResults"), default_max=MAX_PAGE,
                scope=ctx.operation, invalid_token=invalid)


def _with_token(result: dict, token: str | None) -> dict:
    if token:
        result["NextToken"] = token
    return result


# -- the organization's structure -----------------------------------------------------------------
def _arn(kind: str, resource_id: str) -> str:
    if kind == "organization":
        return f"arn:aws:organizations::{MANAGEMENT_ACCOUNT_ID}:organization/{ORGANIZATION_ID}"
    return f"arn:aws:organizations::{MANAGEMENT_ACCOUNT_ID}:{kind}/{ORGANIZATION_ID}/{resource_id}"


def _ancestry(ctx, parent_id: str) -> list[str]:
    """Ids from the root down to ``parent_id``."""
    chain = []
    while parent_id != ROOT_ID:
        chain.append(parent_id)
        parent_id = ctx.state["ous"][parent_id]["ParentId"]
    return [ROOT_ID, *reversed(chain)]


def _path(ctx, parent_id: str, leaf: str) -> str:
    return "/".join([ORGANIZATION_ID, *_ancestry(ctx, parent_id), leaf]) + "/"


def _parent_exists(ctx, parent_id: str) -> bool:
    return parent_id == ROOT_ID or parent_id in ctx.state["ous"]


def _require_parent(ctx, parent_id: str) -> None:
    if not _parent_exists(ctx, parent_id):
        raise _error("ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified.")


def _ou_view(ctx, ou_id: str) -> dict:
    ou = ctx.state["ous"][ou_id]
    return {"Id": ou_id, "Arn": _arn("ou", ou_id), "Name": ou["Name"], "Path": _path(ctx, ou["ParentId"], ou_id)}


def _require_ou(ctx, ou_id: str) -> dict:
    ou = ctx.state["ous"].get(ou_id)
    if ou is None:
        raise _error("OrganizationalUnitNotFoundException",
                     "We can't find an organizational unit (OU) with the OrganizationalUnitId that you specified.")
    return ou


# -- accounts -------------------------------------------------------------------------------------
def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _is_visible(ctx, record: dict) -> bool:
    """An account shows once the request that created it completed."""
    return _ts(record["JoinedTimestamp"]) <= ctx.now()


def _visible_accounts(ctx) -> list[tuple[str, dict]]:
    return [(account_id, record) for account_id, record in ctx.state["accounts"].items() if _is_visible(ctx, record)]


def _account_state(ctx, record: dict) -> str:
    if not record.get("ClosedAt"):
        return "ACTIVE"
    closed = _ts(record["ClosedAt"]) + timedelta(seconds=ctx.config.account_seconds)
    return "CLOSED" if ctx.now() >= closed else "PENDING_CLOSURE"


def _account_view(ctx, account_id: str, record: dict) -> dict:
    """An ``Account`` as AWS returns it after the retirement of ``Status`` (9 Sep 2026)."""
    return {
        "Id": account_id, "Arn": _arn("account", account_id), "Email": record["Email"], "Name": record["Name"],
        "State": _account_state(ctx, record), "Paths": [_path(ctx, record["ParentId"], account_id)],
        "JoinedMethod": record["JoinedMethod"], "JoinedTimestamp": record["JoinedTimestamp"],
    }


def _require_account(ctx, account_id: str) -> dict:
    record = ctx.state["accounts"].get(account_id)
    if record is None or not _is_visible(ctx, record):
        raise _error("AccountNotFoundException", "You specified an account that doesn't exist.")
    return record


def visible_accounts(ctx) -> list[dict]:
    """Every account of the organization as ``Account`` views: for other modules (e.g. Cost
    Explorer, Account Factory) that need the current account list without paging."""
    org_ctx = _as_organizations(ctx)
    return [_account_view(org_ctx, account_id, record) for account_id, record in _visible_accounts(org_ctx)]


def _as_organizations(ctx):
    """A view of ``ctx`` whose ``state`` is this service's (for helpers called by other modules)."""
    return ctx if ctx.service == SERVICE else replace(ctx, service=SERVICE)


# -- create account -------------------------------------------------------------------------------
def _in_progress(ctx) -> list[dict]:
    now = ctx.now()
    return [request for request in ctx.state["requests"].values() if _ts(request["CompletesAt"]) > now]


def _request_view(ctx, request_id: str) -> dict:
    request = ctx.state["requests"][request_id]
    view = {"Id": request_id, "AccountName": request["AccountName"], "RequestedTimestamp": request["RequestedTimestamp"]}
    if _ts(request["CompletesAt"]) > ctx.now():
        view["State"] = "IN_PROGRESS"
        return view
    view["CompletedTimestamp"] = request["CompletesAt"]
    if request.get("FailureReason"):
        view.update(State="FAILED", FailureReason=request["FailureReason"])
    else:
        view.update(State="SUCCEEDED", AccountId=request["AccountId"])
    return view


def _email_problem(email: str) -> bool:
    """True for addresses the model's pattern accepts but AWS refuses (AWS_API.md §2.1)."""
    if not email.isascii() or email.count("@") != 1:
        return True
    local, domain = email.split("@")
    return (local.startswith(".") or any(char in _EMAIL_LOCAL_FORBIDDEN for char in local)
            or "." not in domain or not _EMAIL_DOMAIN.match(domain))


def _failure_reason(ctx, email: str) -> str | None:
    """Why the creation will fail, decided when it is requested (shown when it completes)."""
    wanted = email.lower()
    if _email_problem(email):
        return "INVALID_EMAIL"
    if any(request["Email"].lower() == wanted for request in _in_progress(ctx)):
        return "CONCURRENT_ACCOUNT_MODIFICATION"
    if any(record["Email"].lower() == wanted for record in ctx.state["accounts"].values()):
        return "EMAIL_ALREADY_EXISTS"
    if len(ctx.state["accounts"]) >= ctx.config.max_accounts:
        return "ACCOUNT_LIMIT_EXCEEDED"
    fault = ctx.take_fault("record_failure", SERVICE, email)
    if fault is not None:
        return fault["code"] if fault["code"] in _FAILURE_REASONS else "INTERNAL_FAILURE"
    return None


def _new_account_id(ctx) -> str:
    while True:
        account_id = ctx.new_id("", 12, "0123456789")
        if account_id not in ctx.state["accounts"] and not account_id.startswith("0"):
            return account_id


def _start_account_creation(ctx, *, name: str, email: str, parent_id: str, tags: list[dict],
                            roles: list[str]) -> dict:
    """The one path that creates accounts (CreateAccount and Account Factory). Raises
    ConstraintViolationException beyond ``config.max_concurrent_account_operations`` in flight."""
    if len(_in_progress(ctx)) >= ctx.config.max_concurrent_account_operations:
        raise _constraint("ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED",
                          "You have exceeded the allowed number of concurrent account creation requests. "
                          "Try again after the current requests complete.")
    tag_values = _merged_tags({}, tags)
    now = ctx.now()
    completes = now + timedelta(seconds=ctx.config.account_seconds)
    request_id = ctx.new_id("car-", 32, _ID_ALPHABET)
    request = {"AccountName": name, "Email": email, "RequestedTimestamp": now.isoformat(),
               "CompletesAt": completes.isoformat()}
    reason = _failure_reason(ctx, email)
    if reason:
        request["FailureReason"] = reason
    else:
        account_id = _new_account_id(ctx)
        request["AccountId"] = account_id
        ctx.state["accounts"][account_id] = {
            "Name": name, "Email": email, "ParentId": parent_id, "JoinedMethod": "CREATED",
            "JoinedTimestamp": completes.isoformat(), "ClosedAt": None,
        }
        if tag_values:
            ctx.state["tags"][account_id] = tag_values
        for role in roles:
            add_role(ctx, account_id, role, created_at=completes)
    ctx.state["requests"][request_id] = request
    return {"CreateAccountStatus": _request_view(ctx, request_id)}


@operation(SERVICE, "CreateAccount", key=lambda p: p["Email"])
def create_account(ctx, params):
    """Start creating an account in the root: IN_PROGRESS for ``config.account_seconds``, then
    SUCCEEDED or FAILED with AWS's FailureReason. Not idempotent (AWS has no token either)."""
    _check(ctx, params)
    roles = [params.get("RoleName", org_layout.ORG_ACCESS_ROLE), org_layout.PORTAL_ROLE]
    return _start_account_creation(ctx, name=params["AccountName"], email=params["Email"], parent_id=ROOT_ID,
                                   tags=params.get("Tags", []), roles=roles)


_VEND_FAILURES = {
    "EMAIL_ALREADY_EXISTS": "The email address {email} is already associated with an AWS account.",
    "CONCURRENT_ACCOUNT_MODIFICATION": "An account with the email address {email} is already being created.",
    "INVALID_EMAIL": "The email address {email} is not valid.",
    "ACCOUNT_LIMIT_EXCEEDED": "The organization has reached its maximum number of accounts.",
}


@operation(SERVICE, "_VendAccount", key=lambda p: p["AccountEmail"])
def vend_account(ctx, params):
    """Account Factory's account creation (internal: ``ctx.call`` only), into ``ParentId``.

    Returns ``{"CreateAccountStatus", "AccountId"}``. A creation known to fail is recorded (it
    shows in ListCreateAccountStatus) and raised as ``AwsError(<FailureReason>, message)``.
    """
    _check_input("CreateAccount", {"AccountName": params["AccountName"], "Email": params["AccountEmail"],
                                   "Tags": params.get("Tags", [])})
    _require_parent(ctx, params["ParentId"])
    roles = [org_layout.PORTAL_ROLE, *params.get("ExtraRoles", [])]
    email = params["AccountEmail"]
    result = _start_account_creation(ctx, name=params["AccountName"], email=email, parent_id=params["ParentId"],
                                     tags=params.get("Tags", []), roles=roles)
    request = ctx.state["requests"][result["CreateAccountStatus"]["Id"]]
    reason = request.get("FailureReason")
    if reason:
        message = _VEND_FAILURES.get(reason, "AWS Organizations could not create the account ({reason}).")
        raise AwsError(reason, message.format(email=email, reason=reason))
    return {**result, "AccountId": request["AccountId"]}


@operation(SERVICE, "DescribeCreateAccountStatus")
def describe_create_account_status(ctx, params):
    _check(ctx, params)
    if params["CreateAccountRequestId"] not in ctx.state["requests"]:
        raise _error("CreateAccountStatusNotFoundException",
                     "We can't find an create account request with the CreateAccountRequestId that you specified.")
    return {"CreateAccountStatus": _request_view(ctx, params["CreateAccountRequestId"])}


@operation(SERVICE, "ListCreateAccountStatus")
def list_create_account_status(ctx, params):
    """Newest first. Pages are cut before the ``States`` filter, so a page may be empty while
    ``NextToken`` is set (as AWS documents)."""
    _check(ctx, params)
    ordered = sorted(ctx.state["requests"], key=lambda rid: ctx.state["requests"][rid]["RequestedTimestamp"],
                     reverse=True)
    chunk, token = _listing(ctx, ordered, params)
    views = [_request_view(ctx, request_id) for request_id in chunk]
    states = params.get("States")
    if states:
        views = [view for view in views if view["State"] in states]
    return _with_token({"CreateAccountStatuses": views}, token)


# -- reading accounts and structure -----------------------------------------------------------------
@operation(SERVICE, "DescribeOrganization")
def describe_organization(ctx, params):
    """Callable from any account of the organization."""
    _check(ctx, params, management_only=False)
    if ctx.account_id not in ctx.state["accounts"]:
        raise _error("AWSOrganizationsNotInUseException",
                     "Your account is not a member of an organization.")
    management = ctx.state["accounts"][MANAGEMENT_ACCOUNT_ID]
    return {"Organization": {
        "Id": ORGANIZATION_ID, "Arn": _arn("organization", ORGANIZATION_ID), "FeatureSet": "ALL",
        "MasterAccountArn": f"arn:aws:organizations::{MANAGEMENT_ACCOUNT_ID}:account/{ORGANIZATION_ID}/"
                            f"{MANAGEMENT_ACCOUNT_ID}",
        "MasterAccountId": MANAGEMENT_ACCOUNT_ID, "MasterAccountEmail": management["Email"],
        "AvailablePolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}],
    }}


@operation(SERVICE, "ListRoots")
def list_roots(ctx, params):
    _check(ctx, params)
    root = {"Id": ROOT_ID, "Arn": _arn("root", ROOT_ID), "Name": "Root",
            "PolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]}
    chunk, token = _listing(ctx, [root], params)
    return _with_token({"Roots": chunk}, token)


@operation(SERVICE, "ListAccounts")
def list_accounts(ctx, params):
    _check(ctx, params)
    views = [_account_view(ctx, account_id, record) for account_id, record in _visible_accounts(ctx)]
    chunk, token = _listing(ctx, views, params)
    return _with_token({"Accounts": chunk}, token)


@operation(SERVICE, "ListAccountsForParent")
def list_accounts_for_parent(ctx, params):
    _check(ctx, params)
    _require_parent(ctx, params["ParentId"])
    views = [_account_view(ctx, account_id, record) for account_id, record in _visible_accounts(ctx)
             if record["ParentId"] == params["ParentId"]]
    chunk, token = _listing(ctx, views, params)
    return _with_token({"Accounts": chunk}, token)


@operation(SERVICE, "DescribeAccount")
def describe_account(ctx, params):
    _check(ctx, params)
    return {"Account": _account_view(ctx, params["AccountId"], _require_account(ctx, params["AccountId"]))}


@operation(SERVICE, "ListOrganizationalUnitsForParent")
def list_organizational_units_for_parent(ctx, params):
    _check(ctx, params)
    _require_parent(ctx, params["ParentId"])
    views = [_ou_view(ctx, ou_id) for ou_id, ou in ctx.state["ous"].items() if ou["ParentId"] == params["ParentId"]]
    chunk, token = _listing(ctx, views, params)
    return _with_token({"OrganizationalUnits": chunk}, token)


@operation(SERVICE, "DescribeOrganizationalUnit")
def describe_organizational_unit(ctx, params):
    _check(ctx, params)
    _require_ou(ctx, params["OrganizationalUnitId"])
    return {"OrganizationalUnit": _ou_view(ctx, params["OrganizationalUnitId"])}


@operation(SERVICE, "ListChildren")
def list_children(ctx, params):
    _check(ctx, params)
    _require_parent(ctx, params["ParentId"])
    if params["ChildType"] == "ORGANIZATIONAL_UNIT":
        ids = [ou_id for ou_id, ou in ctx.state["ous"].items() if ou["ParentId"] == params["ParentId"]]
    else:
        ids = [account_id for account_id, record in _visible_accounts(ctx) if record["ParentId"] == params["ParentId"]]
    chunk, token = _listing(ctx, [{"Id": child_id, "Type": params["ChildType"]} for child_id in ids], params)
    return _with_token({"Children": chunk}, token)


@operation(SERVICE, "ListParents")
def list_parents(ctx, params):
    _check(ctx, params)
    child_id = params["ChildId"]
    record = ctx.state["ous"].get(child_id) or ctx.state["accounts"].get(child_id)
    if record is None or (child_id in ctx.state["accounts"] and not _is_visible(ctx, record)):
        raise _error("ChildNotFoundException", "We can't find an organizational unit (OU) or account with the "
                     "ChildId that you specified.")
    parent_id = record["ParentId"]
    parent = {"Id": parent_id, "Type": "ROOT" if parent_id == ROOT_ID else "ORGANIZATIONAL_UNIT"}
    chunk, token = _listing(ctx, [parent], params)
    return _with_token({"Parents": chunk}, token)


# -- changing the structure -----------------------------------------------------------------------
@operation(SERVICE, "CreateOrganizationalUnit", key=lambda p: f"{p['ParentId']}/{p['Name']}")
def create_organizational_unit(ctx, params):
    _check(ctx, params)
    parent_id = params["ParentId"]
    _require_parent(ctx, parent_id)
    if len(_ancestry(ctx, parent_id)) > MAX_OU_DEPTH:
        raise _constraint("OU_DEPTH_LIMIT_EXCEEDED", "You attempted to create an OU tree that is too many levels deep.")
    _require_unique_ou_name(ctx, parent_id, params["Name"])
    tags = _merged_tags({}, params.get("Tags", []))
    ou_id = f"ou-{ROOT_ID[2:]}-{ctx.new_id('', 8, _ID_ALPHABET)}"
    ctx.state["ous"][ou_id] = {"Name": params["Name"], "ParentId": parent_id}
    if tags:
        ctx.state["tags"][ou_id] = tags
    return {"OrganizationalUnit": _ou_view(ctx, ou_id)}


def _require_unique_ou_name(ctx, parent_id: str, name: str) -> None:
    if any(ou["ParentId"] == parent_id and ou["Name"] == name for ou in ctx.state["ous"].values()):
        raise _error("DuplicateOrganizationalUnitException", "An OU with the same name already exists.")


@operation(SERVICE, "UpdateOrganizationalUnit")
def update_organizational_unit(ctx, params):
    _check(ctx, params)
    ou = _require_ou(ctx, params["OrganizationalUnitId"])
    if "Name" in params and params["Name"] != ou["Name"]:
        _require_unique_ou_name(ctx, ou["ParentId"], params["Name"])
        ou["Name"] = params["Name"]
    return {"OrganizationalUnit": _ou_view(ctx, params["OrganizationalUnitId"])}


@operation(SERVICE, "DeleteOrganizationalUnit")
def delete_organizational_unit(ctx, params):
    _check(ctx, params)
    ou_id = params["OrganizationalUnitId"]
    _require_ou(ctx, ou_id)
    has_children = (any(ou["ParentId"] == ou_id for ou in ctx.state["ous"].values())
                    or any(record["ParentId"] == ou_id for record in ctx.state["accounts"].values()))
    if has_children:
        raise _error("OrganizationalUnitNotEmptyException",
                     "The specified OU is not empty. Move all accounts to another root or to other OUs, remove all "
                     "child OUs, and try the operation again.")
    del ctx.state["ous"][ou_id]
    ctx.state["tags"].pop(ou_id, None)
    return {}


@operation(SERVICE, "MoveAccount", key=lambda p: f"{p['AccountId']}:{p['DestinationParentId']}")
def move_account(ctx, params):
    _check(ctx, params)
    record = _require_account(ctx, params["AccountId"])
    if not _parent_exists(ctx, params["SourceParentId"]):
        raise _error("SourceParentNotFoundException",
                     "We can't find a source root or OU with the ParentId that you specified.")
    if not _parent_exists(ctx, params["DestinationParentId"]):
        raise _error("DestinationParentNotFoundException",
                     "We can't find the destination container (a root or OU) with the ParentId that you specified.")
    if record["ParentId"] == params["DestinationParentId"]:
        raise _error("DuplicateAccountException", "That account is already present in the specified destination.")
    if record["ParentId"] != params["SourceParentId"]:
        raise _error("AccountNotFoundException", "You specified an account that doesn't exist.")
    record["ParentId"] = params["DestinationParentId"]
    return {}


@operation(SERVICE, "CloseAccount", key=lambda p: p["AccountId"])
def close_account(ctx, params):
    """PENDING_CLOSURE for ``config.account_seconds``, then CLOSED (still listed, as in AWS)."""
    _check(ctx, params)
    account_id = params["AccountId"]
    if account_id == MANAGEMENT_ACCOUNT_ID:
        raise _constraint("CANNOT_CLOSE_MANAGEMENT_ACCOUNT", "You can't close the management account with this API.")
    record = _require_account(ctx, account_id)
    if record.get("ClosedAt"):
        raise _error("AccountAlreadyClosedException", "You provided an account that is already closed.")
    members = len(ctx.state["accounts"]) - 1
    quota = min(1000, max(10, members // 10))
    window_start = ctx.now() - CLOSE_WINDOW
    recent = sum(1 for other in ctx.state["accounts"].values()
                 if other.get("ClosedAt") and _ts(other["ClosedAt"]) >= window_start)
    if recent >= quota:
        raise _constraint("CLOSE_ACCOUNT_QUOTA_EXCEEDED", "You have exceeded the close account quota for the past "
                          "30 days.")
    record["ClosedAt"] = ctx.now().isoformat()
    return {}


# -- tags -----------------------------------------------------------------------------------------
def _merged_tags(existing: dict[str, str], tags: list[dict]) -> dict[str, str]:
    """``existing`` with ``tags`` added or overwritten; refuses duplicate keys and more than 50 tags."""
    keys = [tag["Key"] for tag in tags]
    if len(keys) != len(set(keys)):
        raise _error("InvalidInputException", "You provided duplicate tag keys.", "DUPLICATE_TAG_KEY")
    merged = {**existing, **{tag["Key"]: tag["Value"] for tag in tags}}
    if len(merged) > MAX_TAGS:
        raise _constraint("MAX_TAG_LIMIT_EXCEEDED", f"You can attach no more than {MAX_TAGS} tags to a resource.")
    return merged


def _require_target(ctx, resource_id: str) -> None:
    exists = (resource_id == ROOT_ID or resource_id in ctx.state["ous"]
              or (resource_id in ctx.state["accounts"] and _is_visible(ctx, ctx.state["accounts"][resource_id])))
    if not exists:
        raise _error("TargetNotFoundException", "We can't find a root, OU, account, or policy with the TargetId "
                     "that you specified.")


@operation(SERVICE, "TagResource")
def tag_resource(ctx, params):
    """Add or overwrite tags of an account, OU or the root (at most 50 per resource)."""
    _check(ctx, params)
    _require_target(ctx, params["ResourceId"])
    ctx.state["tags"][params["ResourceId"]] = _merged_tags(ctx.state["tags"].get(params["ResourceId"], {}),
                                                           params["Tags"])
    return {}


@operation(SERVICE, "UntagResource")
def untag_resource(ctx, params):
    """Remove tag keys (absent keys are ignored, as in AWS)."""
    _check(ctx, params)
    _require_target(ctx, params["ResourceId"])
    tags = ctx.state["tags"].get(params["ResourceId"], {})
    for key in params["TagKeys"]:
        tags.pop(key, None)
    return {}


@operation(SERVICE, "ListTagsForResource")
def list_tags_for_resource(ctx, params):
    _check(ctx, params)
    _require_target(ctx, params["ResourceId"])
    tags = [{"Key": key, "Value": value} for key, value in ctx.state["tags"].get(params["ResourceId"], {}).items()]
    chunk, token = _listing(ctx, tags, params)
    return _with_token({"Tags": chunk}, token)


def account_tags(ctx, account_id: str) -> dict[str, str]:
    """The Organizations tags of an account (for other modules, e.g. cost allocation)."""
    return dict(ctx.service_state(SERVICE).get("tags", {}).get(account_id, {}))


# -- the seed -------------------------------------------------------------------------------------


@seeder(10)
def seed_organization(ctx):
    """The organization of ``org_layout``: OUs, accounts with tags, and their roles."""
    ctx.state.update({"ous": {}, "accounts": {}, "requests": {}, "tags": {}})
    for ou in org_layout.OUS:
        ctx.state["ous"][ou.id] = {"Name": ou.name, "ParentId": ou.parent_id}
    for account in org_layout.ACCOUNTS:
        is_management = account.id == MANAGEMENT_ACCOUNT_ID
        ctx.state["accounts"][account.id] = {
            "Name": account.name, "Email": account.email, "ParentId": account.parent_id,
            "JoinedMethod": "INVITED" if is_management else "CREATED", "JoinedTimestamp": org_layout.SEED_JOINED,
            "ClosedAt": None,
        }
        if account.tags:
            ctx.state["tags"][account.id] = dict(account.tags)
        joined = datetime.fromisoformat(org_layout.SEED_JOINED)
        add_role(ctx, account.id, org_layout.PORTAL_ROLE, created_at=joined)
        if not is_management:
            add_role(ctx, account.id, org_layout.ORG_ACCESS_ROLE, created_at=joined)
