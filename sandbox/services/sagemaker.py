"""SageMaker Model Registry: model package groups, model packages (versioned and unversioned) and
group resource policies, owned by the sandbox instead of moto (AWS_API.md §5, §11).

Differences from moto that matter to the portal: versions 1, 2, 3... per group; approval status
defaults to PendingManualApproval; UpdateModelPackage keeps what it is not told to change; a
package can be named "group/version"; groups in other accounts are reachable by ARN when the
group's resource policy allows it (the central registry); every approval status change emits
EventBridge's "SageMaker Model Package State Change" and an approval tells Service Catalog.

Studio (domains, user profiles, projects), endpoints, tags and the seed live in the sibling
``sagemaker_*`` modules, which share this service's state.
"""
from __future__ import annotations

import dataclasses
import json

from sandbox.core.errors import AwsError
from sandbox.services.sagemaker_common import (
    as_time, compact, created_between, event_time, make_arn, name_contains, now_iso, paginate,
    policy_allows, public_fields, records, sagemaker_operation, sort_records, split_arn, user_context,
    with_times,
)
from sandbox.services.sagemaker_tags import register_taggable

EVENT_SOURCE = "aws.sagemaker"
STATE_CHANGE = "SageMaker Model Package State Change"
MAX_CUSTOMER_METADATA = 50
MAX_INFERENCE_SPECIFICATIONS = 15

# CreateModelPackage members stored as given and returned by DescribeModelPackage.
ECHOED_PACKAGE_FIELDS = (
    "ModelPackageDescription", "InferenceSpecification", "SourceAlgorithmSpecification",
    "ValidationSpecification", "MetadataProperties", "ModelMetrics", "Domain", "Task",
    "SamplePayloadUrl", "CustomerMetadataProperties", "DriftCheckBaselines",
    "AdditionalInferenceSpecifications", "SkipModelValidation", "SourceUri", "SecurityConfig",
    "ModelCard", "ModelLifeCycle", "ManagedStorageType",
)
# UpdateModelPackage members that replace the stored value when given.
REPLACEABLE_PACKAGE_FIELDS = (
    "ModelApprovalStatus", "ApprovalDescription", "ModelPackageRegistrationType",
    "InferenceSpecification", "SourceUri", "ModelCard", "ModelLifeCycle",
)
# The members of the event's detail, in the order of AWS's sample (AWS_API.md §5.2).
EVENT_DETAIL_FIELDS = (
    "ModelPackageGroupName", "ModelPackageVersion", "ModelPackageArn", "ModelPackageDescription",
    "CreationTime", "InferenceSpecification", "ModelPackageStatus", "ModelPackageStatusDetails",
    "CertifyForMarketplace", "ModelApprovalStatus", "ApprovalDescription", "MetadataProperties",
    "ModelMetrics", "CustomerMetadataProperties", "ModelLifeCycle", "LastModifiedTime",
)
SUMMARY_FIELDS = (
    "ModelPackageName", "ModelPackageGroupName", "ModelPackageVersion", "ModelPackageArn",
    "ModelPackageDescription", "CreationTime", "ModelPackageStatus", "ModelApprovalStatus",
    "ModelLifeCycle", "ModelPackageRegistrationType",
)


def _invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message)


# -- model package groups ------------------------------------------------------------------
def add_model_package_group(ctx, name: str, *, description: str | None = None, tags: list | None = None,
                            created_at: str, created_by: dict, managed_configuration: dict | None = None) -> dict:
    """Store a new group in the context's account and region and return its record (no checks).
    Used by CreateModelPackageGroup and the seed."""
    group = compact({
        "ModelPackageGroupName": name,
        "ModelPackageGroupArn": make_arn(ctx, f"model-package-group/{name}"),
        "ModelPackageGroupDescription": description,
        "CreationTime": created_at,
        "CreatedBy": created_by,
        "ModelPackageGroupStatus": "Completed",
        "ManagedConfiguration": managed_configuration,
        "Tags": list(tags or []),
        "_latest_version": 0,
    })
    records(ctx, "groups")[name] = group
    return group


