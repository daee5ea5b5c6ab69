"""What provisioning a seeded product does in the other services (the "CloudFormation stack").

An effect runs when its record settles (servicecatalog_provisioning.settle), exactly once per record,
in the provisioned product's account and region (``begin`` runs when a PROVISION record starts, for
work that must be under way as long as the record is). It calls the other services' registered
operations (``ctx.call``) and raises ``AwsError`` to make the record FAIL with that error. Each
effect keeps the physical ids it created in ``pp["resources"]`` (logical id -> physical id) and
returns the stack outputs.
"""
from __future__ import annotations

import re

from sandbox.core.errors import AwsError
from sandbox.core.org_layout import CONTROL_TOWER_ROLE, MANAGEMENT_ACCOUNT_ID, ROOT_ID

CUSTOM_NAME_ERROR = ("CloudFormation cannot update a stack when a custom-named resource requires replacing. "
                     "Rename {name} and update the stack again.")


def stack_error(message: str) -> AwsError:
    """A failure as CloudFormation reports it in the record's RecordErrors."""
    return AwsError("ValidationError", message)


def split_list(value: str) -> list[str]:
    """A CommaDelimitedList parameter's items."""
    return [item.strip() for item in value.split(",") if item.strip()]


def changed_properties(resource: dict, old: dict, new: dict) -> list[tuple[str, str, str]]:
    """(property, causing parameter, RequiresRecreation) for each property whose inputs changed."""
    return [(name, key, spec["recreation"])
            for name, spec in resource["properties"].items()
            for key in spec["parameters"] if old.get(key) != new.get(key)]


class Effect:
    """A product without side effects: provisioning only records parameters and outputs."""
    duration_setting = "provision_seconds"
    custom_name_parameter: str | None = None   # the parameter that names the physical resource

    def parameter_overrides(self, ctx) -> dict[str, dict]:
        """Parameter constraints computed at call time (ParameterKey -> constraint members)."""
        return {}

    def begin(self, ctx, pp: dict, values: dict) -> AwsError | None:
        """Work that starts with the record (before it settles); returns an error to fail it with."""
        return None

    def provision(self, ctx, pp: dict, values: dict) -> dict[str, str]:
        return {}

    def update(self, ctx, pp: dict, old: dict, new: dict, template: dict) -> dict[str, str]:
        """Update in place, or replace when a property that requires recreation changed."""
        needs_replacement = any(recreation == "ALWAYS" for resource in template["resources"]
                                for _name, _key, recreation in changed_properties(resource, old, new))
        if not needs_replacement:
            return self.update_in_place(ctx, pp, old, new)
        name_key = self.custom_name_parameter
        if name_key and old.get(name_key) == new.get(name_key):
            raise stack_error(CUSTOM_NAME_ERROR.format(name=new[name_key]))
        previous = dict(pp["resources"])
        outputs = self.provision(ctx, pp, new)
        replaced = {key: physical for key, physical in previous.items() if pp["resources"].get(key) != physical}
        self.delete(ctx, pp, replaced, old)
        return outputs

    def update_in_place(self, ctx, pp: dict, old: dict, new: dict) -> dict[str, str]:
        return dict(pp["outputs"])

    def terminate(self, ctx, pp: dict, values: dict) -> None:
        self.delete(ctx, pp, pp["resources"], values)

    def delete(self, ctx, pp: dict, resources: dict, values: dict) -> None:
        """Delete the physical resources in ``resources`` (a previous generation on replacement)."""

    def plan_changes(self, pp: dict | None, old_template: dict | None, new_template: dict,
                     old: dict | None, new: dict) -> list[dict]:
        """CloudFormation's change set for moving from (old template, values) to the new ones."""
        old_resources = {r["LogicalResourceId"]: r for r in (old_template or {"resources": []})["resources"]}
        changes = []
        for resource in new_template["resources"]:
            logical_id = resource["LogicalResourceId"]
            if pp is None or logical_id not in old_resources:
                changes.append(_change("ADD", resource))
                continue
            changed = changed_properties(resource, old, new)
            if changed:
                changes.append(_modify(resource, pp["resources"].get(logical_id), changed))
        for logical_id, resource in old_resources.items():
            if logical_id not in {r["LogicalResourceId"] for r in new_template["resources"]}:
                changes.append(_change("REMOVE", resource, pp["resources"].get(logical_id)))
        return changes


def _change(action: str, resource: dict, physical_id: str | None = None) -> dict:
    change = {"Action": action, "LogicalResourceId": resource["LogicalResourceId"],
              "ResourceType": resource["ResourceType"], "Scope": [], "Details": []}
    if physical_id:
        change["PhysicalResourceId"] = physical_id
    return change


