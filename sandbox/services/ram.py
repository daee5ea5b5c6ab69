"""AWS RAM (AWS_API.md §9): resource shares of SageMaker model cards, their associations,
managed permissions and invitations. rest-json, so members are lowerCamel.

State, under ``ctx.state`` (the ``ram`` service dict), keyed by ARN across accounts:

    shares[arn] = {arn, name, owner, region, allow_external, status, tags, created, updated,
                   configuration, permissions: {resource type: permission arn},
                   resources: {arn: association}, principals: {principal: association}}
        association = {status, created, updated, external}
    invitations[arn] = {arn, share, sender, receiver, created, status}
    tokens["account region operation token"] = {hash, share}

Every seeded account is in one organization with sharing enabled, so principals inside it are
ASSOCIATED at once; an account outside it gets a PENDING invitation (expiring after 7 days) and
its association stays ASSOCIATING until it accepts. Create/Associate answer ``ASSOCIATING`` as
AWS does; reads show the settled status. ``permitted_actions`` tells other modules (model cards)
what a consumer account may do with a shared resource.
"""
from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta

from sandbox.core import org_layout
from sandbox.core.engine import params_hash
from sandbox.core.errors import AwsError
from sandbox.core.paging import page
from sandbox.core.registry import operation, own_service
from sandbox.core.validation import check_input
from sandbox.services import organizations

own_service("ram")   # moto's RAM keeps state of its own that would disagree with these shares

MODEL_CARD_TYPE = "sagemaker:ModelCard"
_MODEL_CARD_ACTIONS = ("sagemaker:DescribeModelCard", "sagemaker:ListModelCardVersions",
                       "sagemaker:UpdateModelCard")
# AWS managed permissions (names per the SageMaker docs, ARNs per RAM's convention). The
# creation time is nominal: AWS does not publish it.
MANAGED_PERMISSIONS = {
    "arn:aws:ram::aws:permission/AWSRAMPermissionSageMakerModelCards": {
        "name": "AWSRAMPermissionSageMakerModelCards", "resourceType": MODEL_CARD_TYPE, "default": True,
        "actions": _MODEL_CARD_ACTIONS},
    "arn:aws:ram::aws:permission/AWSRAMPermissionSageMakerModelCardsAllowExport": {
        "name": "AWSRAMPermissionSageMakerModelCardsAllowExport", "resourceType": MODEL_CARD_TYPE,
        "default": False,
        "actions": _MODEL_CARD_ACTIONS + ("sagemaker:CreateModelCardExportJob",
                                          "sagemaker:DescribeModelCardExportJob")},
}
_PERMISSIONS_PUBLISHED = datetime.fromisoformat("2023-12-05T00:00:00+00:00")
# (service, ARN resource prefix) -> RAM resource type
SHAREABLE = {("sagemaker", "model-card"): MODEL_CARD_TYPE}
RESOURCE_ARN = re.compile(r"arn:aws:([a-z0-9-]+):([a-z0-9-]*):([0-9]{12}):([a-z-]+)[/:](.+)")
ORGANIZATION_ARN = (f"arn:aws:organizations::{org_layout.MANAGEMENT_ACCOUNT_ID}:organization/"
                    f"{org_layout.ORGANIZATION_ID}")
OU_ARN = re.compile(r"arn:aws:organizations::\d{12}:ou/(o-\w+)/(ou-[\w-]+)")
PRINCIPAL = re.compile(r"\d{12}|arn:aws(-cn|-us-gov)?:iam::(\d{12}):(root|role/.+|user/.+)|[a-z0-9-]+\.amazonaws\.com")
INVITATION_LIFETIME = timedelta(days=7)


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)


def ram_operation(name: str, **options):
    """Register ``fn`` as ``ram:name`` after RAM's server-side checks of ``params`` against the
    model (enums, maxResults); RAM reports them as InvalidParameterException."""
    def register(fn):
        @functools.wraps(fn)
        def handler(ctx, params):
            check_input("ram", name, params, code="InvalidParameterException")
            return fn(ctx, params)
        return operation("ram", name, **options)(handler)
    return register