def _group_reference(ctx, name_or_arn: str) -> tuple[str, str, str]:
    """(account, region, name) of a group given by name (caller's account) or ARN."""
    if not name_or_arn.startswith("arn:"):
        return ctx.account_id, ctx.region, name_or_arn
    region, account, resource_type, name = split_arn(name_or_arn)
    if resource_type != "model-package-group":
        raise _invalid(f"{name_or_arn} is not a model package group ARN.")
    return account, region, name


def _find_group(ctx, name_or_arn: str, action: str) -> dict:
    """The group record, checking the group's resource policy when it is in another account."""
    account, region, name = _group_reference(ctx, name_or_arn)
    group = records(ctx, "groups", account, region).get(name)
    if group is None:
        arn = make_arn(ctx, f"model-package-group/{name}", account, region)
        raise _invalid(f"ModelPackageGroup {arn} does not exist.")
    _authorize(ctx, group, action, group["ModelPackageGroupArn"])
    return group


def _authorize(ctx, group: dict, action: str, resource_arn: str) -> None:
    _region, owner, _type, _name = split_arn(group["ModelPackageGroupArn"])
    if owner != ctx.account_id and not policy_allows(group.get("_resource_policy"), ctx.account_id,
                                                     f"sagemaker:{action}", resource_arn):
        caller = user_context(ctx)["IamIdentity"]["Arn"]
        raise AwsError("AccessDeniedException",
                       f"User: {caller} is not authorized to perform: "
                       f"sagemaker:{action} on resource: {resource_arn} because no resource-based "
                       f"policy allows the sagemaker:{action} action")


def _group_summary(group: dict) -> dict:
    return compact({
        "ModelPackageGroupName": group["ModelPackageGroupName"],
        "ModelPackageGroupArn": group["ModelPackageGroupArn"],
        "ModelPackageGroupDescription": group.get("ModelPackageGroupDescription"),
        "CreationTime": as_time(group["CreationTime"]),
        "ModelPackageGroupStatus": group["ModelPackageGroupStatus"],
        "ManagedConfiguration": group.get("ManagedConfiguration"),
    })


@sagemaker_operation("CreateModelPackageGroup", key=lambda p: p["ModelPackageGroupName"])
def create_model_package_group(ctx, params):
    """Create a group in the caller's account; a name already used is a ValidationException."""
    name = params["ModelPackageGroupName"]
    if name in records(ctx, "groups"):
        raise _invalid(f"Model Package Group already exists: {make_arn(ctx, f'model-package-group/{name}')}")
    group = add_model_package_group(
        ctx, name, description=params.get("ModelPackageGroupDescription"), tags=params.get("Tags"),
        created_at=now_iso(ctx), created_by=user_context(ctx),
        managed_configuration=params.get("ManagedConfiguration"))
    return {"ModelPackageGroupArn": group["ModelPackageGroupArn"]}


@sagemaker_operation("DescribeModelPackageGroup")
def describe_model_package_group(ctx, params):
    group = _find_group(ctx, params["ModelPackageGroupName"], "DescribeModelPackageGroup")
    return {**_group_summary(group), "CreatedBy": group["CreatedBy"]}


@sagemaker_operation("ListModelPackageGroups")
def list_model_package_groups(ctx, params):
    """Groups of the caller's account, or with ``CrossAccountFilterOption=CrossAccount`` the
    groups of other accounts whose resource policy lets this account describe them."""
    if params.get("CrossAccountFilterOption") == "CrossAccount":
        candidates = [
            group for account, regions in ctx.state.get("groups", {}).items() if account != ctx.account_id
            for group in regions.get(ctx.region, {}).values()
            if policy_allows(group.get("_resource_policy"), ctx.account_id, "sagemaker:DescribeModelPackageGroup",
                             group["ModelPackageGroupArn"])
        ]
    else:
        candidates = list(records(ctx, "groups").values())
    matching = [group for group in candidates
                if name_contains(group["ModelPackageGroupName"], params)
                and created_between(group["CreationTime"], params, "CreationTimeAfter", "CreationTimeBefore")]
    ordered = sort_records(matching, params, {"Name": lambda g: g["ModelPackageGroupName"],
                                              "CreationTime": lambda g: g["CreationTime"]},
                           default_by="CreationTime")
    page, token = paginate(ctx, ordered, params)
    return compact({"ModelPackageGroupSummaryList": [_group_summary(g) for g in page], "NextToken": token})


