"""Service Catalog provisioned-product plans: a preview of a provisioning or an update (CloudFormation
change set) that can be executed later.

A plan is CREATE_IN_PROGRESS for the first part of ``provision_seconds``, then CREATE_SUCCESS, or
CREATE_FAILED when its parameter values break the template's constraints. A plan for a new
product reserves the name with a PLAN_IN_PROGRESS provisioned product. Executing a plan starts
the PROVISION or UPDATE record; its status follows that record.
"""
from __future__ import annotations

from datetime import timedelta

from sandbox.core.errors import AwsError
from sandbox.core.registry import operation
from sandbox.services.servicecatalog_effects import EFFECTS, template_parameters
from sandbox.services.servicecatalog_inventory import access_filter
from sandbox.services.servicecatalog_model import (
    ACCOUNT_FACTORY_TYPE, caller_identity, here, invalid, not_found, now_iso, page, parse_time, table, token_key,
    validate_request, validate_tags, with_next_token,
)
from sandbox.services.servicecatalog_provisioning import (
    CREATED_SHARE, PROVISION, SC, UPDATE, begin, check_name_free, constraint_violations, launch_target,
    new_pp, new_record, parameter_values, record_detail, replayed, require_stable, settle,
)


def _plan(ctx, plan_id: str) -> dict:
    plan = table(ctx, "plans").get(plan_id)
    if plan is None or not here(ctx, plan):
        raise not_found(f"Plan {plan_id} not found.")
    return plan


def plan_status(ctx, plan: dict) -> str:
    if plan["record_id"]:
        outcome = table(ctx, "records")[plan["record_id"]]["outcome"]
        return {"SUCCEEDED": "EXECUTE_SUCCESS", "FAILED": "EXECUTE_FAILED"}.get(outcome, "EXECUTE_IN_PROGRESS")
    elapsed = (ctx.now() - parse_time(plan["created"])).total_seconds()
    if elapsed <= ctx.config.provision_seconds * CREATED_SHARE:
        return "CREATE_IN_PROGRESS"
    return "CREATE_FAILED" if plan["violations"] else "CREATE_SUCCESS"


def _summary(plan: dict) -> dict:
    return {"PlanName": plan["PlanName"], "PlanId": plan["PlanId"], "ProvisionProductId": plan["pp_id"],
            "ProvisionProductName": plan["ProvisionedProductName"], "PlanType": plan["PlanType"],
            "ProvisioningArtifactId": plan["ProvisioningArtifactId"]}


def _created(plan: dict) -> dict:
    """CreateProvisionedProductPlan's answer."""
    return {"PlanName": plan["PlanName"], "PlanId": plan["PlanId"], "ProvisionProductId": plan["pp_id"],
            "ProvisionedProductName": plan["ProvisionedProductName"],
            "ProvisioningArtifactId": plan["ProvisioningArtifactId"]}


def _details(ctx, plan: dict) -> dict:
    status = plan_status(ctx, plan)
    created = parse_time(plan["created"])
    updated = created if status == "CREATE_IN_PROGRESS" else created + timedelta(
        seconds=ctx.config.provision_seconds * CREATED_SHARE)
    details = {**_summary(plan), "CreatedTime": created, "PathId": plan["PathId"], "ProductId": plan["ProductId"],
               "Status": status, "UpdatedTime": updated, "NotificationArns": plan["NotificationArns"],
               "ProvisioningParameters": plan["ProvisioningParameters"], "Tags": plan["Tags"]}
    if status == "CREATE_FAILED":
        details["StatusMessage"] = plan["violations"][0]
    return details


@operation(SC, "CreateProvisionedProductPlan", key=lambda p: p.get("IdempotencyToken"))
def create_provisioned_product_plan(ctx, params):
    """Preview provisioning ``ProvisionedProductName`` (new) or updating it (existing) with the
    given version and parameters. Idempotent per IdempotencyToken."""
    validate_request(ctx, params)
    settle(ctx)
    token = token_key(ctx, "CreateProvisionedProductPlan", params["IdempotencyToken"])
    if token in table(ctx, "tokens"):
        ctx.ledger_note(key=params["IdempotencyToken"], effect=False)
        return _created(table(ctx, "plans")[table(ctx, "tokens")[token]])
    tags = validate_tags(params.get("Tags"))
    existing = next((pp for pp in table(ctx, "provisioned").values()
                     if here(ctx, pp) and pp["Name"] == params["ProvisionedProductName"]), None)
    if existing is not None:
        require_stable(existing)
    product, artifact, path = launch_target(ctx, params, new_product=existing is None)
    if product["provisioned_type"] == ACCOUNT_FACTORY_TYPE:
        raise invalid("Provisioned product plans are supported for CloudFormation products only.")
    parameters = template_parameters(ctx, product, artifact)
    previous = existing["values"] if existing is not None else None
    values = parameter_values(parameters, params.get("ProvisioningParameters", []), previous)
    if existing is None:
        check_name_free(ctx, params["ProvisionedProductName"])
        pp = new_pp(ctx, name=params["ProvisionedProductName"], product=product, artifact=artifact, path=path,
                    token=params["IdempotencyToken"], values=values, tags=tags, status="PLAN_IN_PROGRESS")
        old_template = None
    else:
        pp = existing
        old_product = table(ctx, "products")[pp["ProductId"]]
        old_template = next(a for a in old_product["artifacts"] if a["Id"] == pp["ProvisioningArtifactId"])["template"]
    user_arn, session_arn = caller_identity(ctx)
    plan = {
        "PlanId": ctx.new_id("plan-"), "PlanName": params["PlanName"], "PlanType": params["PlanType"],
        "account": ctx.account_id, "region": ctx.region, "pp_id": pp["Id"], "new_product": existing is None,
        "ProvisionedProductName": pp["Name"], "ProductId": product["Id"], "ProvisioningArtifactId": artifact["Id"],
        "PathId": path["Id"], "NotificationArns": params.get("NotificationArns", []),
        "ProvisioningParameters": params.get("ProvisioningParameters", []), "Tags": tags, "values": values,
        "violations": constraint_violations(parameters, values), "created": now_iso(ctx), "record_id": None,
        "changes": EFFECTS[product["effect"]].plan_changes(existing, old_template, artifact["template"], previous,
                                                           values),
        "UserArn": user_arn, "UserArnSession": session_arn,
    }
    table(ctx, "plans")[plan["PlanId"]] = plan
    table(ctx, "tokens")[token] = plan["PlanId"]
    ctx.ledger_note(key=params["IdempotencyToken"], effect=True)
    return _created(plan)


