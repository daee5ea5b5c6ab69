"""Service Catalog provisioning: provisioned products, their records, updates, terminations, plans.

A record moves CREATED -> IN_PROGRESS -> SUCCEEDED | FAILED by elapsed time (``provision_seconds``,
``account_seconds`` for Account Factory products). Its effect on the other services
(servicecatalog_effects) is applied when it is settled: every operation here first settles each
record whose time has come, oldest due first (``settle``; idempotent, so each effect runs once).
The core may also call ``_Settle`` on a timer.

Parameter keys are checked synchronously (InvalidParametersException); parameter constraints are
CloudFormation's business, so a violation fails the record when it settles.
"""
from __future__ import annotations

import copy
import re
from datetime import timedelta

from sandbox.core.errors import AwsError
from sandbox.core.registry import operation
from sandbox.services.servicecatalog_effects import (
    EFFECTS, ModelDeployProject, account_operations_exceeded, group_name, template_parameters,
)
from sandbox.services.servicecatalog_model import (
    ACCOUNT_FACTORY_TYPE, PARTITION, caller_identity, choose_path, exactly_one, find_artifact, here, invalid,
    launch_role_arn, launchable_product, not_found, now_iso, parse_time, table, tags_dict, tags_list, token_key,
    validate_request, validate_tags,
)

SC = "servicecatalog"
PROVISION, UPDATE, TERMINATE = "PROVISION_PRODUCT", "UPDATE_PROVISIONED_PRODUCT", "TERMINATE_PROVISIONED_PRODUCT"
CREATED_SHARE = 0.1          # share of a record's duration spent in CREATED before IN_PROGRESS
VPC_ID = re.compile(r"^vpc-[0-9a-f]{8}(?:[0-9a-f]{9})?$")


# -- settling records -------------------------------------------------------------------------
def duration(ctx, record: dict) -> float:
    return float(getattr(ctx.config, record["duration_setting"]))


def due_time(ctx, record: dict):
    return parse_time(record["created"]) + timedelta(seconds=duration(ctx, record))


def settle(ctx) -> int:
    """Complete every record whose time has come, in due order; returns how many were completed."""
    now = ctx.now()
    due = sorted((record for record in table(ctx, "records").values()
                  if record["outcome"] is None and due_time(ctx, record) <= now),
                 key=lambda record: (due_time(ctx, record), record["seq"]))
    for record in due:
        _complete(ctx, record)
    if due:
        ctx.mark_changed()
    return len(due)


def _complete(ctx, record: dict) -> None:
    """Apply the record's effect once and set the record's and the provisioned product's outcome."""
    pp = table(ctx, "provisioned")[record["ProvisionedProductId"]]
    product = table(ctx, "products")[record["ProductId"]]
    effect = EFFECTS[product["effect"]]
    before = copy.deepcopy({"resources": pp["resources"], "outputs": pp["outputs"]})
    try:
        if record["forced_error"]:
            raise AwsError(record["forced_error"]["Code"], record["forced_error"]["Description"])
        if record["RecordType"] == TERMINATE:
            if not record["retain_physical_resources"]:
                effect.terminate(ctx, pp, pp["values"])
            outputs = {}
        else:
            artifact = _artifact(product, record["ProvisioningArtifactId"])
            violations = constraint_violations(template_parameters(ctx, product, artifact), record["values"])
            if violations:
                raise AwsError("ValidationError", violations[0])
            if record["RecordType"] == PROVISION:
                outputs = effect.provision(ctx, pp, record["values"])
            else:
                outputs = effect.update(ctx, pp, pp["values"], record["values"], artifact["template"])
    except AwsError as error:
        if record["RecordType"] == TERMINATE and record["ignore_errors"]:
            _succeed(ctx, record, pp, {})
            return
        rollback_error = _roll_back(ctx, effect, pp, before["resources"], record["values"])
        pp.update(before)
        _fail(ctx, record, pp, error, rollback_error)
        return
    _succeed(ctx, record, pp, outputs)


def _roll_back(ctx, effect, pp: dict, previous: dict, values: dict) -> AwsError | None:
    """Delete what a failed provisioning or update created, as CloudFormation's rollback does.
    A resource that cannot be deleted stays (ROLLBACK_FAILED); its error is returned."""
    created = {key: physical_id for key, physical_id in pp["resources"].items() if previous.get(key) != physical_id}
    if not created:
        return None
    try:
        effect.delete(ctx, pp, created, values)
    except AwsError as error:
        return error
    return None


