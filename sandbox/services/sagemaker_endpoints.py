"""SageMaker real-time hosting, owned by the sandbox: models, endpoint configurations and
endpoints (the multi-account deploy product creates them in test and prod accounts).

Names are unique per account and region ignoring case, and ARNs carry the lower-cased name, as
in AWS. An endpoint is Creating (Updating after UpdateEndpoint) for ``endpoint_seconds(ctx)``
(``ctx.config.endpoint_seconds``, or ``domain_seconds`` when that is negative), then InService; a
deleted one is Deleting for as long, then gone. A deployment records SageMaker's endpoint lineage
(``_RecordEndpointLineage``). Each instance-backed variant
accrues its instance type's hourly price times its instance count while the endpoint exists.
"""
from __future__ import annotations

import hashlib

from sandbox.core.errors import AwsError
from sandbox.services.sagemaker import find_model_package
from sandbox.services.sagemaker_common import (
    as_time, compact, created_between, instance_hourly_usd, lifecycle_phase, make_arn, name_contains, now_iso,
    paginate, public_fields, records, sagemaker_operation, sort_records, split_arn, start_meter, stop_meters,
    tags_as_dict, with_times,
)
from sandbox.services.sagemaker_tags import register_taggable

MODEL_MEMBERS = ("PrimaryContainer", "Containers", "InferenceExecutionConfig", "ExecutionRoleArn", "VpcConfig",
                 "EnableNetworkIsolation")
CONFIG_MEMBERS = ("ProductionVariants", "DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig", "ExplainerConfig",
                  "ShadowProductionVariants", "ExecutionRoleArn", "VpcConfig", "EnableNetworkIsolation",
                  "MetricsConfig", "CrossRegionTrafficConfig")
ENDPOINT_STATUS = {"creating": "Creating", "updating": "Updating", "ready": "InService", "deleting": "Deleting"}


def _invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def endpoint_seconds(ctx) -> float:
    """How long an endpoint is Creating, Updating or Deleting."""
    seconds = getattr(ctx.config, "endpoint_seconds", -1.0)
    return ctx.config.domain_seconds if seconds < 0 else seconds


def _find(ctx, kind: str, name: str, noun: str, resource: str) -> dict:
    """A model or endpoint configuration by name; AWS answers a missing one with this message."""
    record = records(ctx, kind).get(name.lower())
    if record is None:
        raise _invalid(f'Could not find {noun} "{make_arn(ctx, f"{resource}/{name.lower()}")}".')
    return record


def _refuse_existing(ctx, kind: str, name: str, noun: str, resource: str) -> None:
    if name.lower() in records(ctx, kind):
        raise _invalid(f'Cannot create already existing {noun} "{make_arn(ctx, f"{resource}/{name.lower()}")}".')


# -- models ----------------------------------------------------------------------------------
@sagemaker_operation("CreateModel", key=lambda p: p["ModelName"])
def create_model(ctx, params):
    """Create a model from container definitions; a container may name a model package (also one
    in another account whose group policy allows this account to describe it)."""
    name = params["ModelName"]
    _refuse_existing(ctx, "models", name, "model", "model")
    containers = ([params["PrimaryContainer"]] if params.get("PrimaryContainer") else []) + params.get("Containers", [])
    if not containers:
        raise _invalid("Either PrimaryContainer or Containers must be specified.")
    if params.get("PrimaryContainer") and params.get("Containers"):
        raise _invalid("PrimaryContainer and Containers cannot both be specified.")
    for container in containers:
        if container.get("ModelPackageName"):
            find_model_package(ctx, container["ModelPackageName"], "DescribeModelPackage")
        elif not container.get("Image"):
            raise _invalid("A container definition needs an Image or a ModelPackageName.")
    records(ctx, "models")[name.lower()] = compact({
        "ModelName": name,
        "ModelArn": make_arn(ctx, f"model/{name.lower()}"),
        **{member: params.get(member) for member in MODEL_MEMBERS},
        "CreationTime": now_iso(ctx),
        "Tags": list(params.get("Tags", [])),
    })
    return {"ModelArn": make_arn(ctx, f"model/{name.lower()}")}


@sagemaker_operation("DescribeModel")
def describe_model(ctx, params):
    return with_times(public_fields(_find(ctx, "models", params["ModelName"], "model", "model")), "CreationTime")


