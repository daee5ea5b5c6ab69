"""SageMaker Studio: domains, user profiles and projects, owned by the sandbox (AWS_API.md §8).

All three are asynchronous: Pending (projects: Pending, CreateInProgress) until
``ctx.config.domain_seconds`` after creation, then InService (CreateCompleted); a deletion shows
Deleting (DeleteInProgress) for the same time, then the resource is gone. A domain accrues its
home EFS storage, a user profile its Studio app instance, from creation to deletion.
"""
from __future__ import annotations

from sandbox.core.errors import AwsError
from sandbox.services.sagemaker_common import (
    compact, created_between, instance_hourly_usd, lifecycle_phase, make_arn, merge_tags, name_contains,
    now_iso, paginate, public_fields, records, sagemaker_operation, seconds_since, sort_records, split_arn,
    start_meter, stop_meters, tags_as_dict, user_context, with_times,
)
from sandbox.services.sagemaker_tags import register_taggable

DOMAIN_STATUS = {"creating": "Pending", "updating": "Updating", "ready": "InService", "deleting": "Deleting"}
DOMAIN_MEMBERS = (
    "DomainName", "AuthMode", "DefaultUserSettings", "DomainSettings", "SubnetIds", "VpcId",
    "AppNetworkAccessType", "HomeEfsFileSystemKmsKeyId", "KmsKeyId", "AppSecurityGroupManagement",
    "HomeEfsFileSystemCreation", "TagPropagation", "DefaultSpaceSettings",
)
# UpdateDomain members that replace the domain's value, and the members of
# DomainSettingsForUpdate that have the same name and shape in DomainSettings.
DOMAIN_UPDATABLE = ("DefaultUserSettings", "AppSecurityGroupManagement", "DefaultSpaceSettings", "SubnetIds",
                    "AppNetworkAccessType", "TagPropagation", "HomeEfsFileSystemCreation", "VpcId")
DOMAIN_SETTINGS_UPDATABLE = ("ExecutionRoleIdentityConfig", "SecurityGroupIds", "TrustedIdentityPropagationSettings",
                             "DockerSettings", "AmazonQSettings", "UnifiedStudioSettings", "IpAddressType")
# A domain's home EFS: ~20 GB of EFS Standard at $0.30 per GB-month, 730 hours a month.
DOMAIN_HOURLY_USD = round(20 * 0.30 / 730, 4)
FIRST_HOME_UID = 200001
DEFAULT_STUDIO_INSTANCE = "ml.t3.medium"
STUDIO_APPS = ("JupyterLabAppSettings", "JupyterServerAppSettings", "KernelGatewayAppSettings", "CodeEditorAppSettings")
PROJECT_STATUS = {"ready": "CreateCompleted", "deleting": "DeleteInProgress"}


def _not_found(kind: str, identifier: str) -> AwsError:
    return AwsError("ResourceNotFound", f"{kind} {identifier} does not exist.")


# -- domains ---------------------------------------------------------------------------------
def _live_domain(ctx, domain_id: str) -> tuple[dict, str]:
    """The domain record and its lifecycle phase; a missing or deleted domain is ResourceNotFound."""
    domain = records(ctx, "domains").get(domain_id)
    phase = lifecycle_phase(ctx, domain, ctx.config.domain_seconds) if domain else None
    if phase is None:
        raise _not_found("Domain", make_arn(ctx, f"domain/{domain_id}"))
    return domain, phase


def _check_domain_network(settings: dict) -> None:
    if not settings.get("DefaultUserSettings", {}).get("ExecutionRole"):
        raise AwsError("ValidationException", "DefaultUserSettings.ExecutionRole is required.")
    if not settings.get("VpcId") or not settings.get("SubnetIds"):
        raise AwsError("ValidationException", "VpcId and SubnetIds are required to create a domain.")
    if (settings.get("AppNetworkAccessType") == "VpcOnly"
            and not settings.get("DefaultUserSettings", {}).get("SecurityGroups")):
        raise AwsError("ValidationException",
                       "DefaultUserSettings.SecurityGroups is required when AppNetworkAccessType is VpcOnly.")