def _finish(ctx, record: dict, outcome: str) -> None:
    record["outcome"] = outcome
    record["updated"] = due_time(ctx, record).isoformat()


def _succeed(ctx, record: dict, pp: dict, outputs: dict) -> None:
    _finish(ctx, record, "SUCCEEDED")
    if record["RecordType"] == TERMINATE:
        del table(ctx, "provisioned")[pp["Id"]]
        for plan_id in [plan["PlanId"] for plan in table(ctx, "plans").values() if plan["pp_id"] == pp["Id"]]:
            del table(ctx, "plans")[plan_id]
        return
    record["outputs"] = outputs
    pp.update(Status="AVAILABLE", StatusMessage=None, values=record["values"], outputs=outputs,
              ProductId=record["ProductId"], ProvisioningArtifactId=record["ProvisioningArtifactId"],
              PathId=record["PathId"], LastSuccessfulProvisioningRecordId=record["RecordId"])


def _fail(ctx, record: dict, pp: dict, error: AwsError, rollback_error: AwsError | None = None) -> None:
    _finish(ctx, record, "FAILED")
    record["RecordErrors"] = [{"Code": error.code, "Description": error.message}]
    if rollback_error:
        record["RecordErrors"].append({"Code": rollback_error.code,
                                       "Description": f"Rollback failed: {rollback_error.message}"})
    status = {PROVISION: "ERROR", UPDATE: "TAINTED", TERMINATE: "ERROR"}[record["RecordType"]]
    pp.update(Status=status, StatusMessage=error.message)


def constraint_violations(parameters: list[dict], values: dict) -> list[str]:
    """CloudFormation's messages for parameter values that break the template's constraints."""
    problems = []
    for parameter in parameters:
        key, constraints = parameter["ParameterKey"], parameter["ParameterConstraints"]
        value = values.get(key, "")
        items = value.split(",") if parameter["ParameterType"].startswith(("List<", "CommaDelimitedList")) else [value]
        reason = None
        if parameter["ParameterType"] == "AWS::EC2::VPC::Id" and not VPC_ID.match(value):
            problems.append(f"Parameter validation failed: parameter value {value} for parameter name {key} "
                            "does not exist.")
            continue
        if constraints.get("AllowedValues") and value not in constraints["AllowedValues"]:
            reason = "must be one of AllowedValues"
        elif "AllowedPattern" in constraints and not all(
                re.fullmatch(constraints["AllowedPattern"], item) for item in items):
            reason = f"must match pattern {constraints['AllowedPattern']}"
        elif "MinLength" in constraints and len(value) < int(constraints["MinLength"]):
            reason = f"must contain at least {constraints['MinLength']} characters"
        elif "MaxLength" in constraints and len(value) > int(constraints["MaxLength"]):
            reason = f"must contain at most {constraints['MaxLength']} characters"
        elif "MinValue" in constraints or "MaxValue" in constraints:
            reason = _number_reason(value, constraints)
        if reason:
            description = constraints.get("ConstraintDescription")
            problems.append(f"Parameter {key} failed to satisfy constraint: {description}" if description
                            else f"Parameter '{key}' {reason}")
    return problems


def _number_reason(value: str, constraints: dict) -> str | None:
    try:
        number = float(value)
    except ValueError:
        return "must be a number"
    if "MinValue" in constraints and number < float(constraints["MinValue"]):
        return f"must be a number not less than {constraints['MinValue']}"
    if "MaxValue" in constraints and number > float(constraints["MaxValue"]):
        return f"must be a number not greater than {constraints['MaxValue']}"
    return None


@operation(SC, "_Settle", mutating=True)
def settle_records(ctx, params):
    """Internal: complete the records whose time has come (for a timer in the core)."""
    return {"Settled": settle(ctx)}


# -- views ------------------------------------------------------------------------------------
def record_status(ctx, record: dict) -> str:
    if record["outcome"]:
        return record["outcome"]
    elapsed = (ctx.now() - parse_time(record["created"])).total_seconds()
    if record["RecordType"] != TERMINATE and elapsed <= duration(ctx, record) * CREATED_SHARE:
        return "CREATED"
    return "IN_PROGRESS"