def _modify(resource: dict, physical_id: str | None, changed: list[tuple[str, str, str]]) -> dict:
    change = _change("MODIFY", resource, physical_id)
    change["Replacement"] = "TRUE" if any(recreation == "ALWAYS" for *_rest, recreation in changed) else "FALSE"
    attributes = ["TAGS" if name == "Tags" else "PROPERTIES" for name, _key, _recreation in changed]
    change["Scope"] = sorted(set(attributes))
    change["Details"] = [
        {"Target": {"Attribute": attribute, "Name": name, "RequiresRecreation": recreation},
         "Evaluation": "STATIC", "CausingEntity": key}
        for attribute, (name, key, recreation) in zip(attributes, changed)]
    return change


def _sagemaker(ctx, pp: dict, operation: str, params: dict, account: str | None = None) -> dict:
    return ctx.call("sagemaker", operation, params, account_id=account or pp["account"], region=pp["region"])


def _tags(pp: dict, **extra: str) -> list[dict]:
    """The tags every resource of ``pp`` carries: the product's and the request's, plus ``extra``."""
    return [{"Key": key, "Value": value} for key, value in {**pp["tags"], **extra}.items()]


def _ignore_missing(call, *args, **kwargs) -> None:
    """Delete something that may already be gone (CloudFormation treats that as deleted). SageMaker
    answers a missing endpoint or project with ValidationException, a missing domain with ResourceNotFound."""
    try:
        call(*args, **kwargs)
    except AwsError as error:
        if error.code not in ("ResourceNotFound", "ResourceNotFoundException", "ValidationException"):
            raise


# -- SageMaker Studio ------------------------------------------------------------------------
class StudioDomain(Effect):
    """A SageMaker Studio domain (SageMaker meters its home EFS)."""
    custom_name_parameter = "DomainName"

    def _user_settings(self, pp: dict, values: dict) -> dict:
        settings = {"ExecutionRole": values.get("SageMakerExecutionRoleArn")
                    or f"arn:aws:iam::{pp['account']}:role/SageMakerExecutionRole"}
        if values.get("SecurityGroupIds"):
            settings["SecurityGroups"] = split_list(values["SecurityGroupIds"])
        if values.get("DefaultInstanceType"):
            settings["JupyterLabAppSettings"] = {"DefaultResourceSpec": {"InstanceType": values["DefaultInstanceType"]}}
        return settings

    def provision(self, ctx, pp, values):
        extra = {"EnvironmentType": values["EnvironmentName"]}
        if values.get("NetworkIsolation"):
            extra["NetworkIsolation"] = values["NetworkIsolation"]
        request = {"DomainName": values["DomainName"], "AuthMode": values.get("AuthMode", "IAM"),
                   "DefaultUserSettings": self._user_settings(pp, values), "VpcId": values["VpcId"],
                   "SubnetIds": split_list(values["SubnetIds"]),
                   "AppNetworkAccessType": values["AppNetworkAccessType"], "Tags": _tags(pp, **extra)}
        if values.get("KmsKeyId"):
            request["KmsKeyId"] = values["KmsKeyId"]
        created = _sagemaker(ctx, pp, "CreateDomain", request)
        pp["resources"] = {"SageMakerStudioDomain": created["DomainId"]}
        return {"DomainId": created["DomainId"], "DomainArn": created["DomainArn"], "StudioUrl": created["Url"]}

    def update_in_place(self, ctx, pp, old, new):
        _sagemaker(ctx, pp, "UpdateDomain", {
            "DomainId": pp["resources"]["SageMakerStudioDomain"], "DefaultUserSettings": self._user_settings(pp, new),
            "AppNetworkAccessType": new["AppNetworkAccessType"]})
        return dict(pp["outputs"])

    def delete(self, ctx, pp, resources, values):
        if "SageMakerStudioDomain" in resources:
            _ignore_missing(_sagemaker, ctx, pp, "DeleteDomain", {
                "DomainId": resources["SageMakerStudioDomain"], "RetentionPolicy": {"HomeEfsFileSystem": "Delete"}})