@sagemaker_operation("DeleteModelPackageGroup", key=lambda p: p["ModelPackageGroupName"])
def delete_model_package_group(ctx, params):
    """Delete an empty group (a group that still has versions is a conflict)."""
    group = _find_group(ctx, params["ModelPackageGroupName"], "DeleteModelPackageGroup")
    region, account, _type, name = split_arn(group["ModelPackageGroupArn"])
    if any(package.get("ModelPackageGroupName") == name
           for package in records(ctx, "packages", account, region).values()):
        raise AwsError("ConflictException",
                       f"Model Package Group {group['ModelPackageGroupArn']} cannot be deleted because it "
                       "contains model packages. Delete the model packages first.")
    del records(ctx, "groups", account, region)[name]
    return {}


@sagemaker_operation("PutModelPackageGroupPolicy", key=lambda p: p["ModelPackageGroupName"])
def put_model_package_group_policy(ctx, params):
    """Set (replace) the group's resource policy, e.g. to let dev accounts use a central registry."""
    group = _find_group(ctx, params["ModelPackageGroupName"], "PutModelPackageGroupPolicy")
    try:
        policy = json.loads(params["ResourcePolicy"])
    except ValueError:
        raise _invalid("The resource policy is not valid JSON.") from None
    if not isinstance(policy, dict) or not policy.get("Statement"):
        raise _invalid("The resource policy must contain at least one Statement.")
    group["_resource_policy"] = params["ResourcePolicy"]
    return {"ModelPackageGroupArn": group["ModelPackageGroupArn"]}


@sagemaker_operation("GetModelPackageGroupPolicy")
def get_model_package_group_policy(ctx, params):
    group = _find_group(ctx, params["ModelPackageGroupName"], "GetModelPackageGroupPolicy")
    if "_resource_policy" not in group:
        raise _invalid(f"Cannot find resource policy for {group['ModelPackageGroupArn']}.")
    return {"ResourcePolicy": group["_resource_policy"]}


@sagemaker_operation("DeleteModelPackageGroupPolicy", key=lambda p: p["ModelPackageGroupName"])
def delete_model_package_group_policy(ctx, params):
    group = _find_group(ctx, params["ModelPackageGroupName"], "DeleteModelPackageGroupPolicy")
    if group.pop("_resource_policy", None) is None:
        raise _invalid(f"Cannot find resource policy for {group['ModelPackageGroupArn']}.")
    return {}


# -- model packages --------------------------------------------------------------------------
def add_model_package(ctx, params: dict, *, group: dict | None, created_at: str, created_by: dict) -> dict:
    """Store a package built from CreateModelPackage ``params`` and return its record (no checks,
    no events). With ``group`` it is the group's next version, in the group's account, with the
    group's tags; without, an unversioned package named ``ModelPackageName`` in the caller's."""
    if group is not None:
        region, account, _type, group_name = split_arn(group["ModelPackageGroupArn"])
        group["_latest_version"] += 1
        key = f"{group_name}/{group['_latest_version']}"
        # No ModelPackageName: AWS answers versioned packages without one (developer guide's
        # samples of ListModelPackages and DescribeModelPackage); the ARN or "group/version" names them.
        identity = {"ModelPackageGroupName": group_name, "ModelPackageVersion": group["_latest_version"],
                    "ModelApprovalStatus": params.get("ModelApprovalStatus", "PendingManualApproval")}
        tags = list(group.get("Tags", []))
    else:
        region, account, key = ctx.region, ctx.account_id, params["ModelPackageName"]
        identity = {"ModelPackageName": key}
        tags = list(params.get("Tags", []))
    package = {
        **identity,
        "ModelPackageArn": make_arn(ctx, f"model-package/{key}", account, region),
        "CreationTime": created_at,
        "LastModifiedTime": created_at,
        "CreatedBy": created_by,
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
        "CertifyForMarketplace": params.get("CertifyForMarketplace", False),
        "ModelPackageRegistrationType": params.get("ModelPackageRegistrationType", "Registered"),
        **{field: params[field] for field in ECHOED_PACKAGE_FIELDS if field in params},
        "Tags": tags,
    }
    records(ctx, "packages", account, region)[key] = package
    return package