def record_detail(ctx, record: dict) -> dict:
    status = record_status(ctx, record)
    if record["updated"]:
        updated = parse_time(record["updated"])
    elif status == "IN_PROGRESS" and record["RecordType"] != TERMINATE:
        updated = parse_time(record["created"]) + timedelta(seconds=duration(ctx, record) * CREATED_SHARE)
    else:
        updated = parse_time(record["created"])
    detail = {
        "RecordId": record["RecordId"], "ProvisionedProductName": record["ProvisionedProductName"],
        "Status": status, "CreatedTime": parse_time(record["created"]), "UpdatedTime": updated,
        "ProvisionedProductType": record["ProvisionedProductType"], "RecordType": record["RecordType"],
        "ProvisionedProductId": record["ProvisionedProductId"], "ProductId": record["ProductId"],
        "ProvisioningArtifactId": record["ProvisioningArtifactId"], "PathId": record["PathId"],
        "RecordErrors": record["RecordErrors"], "RecordTags": record["RecordTags"],
    }
    if record["LaunchRoleArn"]:
        detail["LaunchRoleArn"] = record["LaunchRoleArn"]
    return detail


_DETAIL_FIELDS = ("Name", "Arn", "Type", "Id", "Status", "StatusMessage", "IdempotencyToken", "LastRecordId",
                  "LastProvisioningRecordId", "LastSuccessfulProvisioningRecordId", "ProductId",
                  "ProvisioningArtifactId", "LaunchRoleArn")


def pp_detail(pp: dict) -> dict:
    """ProvisionedProductDetail."""
    detail = {field: pp[field] for field in _DETAIL_FIELDS if pp.get(field)}
    detail["CreatedTime"] = parse_time(pp["CreatedTime"])
    return detail


def pp_attributes(ctx, pp: dict) -> dict:
    """ProvisionedProductAttribute (SearchProvisionedProducts)."""
    attributes = {key: value for key, value in pp_detail(pp).items() if key != "LaunchRoleArn"}
    product = table(ctx, "products")[pp["ProductId"]]
    attributes.update(Tags=tags_list(pp["tags"]), PhysicalId=pp["PhysicalId"], ProductName=product["Name"],
                      ProvisioningArtifactName=_artifact(product, pp["ProvisioningArtifactId"])["Name"],
                      UserArn=pp["UserArn"], UserArnSession=pp["UserArnSession"])
    return attributes


def _artifact(product: dict, artifact_id: str) -> dict:
    return next(artifact for artifact in product["artifacts"] if artifact["Id"] == artifact_id)


def outputs_list(outputs: dict, product: dict, artifact_id: str) -> list[dict]:
    descriptions = {output["Key"]: output["Description"]
                    for output in _artifact(product, artifact_id)["template"]["outputs"]}
    return [{"OutputKey": key, "OutputValue": value, "Description": descriptions.get(key, "")}
            for key, value in outputs.items()]


# -- lookups ----------------------------------------------------------------------------------
def find_pp(ctx, params: dict, id_member: str = "Id", name_member: str = "Name") -> dict:
    """The caller's provisioned product named by ``id_member`` xor ``name_member`` (name may be an ARN)."""
    member = exactly_one(params, id_member, name_member)
    wanted = params[member]
    for pp in table(ctx, "provisioned").values():
        if here(ctx, pp) and (pp["Id"] == wanted if member == id_member else wanted in (pp["Name"], pp["Arn"])):
            return pp
    raise not_found(f"Provisioned product {wanted} not found.")


def replayed(ctx, operation: str, token: str) -> dict | None:
    """The first answer to an idempotency token, marking this call as having no effect."""
    record_id = table(ctx, "tokens").get(token_key(ctx, operation, token))
    if record_id is None:
        return None
    ctx.ledger_note(key=token, effect=False)
    return {"RecordDetail": record_detail(ctx, table(ctx, "records")[record_id])}


def require_stable(pp: dict) -> None:
    if pp["Status"] in ("UNDER_CHANGE", "PLAN_IN_PROGRESS"):
        raise invalid(f"The provisioned product {pp['Id']} is {pp['Status']}; wait until its current "
                      "operation completes.")


def parameter_values(parameters: list[dict], provided: list[dict], previous: dict | None) -> dict:
    """The full set of values: given, else previous (updates), else the default.

    Unknown keys and required parameters without a value are refused synchronously.
    """
    given: dict[str, dict] = {}
    for item in provided:
        if item["Key"] in given:
            raise invalid(f"Parameter {item['Key']} is specified more than once.")
        given[item["Key"]] = item
    known = {parameter["ParameterKey"]: parameter for parameter in parameters}
    unknown = [key for key in given if key not in known]
    if unknown:
        raise invalid(f"Parameters: [{', '.join(unknown)}] do not exist in the template")
    values, missing = {}, []
    for key, parameter in known.items():
        item = given.get(key, {})
        if item.get("UsePreviousValue"):
            if previous is None or key not in previous:
                raise invalid(f"Parameter {key} has no previous value to use.")
            values[key] = previous[key]
        elif "Value" in item:
            values[key] = item["Value"]
        elif previous is not None and key in previous:
            values[key] = previous[key]
        elif "DefaultValue" in parameter:
            values[key] = parameter["DefaultValue"]
        else:
            missing.append(key)
    if missing:
        raise invalid(f"Parameters: [{', '.join(missing)}] must have values")
    return values