@sagemaker_operation("DeleteModel", key=lambda p: p["ModelName"])
def delete_model(ctx, params):
    """Delete a model; endpoints already deployed from it keep running, as in AWS."""
    model = _find(ctx, "models", params["ModelName"], "model", "model")
    del records(ctx, "models")[model["ModelName"].lower()]
    return {}


# -- endpoint configurations -----------------------------------------------------------------
def _check_variants(ctx, variants: list) -> None:
    names = [variant["VariantName"] for variant in variants]
    if len(names) != len(set(names)):
        raise _invalid("Variant names must be unique within an endpoint configuration.")
    for variant in variants:
        if not variant.get("InstanceType") and not variant.get("ServerlessConfig"):
            raise _invalid(f"Variant {variant['VariantName']} needs an InstanceType or a ServerlessConfig.")
        if variant.get("InstanceType") and not variant.get("InitialInstanceCount"):
            raise _invalid(f"Variant {variant['VariantName']} needs an InitialInstanceCount with its InstanceType.")
        _find(ctx, "models", variant["ModelName"], "model", "model")


@sagemaker_operation("CreateEndpointConfig", key=lambda p: p["EndpointConfigName"])
def create_endpoint_config(ctx, params):
    name = params["EndpointConfigName"]
    _refuse_existing(ctx, "endpoint_configs", name, "endpoint configuration", "endpoint-config")
    _check_variants(ctx, params["ProductionVariants"] + params.get("ShadowProductionVariants", []))
    config = compact({
        "EndpointConfigName": name,
        "EndpointConfigArn": make_arn(ctx, f"endpoint-config/{name.lower()}"),
        **{member: params.get(member) for member in CONFIG_MEMBERS},
        "CreationTime": now_iso(ctx),
        "Tags": list(params.get("Tags", [])),
    })
    records(ctx, "endpoint_configs")[name.lower()] = config
    return {"EndpointConfigArn": config["EndpointConfigArn"]}


@sagemaker_operation("DescribeEndpointConfig")
def describe_endpoint_config(ctx, params):
    config = _find(ctx, "endpoint_configs", params["EndpointConfigName"], "endpoint configuration", "endpoint-config")
    return with_times(public_fields(config), "CreationTime")


@sagemaker_operation("DeleteEndpointConfig", key=lambda p: p["EndpointConfigName"])
def delete_endpoint_config(ctx, params):
    """Delete a configuration; endpoints deployed from it keep their deployment, as in AWS."""
    config = _find(ctx, "endpoint_configs", params["EndpointConfigName"], "endpoint configuration", "endpoint-config")
    del records(ctx, "endpoint_configs")[config["EndpointConfigName"].lower()]
    return {}


# -- endpoints -------------------------------------------------------------------------------
def _deployment(ctx, config: dict) -> list[dict]:
    """What an endpoint runs from ``config``: its variants with the images of their models,
    kept with the endpoint so later changes to the configuration or models do not alter it."""
    deployed = []
    for variant in config["ProductionVariants"]:
        model = _find(ctx, "models", variant["ModelName"], "model", "model")
        containers = ([model["PrimaryContainer"]] if "PrimaryContainer" in model else []) + model.get("Containers", [])
        deployed.append(compact({
            "VariantName": variant["VariantName"],
            "InstanceType": variant.get("InstanceType"),
            "InstanceCount": variant.get("InitialInstanceCount"),
            "Weight": variant.get("InitialVariantWeight", 1.0),
            "ServerlessConfig": variant.get("ServerlessConfig"),
            "Images": [container["Image"] for container in containers if container.get("Image")],
        }))
    return deployed


def _start_variant_meters(ctx, endpoint: dict) -> None:
    for variant in endpoint["_variants"]:
        if variant.get("InstanceType"):
            start_meter(ctx, endpoint, f"{endpoint['EndpointArn']}/variant/{variant['VariantName']}",
                        usage=f"Host:{variant['InstanceType']}",
                        hourly_usd=round(instance_hourly_usd(variant["InstanceType"]) * variant["InstanceCount"], 4),
                        tags=tags_as_dict(endpoint["Tags"]))


def _live_endpoint(ctx, name: str) -> tuple[dict, str]:
    endpoint = records(ctx, "endpoints").get(name.lower())
    phase = lifecycle_phase(ctx, endpoint, endpoint_seconds(ctx)) if endpoint else None
    if phase is None:
        raise _invalid(f'Could not find endpoint "{make_arn(ctx, f"endpoint/{name.lower()}")}".')
    return endpoint, phase