@sagemaker_operation("CreateDomain", key=lambda p: p["DomainName"])
def create_domain(ctx, params):
    """Create a domain (Pending, then InService) with its home EFS; starts the EFS cost meter.
    The name must not be used by another domain of the account and region."""
    _check_domain_network(params)
    for other in records(ctx, "domains").values():
        if (other["DomainName"] == params["DomainName"]
                and lifecycle_phase(ctx, other, ctx.config.domain_seconds) is not None):
            raise AwsError("ResourceInUse", f"Domain {other['DomainArn']} already uses the name "
                                            f"{params['DomainName']}.")
    domain_id = ctx.new_id("d-", 12)
    domain = compact({
        "DomainId": domain_id,
        "DomainArn": make_arn(ctx, f"domain/{domain_id}"),
        **{member: params.get(member) for member in DOMAIN_MEMBERS},
        "AppNetworkAccessType": params.get("AppNetworkAccessType", "PublicInternetOnly"),
        "Url": f"https://{domain_id}.studio.{ctx.region}.sagemaker.aws",
        "CreationTime": now_iso(ctx),
        "LastModifiedTime": now_iso(ctx),
        "Tags": list(params.get("Tags", [])),
        "_next_uid": FIRST_HOME_UID,
    })
    if params.get("HomeEfsFileSystemCreation") != "Disabled":
        domain["HomeEfsFileSystemId"] = ctx.new_id("fs-", 17, "0123456789abcdef")
    if params["AuthMode"] == "SSO":
        instance = ctx.new_id("", 16, "0123456789abcdef")
        domain["SingleSignOnManagedApplicationInstanceId"] = f"ins-{instance}"
        domain["SingleSignOnApplicationArn"] = (f"arn:aws:sso::{ctx.account_id}:application/ssoins-{instance}/"
                                                f"apl-{ctx.new_id('', 16, '0123456789abcdef')}")
    records(ctx, "domains")[domain_id] = domain
    start_meter(ctx, domain, domain["DomainArn"], usage="Studio:HomeEFS-ByteHrs", hourly_usd=DOMAIN_HOURLY_USD,
                tags=tags_as_dict(domain["Tags"]))
    return {"DomainArn": domain["DomainArn"], "DomainId": domain_id, "Url": domain["Url"]}


@sagemaker_operation("DescribeDomain")
def describe_domain(ctx, params):
    domain, phase = _live_domain(ctx, params["DomainId"])
    return {**with_times(public_fields(domain), "CreationTime", "LastModifiedTime"), "Status": DOMAIN_STATUS[phase]}


@sagemaker_operation("ListDomains")
def list_domains(ctx, params):
    live = []
    for domain in records(ctx, "domains").values():
        phase = lifecycle_phase(ctx, domain, ctx.config.domain_seconds)
        if phase is not None:
            live.append({**with_times({key: domain[key] for key in (
                "DomainArn", "DomainId", "DomainName", "CreationTime", "LastModifiedTime", "Url")},
                "CreationTime", "LastModifiedTime"), "Status": DOMAIN_STATUS[phase]})
    page, token = paginate(ctx, sorted(live, key=lambda d: d["CreationTime"]), params)
    return compact({"Domains": page, "NextToken": token})


@sagemaker_operation("UpdateDomain", key=lambda p: p["DomainId"])
def update_domain(ctx, params):
    """Replace the given settings of an InService domain; it is Updating for a while after."""
    domain, phase = _live_domain(ctx, params["DomainId"])
    if phase != "ready":
        raise AwsError("ResourceInUse", f"Domain {domain['DomainArn']} is in {DOMAIN_STATUS[phase]} status and "
                                        "cannot be updated.")
    updated = {**domain, **{member: params[member] for member in DOMAIN_UPDATABLE if member in params}}
    _check_domain_network(updated)
    settings_update = params.get("DomainSettingsForUpdate", {})
    settings = {**domain.get("DomainSettings", {}),
                **{key: settings_update[key] for key in DOMAIN_SETTINGS_UPDATABLE if key in settings_update}}
    if settings:
        updated["DomainSettings"] = settings
    updated["LastModifiedTime"] = updated["_updated"] = now_iso(ctx)
    domain.update(updated)
    return {"DomainArn": domain["DomainArn"]}