def _check_account_capacity(ctx, product: dict) -> None:
    """Control Tower runs at most ``max_concurrent_account_operations`` account operations at once."""
    if product["provisioned_type"] != ACCOUNT_FACTORY_TYPE:
        return
    in_flight = sum(1 for record in table(ctx, "records").values()
                    if record["outcome"] is None and record["ProvisionedProductType"] == ACCOUNT_FACTORY_TYPE)
    if in_flight >= ctx.config.max_concurrent_account_operations:
        raise account_operations_exceeded(ctx)


def new_record(ctx, pp: dict, record_type: str, *, product: dict, artifact_id: str, path: dict,
                values: dict | None, tags: list[dict], **options) -> dict:
    """Store a record for ``pp`` (now UNDER_CHANGE), consuming a scripted ``record_failure`` fault
    aimed at this operation and product (subject: the product's name or id)."""
    seq = ctx.state["record_seq"] = ctx.state.get("record_seq", 0) + 1
    fault = (ctx.take_fault("record_failure", subject=product["Name"])
             or ctx.take_fault("record_failure", subject=product["Id"]))
    role_arn, session_arn = caller_identity(ctx)
    record = {
        "RecordId": ctx.new_id("rec-"), "account": pp["account"], "region": pp["region"], "seq": seq,
        "UserArn": role_arn, "UserArnSession": session_arn,
        "RecordType": record_type, "ProvisionedProductId": pp["Id"], "ProvisionedProductName": pp["Name"],
        "ProvisionedProductType": pp["Type"], "ProductId": product["Id"], "ProvisioningArtifactId": artifact_id,
        "PathId": path["Id"], "RecordTags": tags, "LaunchRoleArn": launch_role_arn(path, pp["account"]),
        "created": now_iso(ctx), "updated": None, "outcome": None, "RecordErrors": [], "outputs": {},
        "duration_setting": EFFECTS[product["effect"]].duration_setting, "values": values,
        "forced_error": _forced_error(fault, record_type, product, artifact_id) if fault else None,
        "ignore_errors": options.get("ignore_errors", False),
        "retain_physical_resources": options.get("retain_physical_resources", False),
    }
    table(ctx, "records")[record["RecordId"]] = record
    pp.update(Status="UNDER_CHANGE", LastRecordId=record["RecordId"], LastProvisioningRecordId=record["RecordId"])
    return record


def begin(ctx, record: dict, pp: dict, product: dict) -> None:
    """Start the work that runs with a PROVISION record (Account Factory requests the account now,
    so it exists when the record completes). Skipped when the record is bound to fail anyway."""
    if record["forced_error"] or constraint_violations(template_parameters(ctx, product, _artifact(
            product, record["ProvisioningArtifactId"])), record["values"]):
        return
    error = EFFECTS[product["effect"]].begin(ctx, pp, record["values"])
    if error is not None:
        record["forced_error"] = {"Code": error.code, "Description": error.message}


_FAILED_ACTIONS = {PROVISION: "create", UPDATE: "update", TERMINATE: "delete"}


def _forced_error(fault: dict, record_type: str, product: dict, artifact_id: str) -> dict:
    """A scripted record failure: the fault's code and message, else a CloudFormation resource
    failure of the template's first resource."""
    action = _FAILED_ACTIONS[record_type]
    resources = _artifact(product, artifact_id)["template"]["resources"]
    logical_id = resources[0]["LogicalResourceId"] if resources else "Stack"
    return {"Code": fault.get("code") or f"{action.upper()}_FAILED",
            "Description": fault.get("message") or f"The following resource(s) failed to {action}: [{logical_id}]. "
                                                     "Rollback requested by user."}