@operation(SC, "DescribeProvisionedProductPlan")
def describe_provisioned_product_plan(ctx, params):
    """The plan and the resource changes it would make (paged)."""
    validate_request(ctx, params)
    settle(ctx)
    plan = _plan(ctx, params["PlanId"])
    changes = plan["changes"] if plan_status(ctx, plan) != "CREATE_IN_PROGRESS" else []
    items, next_token = page(ctx, changes, params, 20)
    return with_next_token({"ProvisionedProductPlanDetails": _details(ctx, plan), "ResourceChanges": items},
                           next_token)


@operation(SC, "ExecuteProvisionedProductPlan", key=lambda p: p.get("IdempotencyToken"))
def execute_provisioned_product_plan(ctx, params):
    """Start the plan's PROVISION (new product) or UPDATE record. Idempotent per IdempotencyToken."""
    validate_request(ctx, params)
    settle(ctx)
    replay = replayed(ctx, "ExecuteProvisionedProductPlan", params["IdempotencyToken"])
    if replay:
        return replay
    plan = _plan(ctx, params["PlanId"])
    status = plan_status(ctx, plan)
    if status != "CREATE_SUCCESS":
        raise AwsError("InvalidStateException", f"Plan {plan['PlanId']} is in status {status}; only a plan in "
                       "status CREATE_SUCCESS can be executed.")
    pp = table(ctx, "provisioned").get(plan["pp_id"])
    if pp is None:
        raise not_found(f"Provisioned product {plan['pp_id']} not found.")
    if not plan["new_product"]:
        require_stable(pp)
    product = table(ctx, "products")[plan["ProductId"]]
    record = new_record(ctx, pp, PROVISION if plan["new_product"] else UPDATE, product=product,
                        artifact_id=plan["ProvisioningArtifactId"], path=table(ctx, "launch_paths")[plan["PathId"]],
                        values=plan["values"], tags=pp["request_tags"])
    if plan["new_product"]:
        begin(ctx, record, pp, product)
    plan["record_id"] = record["RecordId"]
    table(ctx, "tokens")[token_key(ctx, "ExecuteProvisionedProductPlan", params["IdempotencyToken"])] = \
        record["RecordId"]
    ctx.ledger_note(key=params["IdempotencyToken"], effect=True)
    return {"RecordDetail": record_detail(ctx, record)}


@operation(SC, "DeleteProvisionedProductPlan", key=lambda p: p.get("PlanId"))
def delete_provisioned_product_plan(ctx, params):
    """Forget the plan; an unexecuted plan for a new product also releases its name."""
    validate_request(ctx, params)
    settle(ctx)
    plan = _plan(ctx, params["PlanId"])
    del table(ctx, "plans")[plan["PlanId"]]
    if plan["new_product"] and plan["record_id"] is None:
        table(ctx, "provisioned").pop(plan["pp_id"], None)
    return {}


@operation(SC, "ListProvisionedProductPlans")
def list_provisioned_product_plans(ctx, params):
    """The caller's plans, optionally for one provisioned product, paged."""
    validate_request(ctx, params)
    settle(ctx)
    target = params.get("ProvisionProductId")
    if target and not any(here(ctx, pp) and pp["Id"] == target for pp in table(ctx, "provisioned").values()):
        raise not_found(f"Provisioned product {target} not found.")
    visible = access_filter(ctx, params)
    plans = [plan for plan in table(ctx, "plans").values()
             if here(ctx, plan) and visible(plan) and (not target or plan["pp_id"] == target)]
    items, next_token = page(ctx, plans, params, 20)
    return with_next_token({"ProvisionedProductPlans": [_summary(plan) for plan in items]}, next_token)