def _variant_summary(variant: dict, resolved_at: str, *, running: bool) -> dict:
    """ProductionVariantSummary of a deployed variant; ``running`` once its instances are up."""
    images = [{"SpecifiedImage": image,
               "ResolvedImage": f"{image.split(':')[0]}@sha256:{hashlib.sha256(image.encode()).hexdigest()}",
               "ResolutionTime": as_time(resolved_at)} for image in variant["Images"]]
    summary = {"VariantName": variant["VariantName"], "DeployedImages": images, "DesiredWeight": variant["Weight"]}
    if variant.get("ServerlessConfig"):
        summary["DesiredServerlessConfig"] = variant["ServerlessConfig"]
    else:
        summary["DesiredInstanceCount"] = variant["InstanceCount"]
    if running:
        summary["CurrentWeight"] = variant["Weight"]
        if variant.get("ServerlessConfig"):
            summary["CurrentServerlessConfig"] = variant["ServerlessConfig"]
        else:
            summary["CurrentInstanceCount"] = variant["InstanceCount"]
    else:
        summary["VariantStatus"] = [{"Status": "Creating", "StartTime": as_time(resolved_at)}]
    return summary


def _record_lineage(ctx, endpoint: dict, config: dict) -> None:
    """SageMaker's endpoint lineage for each deployed model container: the model, and the model
    package (and its image) when the container was made from one."""
    if not ctx.sandbox.implements("sagemaker", "_RecordEndpointLineage"):
        return
    for variant in config["ProductionVariants"]:
        model = _find(ctx, "models", variant["ModelName"], "model", "model")
        containers = ([model["PrimaryContainer"]] if "PrimaryContainer" in model else []) + model.get("Containers", [])
        for container in containers:
            package_arn, image = container.get("ModelPackageName"), container.get("Image")
            if package_arn:
                package = find_model_package(ctx, package_arn, "DescribeModelPackage")
                package_arn = package["ModelPackageArn"]
                image = image or next(iter(package.get("InferenceSpecification", {}).get("Containers", [])),
                                      {}).get("Image")
            ctx.call("sagemaker", "_RecordEndpointLineage", compact({
                "EndpointArn": endpoint["EndpointArn"], "ModelArn": model["ModelArn"],
                "ModelPackageArn": package_arn, "Image": image}))


@sagemaker_operation("CreateEndpoint", key=lambda p: p["EndpointName"])
def create_endpoint(ctx, params):
    """Deploy an endpoint configuration (Creating, then InService) and start its cost meters."""
    name = params["EndpointName"]
    existing = records(ctx, "endpoints").get(name.lower())
    if existing and lifecycle_phase(ctx, existing, endpoint_seconds(ctx)) is not None:
        raise _invalid(f'Cannot create already existing endpoint "{existing["EndpointArn"]}".')
    config = _find(ctx, "endpoint_configs", params["EndpointConfigName"], "endpoint configuration", "endpoint-config")
    endpoint = compact({
        "EndpointName": name,
        "EndpointArn": make_arn(ctx, f"endpoint/{name.lower()}"),
        "EndpointConfigName": config["EndpointConfigName"],
        "CreationTime": now_iso(ctx),
        "LastModifiedTime": now_iso(ctx),
        "LastDeploymentConfig": params.get("DeploymentConfig"),
        "Tags": list(params.get("Tags", [])),
        "_variants": _deployment(ctx, config),
    })
    records(ctx, "endpoints")[name.lower()] = endpoint
    _start_variant_meters(ctx, endpoint)
    _record_lineage(ctx, endpoint, config)
    return {"EndpointArn": endpoint["EndpointArn"]}