def find_model_package(ctx, name: str, action: str) -> dict:
    """A package by ARN, "group/version" or unversioned name; other accounts' packages need
    their group's resource policy to allow ``action``."""
    if name.startswith("arn:"):
        region, account, resource_type, key = split_arn(name)
        if resource_type != "model-package":
            raise _invalid(f"{name} is not a model package ARN.")
    else:
        region, account, key = ctx.region, ctx.account_id, name
    package = records(ctx, "packages", account, region).get(key)
    if package is None:
        raise _invalid(f"ModelPackage {make_arn(ctx, f'model-package/{key}', account, region)} does not exist.")
    if account != ctx.account_id:
        group = records(ctx, "groups", account, region).get(package.get("ModelPackageGroupName"))
        if group is None:
            raise _invalid(f"ModelPackage {package['ModelPackageArn']} does not exist.")
        _authorize(ctx, group, action, package["ModelPackageArn"])
    return package


def _name_of(package: dict) -> str:
    """What NameContains and SortBy=Name see: the unversioned name, or a version's group name."""
    return package.get("ModelPackageName") or package["ModelPackageGroupName"]


def _check_inference_specifications(specifications: list) -> None:
    if len(specifications) > MAX_INFERENCE_SPECIFICATIONS:
        raise _invalid(f"A model package can have at most {MAX_INFERENCE_SPECIFICATIONS} additional "
                       "inference specifications.")
    names = [spec["Name"] for spec in specifications]
    if len(names) != len(set(names)):
        raise _invalid("Additional inference specification names must be unique within a model package.")


def _describe(package: dict, included_data: str | None = None) -> dict:
    described = with_times(public_fields(package), "CreationTime", "LastModifiedTime")
    if included_data == "MetadataOnly" and "ModelCard" in described:
        described["ModelCard"] = {k: v for k, v in described["ModelCard"].items() if k != "ModelCardContent"}
    return described


@sagemaker_operation("CreateModelPackage", key=lambda p: p.get("ClientToken"))
def create_model_package(ctx, params):
    """Register a model version in a group (name or ARN; cross-account needs the group policy) or
    an unversioned package. A repeated ClientToken returns the first call's ARN and changes
    nothing. A new version gets SageMaker's auto-created lineage (``_RecordModelPackageLineage``)
    and is announced like an approval status change."""
    tokens = records(ctx, "client_tokens")
    token = params.get("ClientToken")
    if token and f"create:{token}" in tokens:
        ctx.ledger_note(effect=False)
        return {"ModelPackageArn": tokens[f"create:{token}"]}
    group_ref, name = params.get("ModelPackageGroupName"), params.get("ModelPackageName")
    if group_ref and name:
        raise _invalid("Both ModelPackageName and ModelPackageGroupName are provided in the input. "
                       "Cannot determine which one to use.")
    if not group_ref and not name:
        raise _invalid("Missing ARN.")
    _check_inference_specifications(params.get("AdditionalInferenceSpecifications", []))
    if group_ref:
        if params.get("Tags"):
            raise _invalid("Tags cannot be specified for a versioned model package: it uses the tags of "
                           "its model package group.")
        group = _find_group(ctx, group_ref, "CreateModelPackage")
    else:
        if "ModelApprovalStatus" in params:
            raise _invalid("ModelApprovalStatus can only be specified for versioned model packages.")
        if name in records(ctx, "packages"):
            raise _invalid(f"Model Package already exists: {make_arn(ctx, f'model-package/{name}')}")
        group = None
    package = add_model_package(ctx, params, group=group, created_at=now_iso(ctx), created_by=user_context(ctx))
    if token:
        tokens[f"create:{token}"] = package["ModelPackageArn"]
    if group is not None:
        _record_lineage(ctx, package)
        _announce_state_change(ctx, package)
    return {"ModelPackageArn": package["ModelPackageArn"]}