class StudioUserProfile(Effect):
    """A user profile in a domain (SageMaker meters its Studio app)."""
    custom_name_parameter = "UserProfileName"

    def provision(self, ctx, pp, values):
        request = {"DomainId": values["DomainId"], "UserProfileName": values["UserProfileName"],
                   "Tags": _tags(pp, EnvironmentType=values["EnvironmentName"])}
        if values.get("ExecutionRoleArn"):
            request["UserSettings"] = {"ExecutionRole": values["ExecutionRoleArn"]}
        created = _sagemaker(ctx, pp, "CreateUserProfile", request)
        pp["resources"] = {"SageMakerUserProfile": created["UserProfileArn"]}
        return {"UserProfileArn": created["UserProfileArn"], "UserProfileName": values["UserProfileName"],
                "DomainId": values["DomainId"]}

    def update_in_place(self, ctx, pp, old, new):
        if new.get("ExecutionRoleArn") and ctx.sandbox.implements("sagemaker", "UpdateUserProfile"):
            _sagemaker(ctx, pp, "UpdateUserProfile", {
                "DomainId": new["DomainId"], "UserProfileName": new["UserProfileName"],
                "UserSettings": {"ExecutionRole": new["ExecutionRoleArn"]}})
        return dict(pp["outputs"])

    def delete(self, ctx, pp, resources, values):
        if "SageMakerUserProfile" in resources:
            domain_id, name = resources["SageMakerUserProfile"].split(":user-profile/", 1)[1].split("/", 1)
            _ignore_missing(_sagemaker, ctx, pp, "DeleteUserProfile", {"DomainId": domain_id, "UserProfileName": name})


# -- MLOps projects --------------------------------------------------------------------------
class MLOpsProject(Effect):
    """A SageMaker project template. Provisioned from SageMaker (CreateProject), the product gets
    SageMakerProjectId; provisioned directly, it registers the project itself (SageMakerProject)."""

    def ensure_project(self, ctx, pp: dict, values: dict) -> None:
        if values.get("SageMakerProjectId") or "SageMakerProject" in pp["resources"]:
            return
        created = _sagemaker(ctx, pp, "CreateProject", {
            "ProjectName": values["SageMakerProjectName"],
            "ServiceCatalogProvisioningDetails": {"ProductId": pp["ProductId"],
                                                  "ProvisioningArtifactId": pp["ProvisioningArtifactId"],
                                                  "PathId": pp["PathId"]},
            "Tags": _tags(pp)})
        pp["resources"]["SageMakerProject"] = created["ProjectId"]

    def delete(self, ctx, pp, resources, values):
        if "SageMakerProject" in resources:
            _ignore_missing(_sagemaker, ctx, pp, "DeleteProject", {"ProjectName": values["SageMakerProjectName"]})


def project_id(pp: dict, values: dict) -> str:
    return values.get("SageMakerProjectId") or pp["resources"].get("SageMakerProject", "")


def group_name(pp: dict, values: dict) -> str:
    """``Auto`` -> ``<project name>-<project id>``, as the reference templates generate it."""
    if values.get("ModelPackageGroupName", "Auto") != "Auto":
        return values["ModelPackageGroupName"]
    return f"{values['SageMakerProjectName']}-{project_id(pp, values)}"


class ModelBuildProject(MLOpsProject):
    """Creates the model package group the project's pipeline registers versions in."""
    custom_name_parameter = "ModelPackageGroupName"

    def provision(self, ctx, pp, values):
        self.ensure_project(ctx, pp, values)
        name = group_name(pp, values)
        created = _sagemaker(ctx, pp, "CreateModelPackageGroup", {
            "ModelPackageGroupName": name,
            "ModelPackageGroupDescription": f"Models of the SageMaker project {values['SageMakerProjectName']}",
            "Tags": _tags(pp, SageMakerProjectName=values["SageMakerProjectName"],
                          SageMakerProjectId=project_id(pp, values))})
        pp["resources"]["ModelPackageGroup"] = name
        return {"SageMakerProjectId": project_id(pp, values), "ModelPackageGroupName": name,
                "ModelPackageGroupArn": created["ModelPackageGroupArn"]}

    def delete(self, ctx, pp, resources, values):
        """An empty group is deleted; one holding model versions is retained (DeletionPolicy: Retain)."""
        name = resources.get("ModelPackageGroup")
        if name is not None:
            versions = _sagemaker(ctx, pp, "ListModelPackages", {"ModelPackageGroupName": name, "MaxResults": 1})
            if not versions["ModelPackageSummaryList"]:
                _ignore_missing(_sagemaker, ctx, pp, "DeleteModelPackageGroup", {"ModelPackageGroupName": name})
        super().delete(ctx, pp, resources, values)


STAGES = {"test": ("TestEndpoint", "TestAccountId"), "prod": ("ProdEndpoint", "ProdAccountId")}