@sagemaker_operation("DeleteDomain", key=lambda p: p["DomainId"])
def delete_domain(ctx, params):
    """Start deleting a domain that has no user profiles left; stops its cost meter. Deleting a
    domain that is already Deleting changes nothing."""
    domain, phase = _live_domain(ctx, params["DomainId"])
    if phase == "deleting":
        ctx.ledger_note(effect=False)
        return {}
    if any(profile["DomainId"] == domain["DomainId"]
           and lifecycle_phase(ctx, profile, ctx.config.domain_seconds) is not None
           for profile in records(ctx, "user_profiles").values()):
        raise AwsError("ResourceInUse", f"Domain {domain['DomainArn']} has user profiles. Delete them before "
                                        "deleting the domain.")
    domain["_deleted"] = now_iso(ctx)
    stop_meters(ctx, domain)
    return {}


# -- user profiles ---------------------------------------------------------------------------
def _profile_key(domain_id: str, name: str) -> str:
    return f"{domain_id}/{name.lower()}"     # profile names are unique per domain, ignoring case


def _live_profile(ctx, domain_id: str, name: str) -> tuple[dict, str]:
    profile = records(ctx, "user_profiles").get(_profile_key(domain_id, name))
    phase = lifecycle_phase(ctx, profile, ctx.config.domain_seconds) if profile else None
    if phase is None:
        raise _not_found("User profile", make_arn(ctx, f"user-profile/{domain_id}/{name.lower()}"))
    return profile, phase


def _studio_instance_type(*settings: dict) -> str:
    """The default instance type of the first Studio app configured in ``settings`` (profile's
    first, then the domain's), else ml.t3.medium."""
    for user_settings in settings:
        for app in STUDIO_APPS:
            instance_type = user_settings.get(app, {}).get("DefaultResourceSpec", {}).get("InstanceType")
            if instance_type and instance_type != "system":
                return instance_type
    return DEFAULT_STUDIO_INSTANCE


@sagemaker_operation("CreateUserProfile", key=lambda p: _profile_key(p["DomainId"], p["UserProfileName"]))
def create_user_profile(ctx, params):
    """Create a user profile in a domain (SSO domains need the user's identity, IAM domains must
    not get one); starts the cost meter of the profile's Studio app with domain + profile tags."""
    domain, phase = _live_domain(ctx, params["DomainId"])
    if phase == "deleting":
        raise AwsError("ResourceInUse", f"Domain {domain['DomainArn']} is being deleted.")
    if domain["AuthMode"] == "SSO" and not (params.get("SingleSignOnUserIdentifier")
                                            and params.get("SingleSignOnUserValue")):
        raise AwsError("ValidationException", "SingleSignOnUserIdentifier and SingleSignOnUserValue are required "
                                              "for a user profile in a domain that uses SSO authentication.")
    if domain["AuthMode"] == "IAM" and ("SingleSignOnUserIdentifier" in params or "SingleSignOnUserValue" in params):
        raise AwsError("ValidationException", "SingleSignOnUserIdentifier and SingleSignOnUserValue are not "
                                              "supported for a domain that uses IAM authentication.")
    name, key = params["UserProfileName"], _profile_key(params["DomainId"], params["UserProfileName"])
    existing = records(ctx, "user_profiles").get(key)
    if existing and lifecycle_phase(ctx, existing, ctx.config.domain_seconds) is not None:
        raise AwsError("ResourceInUse", f"User profile {existing['UserProfileName']} already exists in domain "
                                        f"{domain['DomainId']}.")
    profile = compact({
        "DomainId": domain["DomainId"],
        "UserProfileArn": make_arn(ctx, f"user-profile/{domain['DomainId']}/{name.lower()}"),
        "UserProfileName": name,
        "HomeEfsFileSystemUid": str(domain["_next_uid"]),
        "CreationTime": now_iso(ctx),
        "LastModifiedTime": now_iso(ctx),
        "SingleSignOnUserIdentifier": params.get("SingleSignOnUserIdentifier"),
        "SingleSignOnUserValue": params.get("SingleSignOnUserValue"),
        "UserSettings": params.get("UserSettings"),
        "Tags": list(params.get("Tags", [])),
    })
    domain["_next_uid"] += 1
    records(ctx, "user_profiles")[key] = profile
    instance_type = _studio_instance_type(params.get("UserSettings", {}), domain["DefaultUserSettings"])
    start_meter(ctx, profile, profile["UserProfileArn"], usage=f"Studio:JupyterLab-{instance_type}",
                hourly_usd=instance_hourly_usd(instance_type),
                tags=tags_as_dict(merge_tags(domain.get("Tags", []), profile["Tags"])))
    return {"UserProfileArn": profile["UserProfileArn"]}