def _record_lineage(ctx, package: dict) -> None:
    """The lineage SageMaker creates by itself for a new version (when the lineage module is loaded)."""
    if not ctx.sandbox.implements("sagemaker", "_RecordModelPackageLineage"):
        return
    containers = package.get("InferenceSpecification", {}).get("Containers") or [{}]
    region, account, _type, _key = split_arn(package["ModelPackageArn"])
    ctx.call("sagemaker", "_RecordModelPackageLineage", compact({
        "ModelPackageArn": package["ModelPackageArn"],
        "ModelPackageGroupName": package["ModelPackageGroupName"],
        "ModelDataUrl": containers[0].get("ModelDataUrl"),
        "Image": containers[0].get("Image"),
        "GeneratedBy": package.get("MetadataProperties", {}).get("GeneratedBy"),
        "SourceUri": package.get("SourceUri"),
    }), account_id=account, region=region)


@sagemaker_operation("DescribeModelPackage")
def describe_model_package(ctx, params):
    package = find_model_package(ctx, params["ModelPackageName"], "DescribeModelPackage")
    return _describe(package, params.get("IncludedData"))


@sagemaker_operation("ListModelPackages")
def list_model_packages(ctx, params):
    """Packages of one group (its versions) or of the caller's account. Without a group the
    default ModelPackageType is Unversioned, as AWS documents."""
    group_ref = params.get("ModelPackageGroupName")
    if group_ref:
        group = _find_group(ctx, group_ref, "ListModelPackages")
        region, account, _type, group_name = split_arn(group["ModelPackageGroupArn"])
        candidates = [p for p in records(ctx, "packages", account, region).values()
                      if p.get("ModelPackageGroupName") == group_name]
        package_type = params.get("ModelPackageType", "Versioned")
    else:
        candidates = list(records(ctx, "packages").values())
        package_type = params.get("ModelPackageType", "Unversioned")
    matching = [
        p for p in candidates
        if (package_type == "Both" or ("ModelPackageVersion" in p) == (package_type == "Versioned"))
        and params.get("ModelApprovalStatus") in (None, p.get("ModelApprovalStatus"))
        and name_contains(_name_of(p), params)
        and created_between(p["CreationTime"], params, "CreationTimeAfter", "CreationTimeBefore")
    ]
    ordered = sort_records(matching, params, {
        "Name": lambda p: (_name_of(p), p.get("ModelPackageVersion", 0)),
        "CreationTime": lambda p: (p["CreationTime"], p.get("ModelPackageVersion", 0)),
    }, default_by="CreationTime")
    page, token = paginate(ctx, ordered, params)
    summaries = [with_times(compact({field: p.get(field) for field in SUMMARY_FIELDS}), "CreationTime")
                 for p in page]
    return compact({"ModelPackageSummaryList": summaries, "NextToken": token})