@sagemaker_operation("UpdateEndpoint", key=lambda p: p["EndpointName"])
def update_endpoint(ctx, params):
    """Deploy another configuration to an InService endpoint (Updating, then InService); the
    cost meters switch to the new variants."""
    endpoint, phase = _live_endpoint(ctx, params["EndpointName"])
    if phase != "ready":
        raise _invalid(f'Cannot update in-progress endpoint "{endpoint["EndpointArn"]}".')
    config = _find(ctx, "endpoint_configs", params["EndpointConfigName"], "endpoint configuration", "endpoint-config")
    endpoint["_previous"] = {"EndpointConfigName": endpoint["EndpointConfigName"], "variants": endpoint["_variants"]}
    endpoint.update(EndpointConfigName=config["EndpointConfigName"], _variants=_deployment(ctx, config))
    if "DeploymentConfig" in params:
        endpoint["LastDeploymentConfig"] = params["DeploymentConfig"]
    endpoint["LastModifiedTime"] = endpoint["_updated"] = now_iso(ctx)
    stop_meters(ctx, endpoint)
    _start_variant_meters(ctx, endpoint)
    _record_lineage(ctx, endpoint, config)
    return {"EndpointArn": endpoint["EndpointArn"]}


@sagemaker_operation("DescribeEndpoint")
def describe_endpoint(ctx, params):
    """While Updating, the previous configuration is still the one serving and the new one is
    described in PendingDeploymentSummary."""
    endpoint, phase = _live_endpoint(ctx, params["EndpointName"])
    described = {**with_times(public_fields(endpoint), "CreationTime", "LastModifiedTime"),
                 "EndpointStatus": ENDPOINT_STATUS[phase]}
    deployed_at = endpoint.get("_updated", endpoint["CreationTime"])
    if phase == "updating":
        previous = endpoint["_previous"]
        described["EndpointConfigName"] = previous["EndpointConfigName"]
        described["ProductionVariants"] = [_variant_summary(v, endpoint["CreationTime"], running=True)
                                           for v in previous["variants"]]
        described["PendingDeploymentSummary"] = {
            "EndpointConfigName": endpoint["EndpointConfigName"], "StartTime": as_time(deployed_at),
            "ProductionVariants": [
                {**_variant_summary(v, deployed_at, running=False), **compact({"InstanceType": v.get("InstanceType")})}
                for v in endpoint["_variants"]]}
    else:
        described["ProductionVariants"] = [_variant_summary(v, deployed_at, running=phase != "creating")
                                           for v in endpoint["_variants"]]
    return described


@sagemaker_operation("ListEndpoints")
def list_endpoints(ctx, params):
    live = []
    for endpoint in records(ctx, "endpoints").values():
        phase = lifecycle_phase(ctx, endpoint, endpoint_seconds(ctx))
        if (phase is not None and params.get("StatusEquals") in (None, ENDPOINT_STATUS[phase])
                and name_contains(endpoint["EndpointName"], params)
                and created_between(endpoint["CreationTime"], params, "CreationTimeAfter", "CreationTimeBefore")
                and created_between(endpoint["LastModifiedTime"], params,
                                    "LastModifiedTimeAfter", "LastModifiedTimeBefore")):
            summary = {key: endpoint[key] for key in ("EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime")}
            live.append({**with_times(summary, "CreationTime", "LastModifiedTime"),
                         "EndpointStatus": ENDPOINT_STATUS[phase]})
    ordered = sort_records(live, params, {"Name": lambda e: e["EndpointName"],
                                          "CreationTime": lambda e: e["CreationTime"],
                                          "Status": lambda e: e["EndpointStatus"]},
                           default_by="CreationTime", default_order="Descending")
    page, token = paginate(ctx, ordered, params)
    return compact({"Endpoints": page, "NextToken": token})


@sagemaker_operation("DeleteEndpoint", key=lambda p: p["EndpointName"])
def delete_endpoint(ctx, params):
    """Start deleting an endpoint (Deleting, then gone) and stop its cost meters; repeating it
    while Deleting changes nothing."""
    endpoint, phase = _live_endpoint(ctx, params["EndpointName"])
    if phase == "deleting":
        ctx.ledger_note(effect=False)
        return {}
    endpoint["_deleted"] = now_iso(ctx)
    stop_meters(ctx, endpoint)
    return {}


# -- tags --------------------------------------------------------------------------------------
def _tags_of(ctx, arn: str) -> list | None:
    region, account, resource_type, rest = split_arn(arn)
    kind = {"model": "models", "endpoint-config": "endpoint_configs", "endpoint": "endpoints"}[resource_type]
    record = records(ctx, kind, account, region).get(rest.lower())
    if record is None or (kind == "endpoints" and lifecycle_phase(ctx, record, endpoint_seconds(ctx)) is None):
        return None
    return record["Tags"]


for _resource_type in ("model", "endpoint-config", "endpoint"):
    register_taggable(_resource_type, _tags_of)