@sagemaker_operation("DescribeUserProfile")
def describe_user_profile(ctx, params):
    profile, phase = _live_profile(ctx, params["DomainId"], params["UserProfileName"])
    return {**with_times(public_fields(profile), "CreationTime", "LastModifiedTime"), "Status": DOMAIN_STATUS[phase]}


@sagemaker_operation("ListUserProfiles")
def list_user_profiles(ctx, params):
    live = []
    for profile in records(ctx, "user_profiles").values():
        phase = lifecycle_phase(ctx, profile, ctx.config.domain_seconds)
        if (phase is not None and params.get("DomainIdEquals") in (None, profile["DomainId"])
                and name_contains(profile["UserProfileName"], params, "UserProfileNameContains")):
            live.append({**with_times({key: profile[key] for key in (
                "DomainId", "UserProfileName", "CreationTime", "LastModifiedTime")},
                "CreationTime", "LastModifiedTime"), "Status": DOMAIN_STATUS[phase]})
    ordered = sort_records(live, params, {"CreationTime": lambda p: p["CreationTime"],
                                          "LastModifiedTime": lambda p: p["LastModifiedTime"]},
                           default_by="CreationTime")
    page, token = paginate(ctx, ordered, params)
    return compact({"UserProfiles": page, "NextToken": token})


@sagemaker_operation("DeleteUserProfile", key=lambda p: _profile_key(p["DomainId"], p["UserProfileName"]))
def delete_user_profile(ctx, params):
    """Start deleting a profile and stop its cost meter; repeating it while Deleting changes nothing."""
    profile, phase = _live_profile(ctx, params["DomainId"], params["UserProfileName"])
    if phase == "deleting":
        ctx.ledger_note(effect=False)
        return {}
    profile["_deleted"] = now_iso(ctx)
    stop_meters(ctx, profile)
    return {}


# -- projects --------------------------------------------------------------------------------
def _project_status(ctx, project: dict) -> str | None:
    """Pending for the first half of the creation time, then CreateInProgress, CreateCompleted;
    DeleteInProgress while deleting; None once deleted."""
    phase = lifecycle_phase(ctx, project, ctx.config.domain_seconds)
    if phase == "creating":
        first_half = seconds_since(ctx, project["CreationTime"]) < ctx.config.domain_seconds / 2
        return "Pending" if first_half else "CreateInProgress"
    return PROJECT_STATUS.get(phase)


def _live_project(ctx, name: str) -> tuple[dict, str]:
    project = records(ctx, "projects").get(name)
    status = _project_status(ctx, project) if project else None
    if status is None:
        raise AwsError("ValidationException", f"Project {make_arn(ctx, f'project/{name.lower()}')} does not exist.")
    return project, status