def new_pp(ctx, *, name: str, product: dict, artifact: dict, path: dict, token: str, values: dict,
            tags: list[dict], status: str) -> dict:
    role_arn, session_arn = caller_identity(ctx)
    pp_id = ctx.new_id("pp-")
    pp = {
        "Id": pp_id, "Name": name, "account": ctx.account_id, "region": ctx.region,
        "Arn": f"arn:{PARTITION}:servicecatalog:{ctx.region}:{ctx.account_id}:stack/{name}/{pp_id}",
        "Type": product["provisioned_type"], "Status": status, "StatusMessage": None,
        "CreatedTime": now_iso(ctx), "IdempotencyToken": token, "LastRecordId": None,
        "LastProvisioningRecordId": None, "LastSuccessfulProvisioningRecordId": None,
        "ProductId": product["Id"], "ProvisioningArtifactId": artifact["Id"], "PathId": path["Id"],
        "LaunchRoleArn": launch_role_arn(path, ctx.account_id), "values": values, "outputs": {}, "resources": {},
        "tags": {**tags_dict(product["Tags"]), **tags_dict(tags)}, "request_tags": tags, "UserArn": role_arn,
        "UserArnSession": session_arn,
        "PhysicalId": f"arn:{PARTITION}:cloudformation:{ctx.region}:{ctx.account_id}:stack/"
                      f"SC-{ctx.account_id}-{pp_id}/{ctx.new_id('', 32, '0123456789abcdef')}",
    }
    table(ctx, "provisioned")[pp_id] = pp
    return pp


def check_name_free(ctx, name: str) -> None:
    if any(here(ctx, pp) and pp["Name"] == name for pp in table(ctx, "provisioned").values()):
        raise AwsError("DuplicateResourceException",
                       f"A provisioned product with the name {name} already exists in this account.")


def launch_target(ctx, params: dict, *, new_product: bool) -> tuple[dict, dict, dict]:
    """(product, artifact, path) the caller may launch; a deprecated version only serves updates."""
    product, paths = launchable_product(ctx, params)
    artifact = find_artifact(product, params)
    if not artifact["Active"] or (new_product and artifact["Guidance"] == "DEPRECATED"):
        raise invalid(f"Provisioning artifact {artifact['Id']} of product {product['Id']} is deprecated and "
                      "cannot be used to provision a new product.")
    return product, artifact, choose_path(ctx, paths, params)


# -- provisioning -------------------------------------------------------------------------------
@operation(SC, "ProvisionProduct", key=lambda p: p.get("ProvisionToken"))
def provision_product(ctx, params):
    """Create a provisioned product (UNDER_CHANGE) and its PROVISION_PRODUCT record.

    Idempotent per ProvisionToken: a repeat returns the first record and changes nothing.
    """
    validate_request(ctx, params)
    settle(ctx)
    replay = replayed(ctx, "ProvisionProduct", params["ProvisionToken"])
    if replay:
        return replay
    tags = validate_tags(params.get("Tags"))
    product, artifact, path = launch_target(ctx, params, new_product=True)
    check_name_free(ctx, params["ProvisionedProductName"])
    values = parameter_values(template_parameters(ctx, product, artifact), params.get("ProvisioningParameters", []),
                              None)
    _check_account_capacity(ctx, product)
    pp = new_pp(ctx, name=params["ProvisionedProductName"], product=product, artifact=artifact, path=path,
                 token=params["ProvisionToken"], values=values, tags=tags, status="UNDER_CHANGE")
    record = new_record(ctx, pp, PROVISION, product=product, artifact_id=artifact["Id"], path=path,
                         values=values, tags=tags)
    begin(ctx, record, pp, product)
    table(ctx, "tokens")[token_key(ctx, "ProvisionProduct", params["ProvisionToken"])] = record["RecordId"]
    ctx.ledger_note(key=params["ProvisionToken"], effect=True)
    return {"RecordDetail": record_detail(ctx, record)}


@operation(SC, "UpdateProvisionedProduct", key=lambda p: p.get("UpdateToken"))
def update_provisioned_product(ctx, params):
    """Start an UPDATE_PROVISIONED_PRODUCT record; the product's values change when it succeeds, and
    it is TAINTED (previous values kept) when it fails. Idempotent per UpdateToken."""
    validate_request(ctx, params)
    settle(ctx)
    replay = replayed(ctx, "UpdateProvisionedProduct", params["UpdateToken"])
    if replay:
        return replay
    pp = find_pp(ctx, params, "ProvisionedProductId", "ProvisionedProductName")
    require_stable(pp)
    if pp["Status"] == "ERROR":
        raise invalid(f"The provisioned product {pp['Id']} is in ERROR state and cannot be updated; terminate it.")
    if params.get("Tags"):
        raise invalid("Tag updates are not allowed for this provisioned product: the product has no "
                      "RESOURCE_UPDATE constraint with TagUpdatesOnProvisionedProduct set to ALLOWED.")
    record = _update_record(ctx, pp, params)
    table(ctx, "tokens")[token_key(ctx, "UpdateProvisionedProduct", params["UpdateToken"])] = record["RecordId"]
    ctx.ledger_note(key=params["UpdateToken"], effect=True)
    return {"RecordDetail": record_detail(ctx, record)}