def _page(ctx, items: list, params: dict, key: str) -> dict:
    """One page of ``items`` under ``key`` (maxResults default 500), with ``nextToken``."""
    chunk, token = page(items, params.get("nextToken"), params.get("maxResults"), default_max=500,
                        scope=ctx.operation, invalid_token=AwsError(
                            "InvalidNextTokenException", "The specified value for NextToken is not valid."))
    return {key: chunk, **({"nextToken": token} if token else {})}


# -- state and lookups --------------------------------------------------------------------------
def _shares(ctx) -> dict:
    return ctx.service_state("ram").setdefault("shares", {})


def _invitations(ctx) -> dict:
    return ctx.service_state("ram").setdefault("invitations", {})


def _uuid(ctx) -> str:
    raw = ctx.new_id("", 32, "0123456789abcdef")
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


def _organization_path(ctx, account_id: str) -> list[str] | None:
    """The OU ids above an account of the organization, root first; None outside it. Read from
    Organizations, so accounts created or moved later count."""
    for account in organizations.visible_accounts(ctx):
        if account["Id"] == account_id:
            return [part for part in account["Paths"][0].split("/") if part.startswith("ou-")]
    return None


def _principal_account(principal: str) -> str | None:
    """The account an account-id or IAM principal belongs to (None for org, OU, service)."""
    match = PRINCIPAL.fullmatch(principal)
    return (match.group(2) or match.group(0)) if match and not match.group(0).endswith(".amazonaws.com") else None


def _covers(ctx, principal: str, account_id: str) -> bool:
    """True when a share principal (account, IAM principal, organization, OU) includes the account."""
    if principal == ORGANIZATION_ARN:
        return _organization_path(ctx, account_id) is not None
    ou = OU_ARN.fullmatch(principal)
    if ou:
        return ou.group(2) in (_organization_path(ctx, account_id) or [])
    return _principal_account(principal) == account_id


def _shared_with(ctx, share: dict, account_id: str) -> bool:
    return share["status"] == "ACTIVE" and any(
        association["status"] == "ASSOCIATED" and _covers(ctx, principal, account_id)
        for principal, association in share["principals"].items())


def permitted_actions(ctx, resource_arn: str, account_id: str) -> set[str]:
    """The actions ``account_id`` may perform on another account's ``resource_arn`` through
    active shares that associate both (empty when it is not shared with that account)."""
    actions = set()
    for share in _shares(ctx).values():
        association = share["resources"].get(resource_arn)
        if association and association["status"] == "ASSOCIATED" and _shared_with(ctx, share, account_id):
            resource_type = _resource_type(resource_arn)
            actions.update(MANAGED_PERMISSIONS[share["permissions"][resource_type]]["actions"])
    return actions


def _resource_type(resource_arn: str) -> str:
    service, _region, _account, prefix, _rest = RESOURCE_ARN.fullmatch(resource_arn).groups()
    return SHAREABLE[(service, prefix)]


def _owned_share(ctx, arn: str) -> dict:
    share = _shares(ctx).get(arn)
    if share is None or share["owner"] != ctx.account_id or share["region"] != ctx.region:
        raise AwsError("UnknownResourceException", f"ResourceShare {arn} could not be found.")
    return share


def _visible_share(ctx, arn: str) -> dict:
    """A share the caller owns or that is shared with the caller."""
    share = _shares(ctx).get(arn)
    if share and share["region"] == ctx.region and (
            share["owner"] == ctx.account_id or _shared_with(ctx, share, ctx.account_id)):
        return share
    raise AwsError("UnknownResourceException", f"ResourceShare {arn} could not be found.")