@sagemaker_operation("CreateProject", key=lambda p: p["ProjectName"])
def create_project(ctx, params):
    """Create a project from a Service Catalog product or a CloudFormation template provider:
    Pending, CreateInProgress, then CreateCompleted. The sandbox does not provision the product
    itself (Service Catalog products that create projects call this operation)."""
    name = params["ProjectName"]
    if bool(params.get("ServiceCatalogProvisioningDetails")) == bool(params.get("TemplateProviders")):
        raise AwsError("ValidationException",
                       "Exactly one of ServiceCatalogProvisioningDetails and TemplateProviders is required.")
    existing = records(ctx, "projects").get(name)
    if existing and _project_status(ctx, existing) is not None:
        raise AwsError("ValidationException", f"Project {existing['ProjectArn']} already exists.")
    project = compact({
        "ProjectArn": make_arn(ctx, f"project/{name.lower()}"),
        "ProjectName": name,
        "ProjectId": ctx.new_id("p-", 12),
        "ProjectDescription": params.get("ProjectDescription"),
        "ServiceCatalogProvisioningDetails": params.get("ServiceCatalogProvisioningDetails"),
        "TemplateProviderDetails": [{"CfnTemplateProviderDetail": provider["CfnTemplateProvider"]}
                                    for provider in params.get("TemplateProviders", [])] or None,
        "CreatedBy": user_context(ctx),
        "CreationTime": now_iso(ctx),
        "LastModifiedTime": now_iso(ctx),
        "Tags": list(params.get("Tags", [])),
    })
    records(ctx, "projects")[name] = project
    return {"ProjectArn": project["ProjectArn"], "ProjectId": project["ProjectId"]}


@sagemaker_operation("DescribeProject")
def describe_project(ctx, params):
    project, status = _live_project(ctx, params["ProjectName"])
    return {**with_times(public_fields(project), "CreationTime", "LastModifiedTime"), "ProjectStatus": status}


@sagemaker_operation("ListProjects")
def list_projects(ctx, params):
    live = []
    for project in records(ctx, "projects").values():
        status = _project_status(ctx, project)
        if (status is not None and name_contains(project["ProjectName"], params)
                and created_between(project["CreationTime"], params, "CreationTimeAfter", "CreationTimeBefore")):
            live.append({**with_times(compact({key: project.get(key) for key in (
                "ProjectName", "ProjectDescription", "ProjectArn", "ProjectId", "CreationTime")}), "CreationTime"),
                "ProjectStatus": status})
    ordered = sort_records(live, params, {"Name": lambda p: p["ProjectName"],
                                          "CreationTime": lambda p: p["CreationTime"]}, default_by="CreationTime")
    page, token = paginate(ctx, ordered, params)
    return compact({"ProjectSummaryList": page, "NextToken": token})


@sagemaker_operation("DeleteProject", key=lambda p: p["ProjectName"])
def delete_project(ctx, params):
    """Start deleting a project (DeleteInProgress, then gone); repeating it changes nothing."""
    project, status = _live_project(ctx, params["ProjectName"])
    if status == "DeleteInProgress":
        ctx.ledger_note(effect=False)
        return {}
    project["_deleted"] = project["LastModifiedTime"] = now_iso(ctx)
    return {}


# -- tags --------------------------------------------------------------------------------------
def _tags_of(ctx, arn: str) -> list | None:
    region, account, resource_type, rest = split_arn(arn)
    if resource_type == "domain":
        record = records(ctx, "domains", account, region).get(rest)
    elif resource_type == "user-profile":
        record = records(ctx, "user_profiles", account, region).get(rest.lower())
    else:
        record = next((p for p in records(ctx, "projects", account, region).values()
                       if p["ProjectArn"] == arn), None)
    if record is None or lifecycle_phase(ctx, record, ctx.config.domain_seconds) is None:
        return None
    return record["Tags"]


for _resource_type in ("domain", "user-profile", "project"):
    register_taggable(_resource_type, _tags_of)