def _update_record(ctx, pp: dict, params: dict) -> dict:
    """The UPDATE record for ``pp`` with the target and parameters of ``params`` (update or plan)."""
    target = {"ProductId": params.get("ProductId") or pp["ProductId"], "ProductName": params.get("ProductName"),
              "ProvisioningArtifactId": params.get("ProvisioningArtifactId"),
              "ProvisioningArtifactName": params.get("ProvisioningArtifactName"),
              "PathId": params.get("PathId"), "PathName": params.get("PathName")}
    if target["ProductName"]:
        target["ProductId"] = None
    if not (target["ProvisioningArtifactId"] or target["ProvisioningArtifactName"]):
        target["ProvisioningArtifactId"] = pp["ProvisioningArtifactId"]
    if not (target["PathId"] or target["PathName"]):
        target["PathId"] = pp["PathId"]
    product, artifact, path = launch_target(ctx, target, new_product=False)
    if product["provisioned_type"] != pp["Type"]:
        raise invalid(f"Product {product['Id']} cannot replace the product of {pp['Id']}.")
    values = parameter_values(template_parameters(ctx, product, artifact), params.get("ProvisioningParameters", []),
                              pp["values"])
    _check_account_capacity(ctx, product)
    return new_record(ctx, pp, UPDATE, product=product, artifact_id=artifact["Id"], path=path, values=values,
                       tags=pp["request_tags"])


@operation(SC, "TerminateProvisionedProduct", key=lambda p: p.get("TerminateToken"))
def terminate_provisioned_product(ctx, params):
    """Start a TERMINATE record; the provisioned product disappears when it succeeds. Idempotent per
    TerminateToken while terminating; afterwards every terminate request is ResourceNotFound."""
    validate_request(ctx, params)
    settle(ctx)
    pp = find_pp(ctx, params, "ProvisionedProductId", "ProvisionedProductName")
    replay = replayed(ctx, "TerminateProvisionedProduct", params["TerminateToken"])
    if replay:
        return replay
    require_stable(pp)
    product = table(ctx, "products")[pp["ProductId"]]
    _check_account_capacity(ctx, product)
    path = table(ctx, "launch_paths")[pp["PathId"]]
    record = new_record(ctx, pp, TERMINATE, product=product, artifact_id=pp["ProvisioningArtifactId"], path=path,
                         values=None, tags=[], ignore_errors=bool(params.get("IgnoreErrors")),
                         retain_physical_resources=bool(params.get("RetainPhysicalResources")))
    table(ctx, "tokens")[token_key(ctx, "TerminateProvisionedProduct", params["TerminateToken"])] = record["RecordId"]
    ctx.ledger_note(key=params["TerminateToken"], effect=True)
    return {"RecordDetail": record_detail(ctx, record)}


# -- deployment on approval ---------------------------------------------------------------------
@operation(SC, "_ModelPackageApproved")
def model_package_approved(ctx, params):
    """Internal, called by SageMaker when a model package version becomes Approved.

    Like the reference template's EventBridge rule, every AVAILABLE multi-account deploy project of
    the package's account that watches its group (MultiAccountDeployment=YES) deploys the version
    to its test endpoint. The provisioned product's outputs gain the test endpoint.
    """
    settle(ctx)
    deployed = []
    for pp in table(ctx, "provisioned").values():
        effect = EFFECTS[table(ctx, "products")[pp["ProductId"]]["effect"]]
        values = pp["values"]
        if (isinstance(effect, ModelDeployProject) and pp["Status"] == "AVAILABLE"
                and (pp["account"], pp["region"]) == (params["AccountId"], ctx.region)
                and values["MultiAccountDeployment"] == "YES"
                and group_name(pp, values) == params["ModelPackageGroupName"]):
            pp["outputs"].update(effect.deploy(ctx, pp, values, "test", params["ModelPackageArn"]))
            deployed.append(pp["Id"])
    return {"ProvisionedProductIds": deployed}