def _iso(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


# -- idempotency --------------------------------------------------------------------------------
def _replayed_share(ctx, params: dict, operation_name: str) -> str | None:
    """The share a previous call with this clientToken produced (None for a new token).

    The same token with different parameters is an IdempotentParameterMismatchException.
    """
    token = params.get("clientToken")
    if not token:
        return None
    record = ctx.service_state("ram").setdefault("tokens", {}).get(
        f"{ctx.account_id} {ctx.region} {operation_name} {token}")
    if record is None:
        return None
    if record["hash"] != params_hash({k: v for k, v in params.items() if k != "clientToken"}):
        raise AwsError("IdempotentParameterMismatchException",
                       f"The client token {token} was already used with different parameters.")
    ctx.ledger_note(key=token, effect=False)
    return record["share"]


def _remember_token(ctx, params: dict, operation_name: str, share_arn: str) -> str:
    """Record the call's clientToken (generated when omitted, as RAM does); returns it."""
    token = params.get("clientToken") or _uuid(ctx)
    ctx.service_state("ram").setdefault("tokens", {})[f"{ctx.account_id} {ctx.region} {operation_name} {token}"] = {
        "hash": params_hash({k: v for k, v in params.items() if k != "clientToken"}), "share": share_arn}
    ctx.ledger_note(key=token)
    return token


# -- validation of what is shared, and with whom -------------------------------------------------
def _check_resource(ctx, resource_arn: str) -> str:
    """The RAM resource type of an ARN the caller owns and may share; raises otherwise."""
    match = RESOURCE_ARN.fullmatch(resource_arn)
    if not match:
        raise AwsError("MalformedArnException",
                       f"The specified resource ARN {resource_arn} is not valid. Verify the ARN and try again.")
    service, region, account_id, prefix, _name = match.groups()
    if (service, prefix) not in SHAREABLE:
        raise AwsError("MalformedArnException", "You cannot share the selected resource type.")
    if account_id != ctx.account_id:
        raise AwsError("OperationNotPermittedException",
                       f"You can share only resources that your account owns: {resource_arn}.")
    if region != ctx.region or not _model_card_exists(ctx, resource_arn):
        raise AwsError("UnknownResourceException", f"Resource {resource_arn} could not be found.")
    return SHAREABLE[(service, prefix)]


def _model_card_exists(ctx, card_arn: str) -> bool:
    try:
        ctx.call("sagemaker", "DescribeModelCard", {"ModelCardName": card_arn})
    except AwsError:
        return False
    return True


def _check_principal(ctx, principal: str, share: dict) -> bool:
    """Validate a principal for ``share``; True when it is outside the organization."""
    if principal == ORGANIZATION_ARN:
        return False
    if principal.startswith("arn:aws:organizations::") and ":organization/" in principal:
        raise AwsError("UnknownResourceException",
                       f"Organization {principal.rsplit('/', 1)[-1]} could not be found.")
    ou = OU_ARN.fullmatch(principal)
    if ou:
        known_ous = ctx.service_state("organizations").get("ous", {})
        if ou.group(1) != org_layout.ORGANIZATION_ID or ou.group(2) not in known_ous:
            raise AwsError("UnknownResourceException",
                           f"OrganizationalUnit {ou.group(2)} in unknown organization could not be found.")
        return False
    if not PRINCIPAL.fullmatch(principal):
        raise _invalid(f"Principal ID {principal} is malformed. Verify the ID and try again.")
    account_id = _principal_account(principal)
    if account_id == share["owner"]:
        raise _invalid(f"The principal {principal} is the owner of the resource share.")
    external = account_id is not None and _organization_path(ctx, account_id) is None
    if external and not share["allow_external"]:
        raise AwsError("OperationNotPermittedException",
                       f"The resource share {share['arn']} does not allow external principals: {principal} "
                       "is not in your organization.")
    return external


def _check_permissions(permission_arns: list) -> dict:
    """{resource type: permission arn} of the requested permissions (at most one per type)."""
    chosen = {}
    for arn in permission_arns:
        permission = MANAGED_PERMISSIONS.get(arn)
        if permission is None:
            raise AwsError("UnknownResourceException", f"Permission {arn} could not be found.")
        if permission["resourceType"] in chosen:
            raise _invalid(f"You can associate only one permission per resource type "
                           f"({permission['resourceType']}).")
        chosen[permission["resourceType"]] = arn
    return chosen


def _default_permission(resource_type: str) -> str:
    return next(arn for arn, permission in MANAGED_PERMISSIONS.items()
                if permission["resourceType"] == resource_type and permission["default"])


def _associate(ctx, share: dict, resource_arns: list, principals: list) -> None:
    """Add resources and principals to ``share``, all validated first so a failure changes
    nothing. Re-adding a disassociated entity revives it; an outside account is invited once."""
    types = {arn: _check_resource(ctx, arn) for arn in resource_arns}
    external = {principal: _check_principal(ctx, principal, share) for principal in principals}
    now = ctx.now().isoformat()
    for arn, resource_type in types.items():
        share["permissions"].setdefault(resource_type, _default_permission(resource_type))
        created = share["resources"].get(arn, {}).get("created", now)
        share["resources"][arn] = {"status": "ASSOCIATED", "created": created, "updated": now, "external": False}
    for principal, is_external in external.items():
        previous = share["principals"].get(principal, {})
        if previous.get("status") in ("ASSOCIATED", "ASSOCIATING"):
            continue
        share["principals"][principal] = {"status": "ASSOCIATING" if is_external else "ASSOCIATED",
                                          "created": previous.get("created", now), "updated": now,
                                          "external": is_external}
        if is_external:
            _invite(ctx, share, _principal_account(principal), now)
    if resource_arns or principals:
        share["updated"] = now


def _invite(ctx, share: dict, receiver: str, now: str) -> None:
    arn = f"arn:aws:ram:{share['region']}:{share['owner']}:resource-share-invitation/{_uuid(ctx)}"
    _invitations(ctx)[arn] = {"arn": arn, "share": share["arn"], "sender": share["owner"],
                              "receiver": receiver, "created": now, "status": "PENDING"}


def _requested(params: dict) -> list[tuple[str, str]]:
    """The (association type, entity) pairs an Associate/Disassociate call names."""
    return [("RESOURCE", arn) for arn in params.get("resourceArns") or []] + [
        ("PRINCIPAL", principal) for principal in params.get("principals") or []]


def _associations_of(share: dict, kind: str) -> dict:
    return share["resources"] if kind == "RESOURCE" else share["principals"]


def _refuse_sources(params: dict) -> None:
    if params.get("sources"):
        raise _invalid("Sources are supported only for service principals of the shared resource types.")


def _require_active(share: dict) -> None:
    if share["status"] != "ACTIVE":
        raise AwsError("InvalidStateTransitionException",
                       f"The resource share {share['arn']} is {share['status']} and cannot be changed.")


# -- descriptions -------------------------------------------------------------------------------
def _describe_share(share: dict) -> dict:
    result = {
        "resourceShareArn": share["arn"], "name": share["name"], "owningAccountId": share["owner"],
        "allowExternalPrincipals": share["allow_external"], "status": share["status"],
        "tags": share["tags"], "creationTime": _iso(share["created"]),
        "lastUpdatedTime": _iso(share["updated"]), "featureSet": "STANDARD",
    }
    if share["configuration"] is not None:
        result["resourceShareConfiguration"] = share["configuration"]
    return result


def _describe_association(share: dict, kind: str, entity: str, status: str | None = None) -> dict:
    association = _associations_of(share, kind)[entity]
    return {
        "resourceShareArn": share["arn"], "resourceShareName": share["name"], "associatedEntity": entity,
        "associationType": kind, "status": status or association["status"],
        "creationTime": _iso(association["created"]), "lastUpdatedTime": _iso(association["updated"]),
        "external": association["external"],
    }


def _describe_permission(arn: str) -> dict:
    permission = MANAGED_PERMISSIONS[arn]
    return {
        "arn": arn, "version": "1", "defaultVersion": True, "name": permission["name"],
        "resourceType": permission["resourceType"], "status": "ATTACHABLE",
        "creationTime": _PERMISSIONS_PUBLISHED, "lastUpdatedTime": _PERMISSIONS_PUBLISHED,
        "isResourceTypeDefault": permission["default"], "permissionType": "AWS_MANAGED",
        "featureSet": "STANDARD",
    }


def _invitation_status(ctx, invitation: dict) -> str:
    if invitation["status"] == "PENDING" and ctx.now() >= _iso(invitation["created"]) + INVITATION_LIFETIME:
        return "EXPIRED"
    return invitation["status"]


def _describe_invitation(ctx, invitation: dict) -> dict:
    share = _shares(ctx)[invitation["share"]]
    return {
        "resourceShareInvitationArn": invitation["arn"], "resourceShareName": share["name"],
        "resourceShareArn": share["arn"], "senderAccountId": invitation["sender"],
        "receiverAccountId": invitation["receiver"], "invitationTimestamp": _iso(invitation["created"]),
        "status": _invitation_status(ctx, invitation),
    }


# -- operations ---------------------------------------------------------------------------------
@ram_operation("CreateResourceShare", key=lambda p: p.get("clientToken") or p.get("name"))
def create_resource_share(ctx, params):
    """Create an ACTIVE share with its resources, principals and permissions. Idempotent per
    clientToken: a repeat returns the same share."""
    replayed = _replayed_share(ctx, params, "CreateResourceShare")
    if replayed:
        return {"resourceShare": _describe_share(_shares(ctx)[replayed]), "clientToken": params["clientToken"]}
    if not params.get("name"):
        raise _invalid("The name of the resource share must not be empty.")
    _refuse_sources(params)
    tags = params.get("tags") or []
    if any(not tag.get("key") for tag in tags):
        raise _invalid("A tag key must not be empty.")
    now = ctx.now().isoformat()
    arn = f"arn:aws:ram:{ctx.region}:{ctx.account_id}:resource-share/{_uuid(ctx)}"
    share = {
        "arn": arn, "name": params["name"], "owner": ctx.account_id, "region": ctx.region,
        "allow_external": params.get("allowExternalPrincipals", True), "status": "ACTIVE", "tags": tags,
        "created": now, "updated": now, "configuration": params.get("resourceShareConfiguration"),
        "permissions": _check_permissions(params.get("permissionArns") or []), "resources": {}, "principals": {},
    }
    _associate(ctx, share, params.get("resourceArns") or [], params.get("principals") or [])
    _shares(ctx)[arn] = share
    token = _remember_token(ctx, params, "CreateResourceShare", arn)
    return {"resourceShare": _describe_share(share), "clientToken": token}


@ram_operation("AssociateResourceShare", key=lambda p: p.get("clientToken") or p.get("resourceShareArn"))
def associate_resource_share(ctx, params):
    """Add resources and/or principals to an owned share (ASSOCIATING in the answer). Idempotent
    per clientToken."""
    entities = _requested(params)
    replayed = _replayed_share(ctx, params, "AssociateResourceShare")
    if replayed:
        share = _shares(ctx)[replayed]
        return {"resourceShareAssociations": [_describe_association(share, kind, entity, "ASSOCIATING")
                                              for kind, entity in entities],
                "clientToken": params["clientToken"]}
    share = _owned_share(ctx, params["resourceShareArn"])
    _require_active(share)
    _refuse_sources(params)
    if not entities:
        raise _invalid("Specify at least one resource ARN or principal.")
    _associate(ctx, share, params.get("resourceArns") or [], params.get("principals") or [])
    token = _remember_token(ctx, params, "AssociateResourceShare", share["arn"])
    return {"resourceShareAssociations": [_describe_association(share, kind, entity, "ASSOCIATING")
                                          for kind, entity in entities], "clientToken": token}


@ram_operation("DisassociateResourceShare", key=lambda p: p.get("clientToken") or p.get("resourceShareArn"))
def disassociate_resource_share(ctx, params):
    """Remove resources and/or principals from an owned share (DISASSOCIATING in the answer,
    DISASSOCIATED when read). Idempotent per clientToken."""
    entities = _requested(params)
    replayed = _replayed_share(ctx, params, "DisassociateResourceShare")
    share = _shares(ctx)[replayed] if replayed else _owned_share(ctx, params["resourceShareArn"])
    if not replayed:
        if not entities:
            raise _invalid("Specify at least one resource ARN or principal.")
        now = ctx.now().isoformat()
        for kind, entity in entities:
            association = _associations_of(share, kind).get(entity)
            if association is None or association["status"] == "DISASSOCIATED":
                raise AwsError("UnknownResourceException",
                               f"{entity} is not associated with resource share {share['arn']}.")
        for kind, entity in entities:
            _associations_of(share, kind)[entity].update(status="DISASSOCIATED", updated=now)
        share["updated"] = now
    token = params["clientToken"] if replayed else _remember_token(ctx, params, "DisassociateResourceShare",
                                                                   share["arn"])
    return {"resourceShareAssociations": [_describe_association(share, kind, entity, "DISASSOCIATING")
                                          for kind, entity in entities], "clientToken": token}


@ram_operation("DeleteResourceShare", key=lambda p: p.get("clientToken") or p.get("resourceShareArn"))
def delete_resource_share(ctx, params):
    """Delete an owned share: status DELETED, every association DISASSOCIATED. Idempotent per
    clientToken; deleting an already deleted share otherwise is an invalid transition."""
    replayed = _replayed_share(ctx, params, "DeleteResourceShare")
    if replayed:
        return {"returnValue": True, "clientToken": params["clientToken"]}
    share = _owned_share(ctx, params["resourceShareArn"])
    if share["status"] == "DELETED":
        raise AwsError("InvalidStateTransitionException", f"The resource share {share['arn']} is already deleted.")
    now = ctx.now().isoformat()
    for association in [*share["resources"].values(), *share["principals"].values()]:
        association.update(status="DISASSOCIATED", updated=now)
    share.update(status="DELETED", updated=now)
    return {"returnValue": True, "clientToken": _remember_token(ctx, params, "DeleteResourceShare", share["arn"])}


def _owned_or_received(ctx, share: dict, resource_owner: str) -> bool:
    """In the caller's region, and the caller's own (SELF) or shared with it (OTHER-ACCOUNTS)."""
    if share["region"] != ctx.region:
        return False
    if resource_owner == "SELF":
        return share["owner"] == ctx.account_id
    return _shared_with(ctx, share, ctx.account_id)


def _tags_match(share: dict, tag_filters: list) -> bool:
    """Every filter's key is present with one of its values (any value when none are given)."""
    tags = {tag["key"]: tag.get("value") for tag in share["tags"]}
    return all(tag_filter.get("tagKey") in tags
               and (not tag_filter.get("tagValues") or tags[tag_filter["tagKey"]] in tag_filter["tagValues"])
               for tag_filter in tag_filters)


@ram_operation("GetResourceShares")
def get_resource_shares(ctx, params):
    """Shares the caller owns (SELF, deleted ones included) or that are shared with it
    (OTHER-ACCOUNTS), filtered by ARN, status, name, permission and tags."""
    shares = [_describe_share(share) for share in _shares(ctx).values()
              if _owned_or_received(ctx, share, params["resourceOwner"])
              and (not params.get("resourceShareArns") or share["arn"] in params["resourceShareArns"])
              and params.get("resourceShareStatus") in (None, share["status"])
              and params.get("name") in (None, share["name"])
              and params.get("permissionArn") in (None, *share["permissions"].values())
              and params.get("permissionVersion") in (None, 1)
              and _tags_match(share, params.get("tagFilters") or [])]
    return _page(ctx, shares, params, "resourceShares")


@ram_operation("GetResourceShareAssociations")
def get_resource_share_associations(ctx, params):
    """Principal or resource associations of the caller's shares, every status included."""
    kind = params["associationType"]
    if kind == "PRINCIPAL" and params.get("resourceArn"):
        raise _invalid("You cannot specify a resource ARN when the association type is PRINCIPAL.")
    if kind == "RESOURCE" and params.get("principal"):
        raise _invalid("You cannot specify a principal when the association type is RESOURCE.")
    wanted_entity = params.get("resourceArn") or params.get("principal")
    associations = []
    for share in _shares(ctx).values():
        if share["owner"] != ctx.account_id or share["region"] != ctx.region or (
                params.get("resourceShareArns") and share["arn"] not in params["resourceShareArns"]):
            continue
        entities = {} if kind == "SOURCE" else _associations_of(share, kind)   # sources are not supported
        for entity, association in entities.items():
            if wanted_entity in (None, entity) and params.get("associationStatus") in (None, association["status"]):
                associations.append(_describe_association(share, kind, entity))
    return _page(ctx, associations, params, "resourceShareAssociations")


@ram_operation("ListPermissions")
def list_permissions(ctx, params):
    """The managed permissions for ``resourceType`` (all of them when omitted)."""
    resource_type = params.get("resourceType")
    known_types = {permission["resourceType"].lower() for permission in MANAGED_PERMISSIONS.values()}
    if resource_type and resource_type.lower() not in known_types:
        raise _invalid(f"Invalid resource type: {resource_type}")
    # Only AWS managed, attachable permissions exist here: none are customer managed or shared by others.
    only_managed = (params.get("permissionType") in (None, "ALL", "AWS_MANAGED")
                    and params.get("permissionStatus") in (None, "ATTACHABLE")
                    and params.get("resourceOwner") != "OTHER-ACCOUNTS")
    arns = [arn for arn, permission in MANAGED_PERMISSIONS.items()
            if only_managed and (not resource_type or permission["resourceType"].lower() == resource_type.lower())]
    return _page(ctx, [_describe_permission(arn) for arn in arns], params, "permissions")


@ram_operation("ListResourceSharePermissions")
def list_resource_share_permissions(ctx, params):
    """The permissions attached to a share the caller owns or receives."""
    share = _visible_share(ctx, params["resourceShareArn"])
    return _page(ctx, [_describe_permission(arn) for arn in share["permissions"].values()], params, "permissions")


def _shares_for(ctx, params: dict) -> list[dict]:
    """Active shares the caller owns (SELF) or receives (OTHER-ACCOUNTS), by resourceShareArns."""
    wanted = params.get("resourceShareArns")
    return [share for share in _shares(ctx).values()
            if share["status"] == "ACTIVE" and (not wanted or share["arn"] in wanted)
            and _owned_or_received(ctx, share, params["resourceOwner"])]


def _check_resource_type(params: dict) -> None:
    resource_type = params.get("resourceType")
    if resource_type and resource_type.lower() not in {kind.lower() for kind in SHAREABLE.values()}:
        raise AwsError("InvalidResourceTypeException", "The specified resource type is not valid.")


@ram_operation("ListResources")
def list_resources(ctx, params):
    """Resources the caller shares (SELF) or that are shared with it (OTHER-ACCOUNTS)."""
    _check_resource_type(params)
    if params.get("resourceOwner") == "OTHER-ACCOUNTS" and params.get("principal"):
        raise _invalid("You cannot specify a principal when resourceOwner is OTHER-ACCOUNTS.")
    resources = []
    for share in _shares_for(ctx, params):
        if params.get("principal") and params["principal"] not in share["principals"]:
            continue
        for arn, association in share["resources"].items():
            resource_type = _resource_type(arn)
            if (association["status"] != "ASSOCIATED"
                    or (params.get("resourceArns") and arn not in params["resourceArns"])
                    or params.get("resourceType", resource_type).lower() != resource_type.lower()
                    or params.get("resourceRegionScope") == "GLOBAL"):
                continue
            resources.append({"arn": arn, "type": resource_type, "resourceShareArn": share["arn"],
                              "status": "AVAILABLE", "creationTime": _iso(association["created"]),
                              "lastUpdatedTime": _iso(association["updated"]), "resourceRegionScope": "REGIONAL"})
    return _page(ctx, resources, params, "resources")


@ram_operation("ListPrincipals")
def list_principals(ctx, params):
    """SELF: the principals the caller shares with; OTHER-ACCOUNTS: the accounts sharing with it."""
    _check_resource_type(params)
    own = params.get("resourceOwner") == "SELF"
    principals = []
    for share in _shares_for(ctx, params):
        resources = {arn for arn, association in share["resources"].items() if association["status"] == "ASSOCIATED"}
        if ((params.get("resourceArn") and params["resourceArn"] not in resources)
                or (params.get("resourceType") and not any(
                    _resource_type(arn).lower() == params["resourceType"].lower() for arn in resources))):
            continue
        if own:
            entries = [(principal, association) for principal, association in share["principals"].items()
                       if association["status"] == "ASSOCIATED"]
        else:
            entries = [(share["owner"], {"created": share["created"], "updated": share["updated"], "external": False})]
        for principal, association in entries:
            if params.get("principals") and principal not in params["principals"]:
                continue
            principals.append({"id": principal, "resourceShareArn": share["arn"],
                               "creationTime": _iso(association["created"]),
                               "lastUpdatedTime": _iso(association["updated"]), "external": association["external"]})
    return _page(ctx, principals, params, "principals")


@ram_operation("GetResourceShareInvitations")
def get_resource_share_invitations(ctx, params):
    """Invitations the caller's account has received (PENDING ones expire after 7 days)."""
    if params.get("resourceShareInvitationArns") and params.get("resourceShareArns"):
        raise _invalid("Specify either resourceShareInvitationArns or resourceShareArns, not both.")
    wanted = params.get("resourceShareInvitationArns")
    for arn in wanted or []:
        if arn not in _invitations(ctx):
            raise AwsError("ResourceShareInvitationArnNotFoundException",
                           f"ResourceShareInvitation {arn} could not be found.")
    invitations = [_describe_invitation(ctx, invitation) for invitation in _invitations(ctx).values()
                   if invitation["receiver"] == ctx.account_id
                   and (not wanted or invitation["arn"] in wanted)
                   and (not params.get("resourceShareArns") or invitation["share"] in params["resourceShareArns"])]
    return _page(ctx, invitations, params, "resourceShareInvitations")


_ANSWERED = {"ACCEPTED": ("ResourceShareInvitationAlreadyAcceptedException", "has already been accepted"),
             "REJECTED": ("ResourceShareInvitationAlreadyRejectedException", "has already been rejected"),
             "EXPIRED": ("ResourceShareInvitationExpiredException", "has expired")}


def _answer_invitation(ctx, params: dict, accept: bool) -> dict:
    """Accept or reject a pending invitation of the caller's account: its principal associations
    become ASSOCIATED or FAILED. Idempotent per clientToken."""
    operation_name = "AcceptResourceShareInvitation" if accept else "RejectResourceShareInvitation"
    arn = params["resourceShareInvitationArn"]
    invitation = _invitations(ctx).get(arn)
    if invitation is None or invitation["receiver"] != ctx.account_id:
        raise AwsError("ResourceShareInvitationArnNotFoundException",
                       f"ResourceShareInvitation {arn} could not be found.")
    if _replayed_share(ctx, params, operation_name):
        return {"resourceShareInvitation": _describe_invitation(ctx, invitation), "clientToken": params["clientToken"]}
    status = _invitation_status(ctx, invitation)
    if status in _ANSWERED:
        code, reason = _ANSWERED[status]
        raise AwsError(code, f"ResourceShareInvitation {arn} {reason}.")
    share = _shares(ctx)[invitation["share"]]
    now = ctx.now().isoformat()
    invitation["status"] = "ACCEPTED" if accept else "REJECTED"
    for principal, association in share["principals"].items():
        if _principal_account(principal) == ctx.account_id and association["status"] == "ASSOCIATING":
            association.update(status="ASSOCIATED" if accept else "FAILED", updated=now)
    token = _remember_token(ctx, params, operation_name, share["arn"])
    return {"resourceShareInvitation": _describe_invitation(ctx, invitation), "clientToken": token}


@ram_operation("AcceptResourceShareInvitation",
               key=lambda p: p.get("clientToken") or p["resourceShareInvitationArn"])
def accept_resource_share_invitation(ctx, params):
    return _answer_invitation(ctx, params, accept=True)


@ram_operation("RejectResourceShareInvitation",
               key=lambda p: p.get("clientToken") or p["resourceShareInvitationArn"])
def reject_resource_share_invitation(ctx, params):
    return _answer_invitation(ctx, params, accept=False)


@ram_operation("UpdateResourceShare", key=lambda p: p.get("clientToken") or p["resourceShareArn"])
def update_resource_share(ctx, params):
    """Rename an owned share or change whether it allows external principals. Idempotent per
    clientToken."""
    replayed = _replayed_share(ctx, params, "UpdateResourceShare")
    share = _shares(ctx)[replayed] if replayed else _owned_share(ctx, params["resourceShareArn"])
    if not replayed:
        _require_active(share)
        if params.get("name") == "":
            raise _invalid("The name of the resource share must not be empty.")
        share.update(name=params.get("name") or share["name"],
                     allow_external=params.get("allowExternalPrincipals", share["allow_external"]),
                     updated=ctx.now().isoformat())
    token = params["clientToken"] if replayed else _remember_token(ctx, params, "UpdateResourceShare", share["arn"])
    return {"resourceShare": _describe_share(share), "clientToken": token}


@ram_operation("ListResourceTypes")
def list_resource_types(ctx, params):
    """The resource types the sandbox can share (all regional)."""
    scope = params.get("resourceRegionScope") or "ALL"
    types = [{"resourceType": resource_type, "serviceName": service, "resourceRegionScope": "REGIONAL"}
             for (service, _prefix), resource_type in SHAREABLE.items() if scope in ("ALL", "REGIONAL")]
    return _page(ctx, types, params, "resourceTypes")


@ram_operation("EnableSharingWithAwsOrganization")
def enable_sharing_with_aws_organization(ctx, params):
    """Sharing with the organization is enabled from the start; only the management account may
    (re-)enable it."""
    if ctx.account_id != org_layout.MANAGEMENT_ACCOUNT_ID:
        raise AwsError("OperationNotPermittedException",
                       "Unable to enable sharing with AWS Organizations. Received AccessDeniedException from "
                       "AWSOrganizations with the following error message: You don't have permissions to access "
                       "this resource.")
    return {"returnValue": True}