class ModelDeployProject(MLOpsProject):
    """Deploys DeployModelPackageArn to the ``<group>-<stage>`` endpoint of the stage's account
    (SageMaker meters endpoints); endpoints of other stages stay as they are."""

    def stage_account(self, pp: dict, values: dict, stage: str) -> str:
        if values["MultiAccountDeployment"] == "NO":
            return pp["account"]
        account = values[STAGES[stage][1]]
        if not account:
            raise stack_error(f"Parameter {STAGES[stage][1]} must be set when MultiAccountDeployment is YES.")
        return account

    def provision(self, ctx, pp, values):
        self.ensure_project(ctx, pp, values)
        return self.update_in_place(ctx, pp, {}, values)

    def update(self, ctx, pp, old, new, template):
        return self.update_in_place(ctx, pp, old, new)

    def update_in_place(self, ctx, pp, old, new):
        outputs = {**pp["outputs"], "ModelPackageGroupName": group_name(pp, new)}
        if new["DeployModelPackageArn"] and new["DeployStage"] != "none":
            outputs.update(self.deploy(ctx, pp, new, new["DeployStage"], new["DeployModelPackageArn"]))
        return outputs

    def deploy(self, ctx, pp: dict, values: dict, stage: str, package_arn: str) -> dict[str, str]:
        """Serve ``package_arn`` from the stage's endpoint (created, or updated to a new model and
        configuration); returns the stage's outputs. Already serving it: nothing changes."""
        logical_id = STAGES[stage][0]
        prefix = logical_id.removesuffix("Endpoint")
        if pp["outputs"].get(f"{prefix}ModelPackageArn") == package_arn and logical_id in pp["resources"]:
            return {key: value for key, value in pp["outputs"].items() if key.startswith(prefix)}
        account = self.stage_account(pp, values, stage)
        endpoint_name = f"{group_name(pp, values)}-{stage}"
        generation = ctx.new_id("", 6)
        model_name, config_name = f"{endpoint_name[:56]}-{generation}", f"{endpoint_name[:52]}-cfg-{generation}"
        tags = _tags(pp, SageMakerProjectName=values["SageMakerProjectName"], Stage=stage)
        _sagemaker(ctx, pp, "CreateModel", {
            "ModelName": model_name, "PrimaryContainer": {"ModelPackageName": package_arn},
            "ExecutionRoleArn": f"arn:aws:iam::{account}:role/SageMakerModelExecutionRole", "Tags": tags}, account)
        _sagemaker(ctx, pp, "CreateEndpointConfig", {
            "EndpointConfigName": config_name, "Tags": tags,
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": model_name, "InitialInstanceCount": 1,
                                    "InstanceType": values["EndpointInstanceType"]}]}, account)
        request = {"EndpointName": endpoint_name, "EndpointConfigName": config_name}
        if logical_id in pp["resources"]:
            endpoint = _sagemaker(ctx, pp, "UpdateEndpoint", request, account)
        else:
            endpoint = _sagemaker(ctx, pp, "CreateEndpoint", {**request, "Tags": tags}, account)
        pp["resources"][logical_id] = endpoint["EndpointArn"]
        return {f"{prefix}EndpointName": endpoint_name, f"{prefix}EndpointArn": endpoint["EndpointArn"],
                f"{prefix}ModelPackageArn": package_arn}

    def delete(self, ctx, pp, resources, values):
        for logical_id, _account_parameter in STAGES.values():
            if logical_id in resources:
                arn = resources[logical_id]
                account, name = arn.split(":")[4], arn.rsplit("/", 1)[1]
                _ignore_missing(_sagemaker, ctx, pp, "DeleteEndpoint", {"EndpointName": name}, account)
        super().delete(ctx, pp, resources, values)

    def plan_changes(self, pp, old_template, new_template, old, new):
        if not new["DeployModelPackageArn"] or new["DeployStage"] == "none":
            return []
        resource = next(r for r in new_template["resources"] if r["LogicalResourceId"] == STAGES[new["DeployStage"]][0])
        if pp is None or resource["LogicalResourceId"] not in pp["resources"]:
            return [_change("ADD", resource)]
        changed = changed_properties(resource, old, new)
        return [_modify(resource, pp["resources"][resource["LogicalResourceId"]], changed)] if changed else []


# -- Control Tower Account Factory -----------------------------------------------------------
OU_CHOICE = re.compile(r"^.* \((ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})\)$")
ACCOUNT_RATE_LIMIT = "ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED"