@sagemaker_operation("UpdateModelPackage", key=lambda p: p.get("ClientToken") or p["ModelPackageArn"])
def update_model_package(ctx, params):
    """Change approval status/description, customer metadata, additional inference
    specifications and the other updatable members. Omitted members are kept (unlike moto);
    a repeated ClientToken changes nothing. An approval status change emits the state change
    event and, for Approved, tells Service Catalog."""
    tokens = records(ctx, "client_tokens")
    token = params.get("ClientToken")
    if token and f"update:{token}" in tokens:
        ctx.ledger_note(effect=False)
        return {"ModelPackageArn": tokens[f"update:{token}"]}
    package = find_model_package(ctx, params["ModelPackageArn"], "UpdateModelPackage")
    versioned = "ModelPackageVersion" in package
    if "ModelApprovalStatus" in params and not versioned:
        raise _invalid("ModelApprovalStatus can only be updated for versioned model packages.")
    added = params.get("CustomerMetadataProperties", {})
    removed = params.get("CustomerMetadataPropertiesToRemove", [])
    if set(added) & set(removed):
        raise _invalid("A key cannot be in both CustomerMetadataProperties and CustomerMetadataPropertiesToRemove.")
    metadata = {**package.get("CustomerMetadataProperties", {}), **added}
    for key in removed:
        metadata.pop(key, None)
    if len(metadata) > MAX_CUSTOMER_METADATA:
        raise _invalid(f"A model package can have at most {MAX_CUSTOMER_METADATA} customer metadata properties.")
    additional = (package.get("AdditionalInferenceSpecifications", [])
                  + params.get("AdditionalInferenceSpecificationsToAdd", []))
    _check_inference_specifications(additional)

    previous_status = package.get("ModelApprovalStatus")
    package.update({field: params[field] for field in REPLACEABLE_PACKAGE_FIELDS if field in params})
    for field, value in (("CustomerMetadataProperties", metadata), ("AdditionalInferenceSpecifications", additional)):
        if value:
            package[field] = value
        else:
            package.pop(field, None)
    package["LastModifiedTime"] = now_iso(ctx)
    package["LastModifiedBy"] = user_context(ctx)
    if token:
        tokens[f"update:{token}"] = package["ModelPackageArn"]
    if versioned and package["ModelApprovalStatus"] != previous_status:
        _announce_state_change(ctx, package)
    return {"ModelPackageArn": package["ModelPackageArn"]}


@sagemaker_operation("DeleteModelPackage", key=lambda p: p["ModelPackageName"])
def delete_model_package(ctx, params):
    """Delete a package version; version numbers of a group are never reused."""
    package = find_model_package(ctx, params["ModelPackageName"], "DeleteModelPackage")
    region, account, _type, key = split_arn(package["ModelPackageArn"])
    del records(ctx, "packages", account, region)[key]
    return {}


# -- events ----------------------------------------------------------------------------------
def _event_detail(package: dict) -> dict:
    detail = {field: package[field] for field in EVENT_DETAIL_FIELDS if field in package}
    detail["CreationTime"] = event_time(package["CreationTime"])
    detail["LastModifiedTime"] = event_time(package["LastModifiedTime"])
    return detail


def _announce_state_change(ctx, package: dict) -> None:
    """Emit "SageMaker Model Package State Change" in the package owner's account and region;
    when the package is Approved and Service Catalog deploys on approval, tell it. A failure of
    that deployment is noted in the ledger: it does not undo the approval, as in AWS."""
    region, account, _type, _key = split_arn(package["ModelPackageArn"])
    owner_ctx = dataclasses.replace(ctx, account_id=account, region=region)
    owner_ctx.emit_event(source=EVENT_SOURCE, detail_type=STATE_CHANGE, detail=_event_detail(package),
                         resources=[package["ModelPackageArn"]])
    deploys_on_approval = ctx.sandbox.implements("servicecatalog", "_ModelPackageApproved")
    if package["ModelApprovalStatus"] == "Approved" and deploys_on_approval:
        try:
            ctx.call("servicecatalog", "_ModelPackageApproved",
                     {"ModelPackageArn": package["ModelPackageArn"],
                      "ModelPackageGroupName": package["ModelPackageGroupName"], "AccountId": account},
                     account_id=account, region=region)
        except AwsError as error:
            ctx.ledger_note(deployment_trigger_error=error.code)


def _tags_of(ctx, arn: str) -> list | None:
    region, account, resource_type, key = split_arn(arn)
    kind = {"model-package-group": "groups", "model-package": "packages"}[resource_type]
    record = records(ctx, kind, account, region).get(key)
    return None if record is None else record["Tags"]


register_taggable("model-package-group", _tags_of)
register_taggable("model-package", _tags_of)