class AccountFactory(Effect):
    """Vends an account in the chosen OU through Organizations, with Control Tower's role.

    The account is requested when the record starts (``begin``), so Organizations completes it
    when the record does; the record's outputs name it.
    """
    duration_setting = "account_seconds"

    def parameter_overrides(self, ctx):
        return {"ManagedOrganizationalUnit": {"AllowedValues": [f"{ou['Name']} ({ou['Id']})"
                                                                for ou in organizational_units(ctx)]}}

    def begin(self, ctx, pp: dict, values: dict) -> AwsError | None:
        """Request the account. Returns the error that fails the record (e.g. e-mail in use);
        raises ResourceInUseException when Organizations has too many creations in flight."""
        try:
            vended = ctx.call("organizations", "_VendAccount", {
                "AccountName": values["AccountName"], "AccountEmail": values["AccountEmail"],
                "ParentId": OU_CHOICE.match(values["ManagedOrganizationalUnit"]).group(1),
                "Tags": _tags(pp), "ExtraRoles": [CONTROL_TOWER_ROLE]}, account_id=MANAGEMENT_ACCOUNT_ID)
        except AwsError as error:
            if error.extra.get("Reason") == ACCOUNT_RATE_LIMIT:
                raise account_operations_exceeded(ctx) from None
            return error
        pp["resources"] = {"Account": vended["AccountId"]}
        return None

    def provision(self, ctx, pp, values):
        return {"AccountId": pp["resources"]["Account"], "AccountEmail": values["AccountEmail"],
                "SSOUserEmail": values["SSOUserEmail"], "SSOUserPortal": sso_portal_url(ctx)}

    def update(self, ctx, pp, old, new, template):
        if new["AccountEmail"] != old["AccountEmail"]:
            raise stack_error("AccountEmail cannot be changed for an account enrolled in AWS Control Tower.")
        if new["ManagedOrganizationalUnit"] != old["ManagedOrganizationalUnit"]:
            account_id = pp["resources"]["Account"]
            parents = ctx.call("organizations", "ListParents", {"ChildId": account_id},
                               account_id=MANAGEMENT_ACCOUNT_ID)["Parents"]
            ctx.call("organizations", "MoveAccount", {
                "AccountId": account_id, "SourceParentId": parents[0]["Id"],
                "DestinationParentId": OU_CHOICE.match(new["ManagedOrganizationalUnit"]).group(1)},
                account_id=MANAGEMENT_ACCOUNT_ID)
        return {**pp["outputs"], "SSOUserEmail": new["SSOUserEmail"]}

    def terminate(self, ctx, pp, values):
        """Terminating unmanages the account in Control Tower; the account itself stays open."""


def account_operations_exceeded(ctx) -> AwsError:
    limit = ctx.config.max_concurrent_account_operations
    return AwsError("ResourceInUseException", "Account Factory cannot complete an operation on this account, "
                    f"because the allowed maximum of {limit} concurrent account operations is exceeded.")


def organizational_units(ctx) -> list[dict]:
    """Every OU of the organization, level by level from the root (Id, Name)."""
    found, parents = [], [ROOT_ID]
    while parents:
        parent = parents.pop(0)
        token = None
        while True:
            request = {"ParentId": parent, **({"NextToken": token} if token else {})}
            answer = ctx.call("organizations", "ListOrganizationalUnitsForParent", request,
                              account_id=MANAGEMENT_ACCOUNT_ID)
            for ou in answer["OrganizationalUnits"]:
                found.append({"Id": ou["Id"], "Name": ou["Name"]})
                parents.append(ou["Id"])
            token = answer.get("NextToken")
            if not token:
                break
    return found


def sso_portal_url(ctx) -> str:
    """The organization's AWS access portal (its IAM Identity Center directory is seeded)."""
    return f"https://{ctx.state['identity_center_directory']}.awsapps.com/start"


EFFECTS: dict[str | None, Effect] = {
    None: Effect(),
    "sagemaker-domain": StudioDomain(),
    "sagemaker-user-profile": StudioUserProfile(),
    "mlops-build-train": ModelBuildProject(),
    "mlops-deploy": ModelDeployProject(),
    "account-factory": AccountFactory(),
}


def template_parameters(ctx, product: dict, artifact: dict) -> list[dict]:
    """The artifact's parameters with call-time constraints (e.g. the organization's OUs) filled in."""
    overrides = EFFECTS[product["effect"]].parameter_overrides(ctx)
    parameters = []
    for parameter in artifact["template"]["parameters"]:
        extra = overrides.get(parameter["ParameterKey"])
        if extra:
            parameter = {**parameter, "ParameterConstraints": {**parameter["ParameterConstraints"], **extra}}
        parameters.append(parameter)
    return parameters
