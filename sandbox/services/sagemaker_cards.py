"""SageMaker model cards and model card export jobs (AWS_API.md §6), shared through RAM (§9).

State, under ``ctx.state`` (the ``sagemaker`` service dict; layout of ``sagemaker_common``):

    cards[account][region][name] = {name, arn, created, security_config, tags,
                                    versions: [{version, status, content, time, by}]}
    export_jobs[account][region][job_arn] = {name, arn, card, version, output, created, requester,
                                             snapshot: the exported version's {status, content, time}}

Every update appends an immutable version. An export job is ``InProgress`` until
``ctx.config.export_seconds`` have passed, then ``Completed``; its PDF is written into moto's S3
when a completed job is first described or listed, and again whenever it is missing (moto's S3 is
not restored after a restart). A caller in another account reaches a card through its ARN when
the owner shares it through RAM (``ram.permitted_actions``); its export jobs belong to the owner.
"""
from __future__ import annotations

import dataclasses
import json
import re
import textwrap
from datetime import timedelta

from sandbox.core.errors import AwsError, validation
from sandbox.services import ram
from sandbox.services.sagemaker_common import (
    as_time, created_between, name_contains, paginate, records, sagemaker_operation, sort_records, split_arn,
    user_context,
)
from sandbox.services.sagemaker_tags import register_taggable

STATE_CHANGE = "SageMaker Model Card State Change"
CARD_ARN = re.compile(r"arn:aws[a-z\-]*:sagemaker:([a-z0-9\-]*):([0-9]{12}):model-card/(.*)")
S3_URI = re.compile(r"(https|s3)://([^/]+)/?(.*)")


# -- model card content schema (§6.2) ---------------------------------------------------------
def _text(max_length: int | None = None, min_length: int = 0) -> dict:
    return {"type": "string", "max": max_length, "min": min_length}


def _choice(*values: str) -> dict:
    return {"type": "string", "enum": values}


def _number(minimum: float | None = None) -> dict:
    return {"type": "number", "minimum": minimum}


def _list(items: dict, max_items: int | None = None, min_items: int = 0) -> dict:
    return {"type": "array", "items": items, "max": max_items, "min": min_items}


def _object(required: tuple = (), **properties) -> dict:
    return {"type": "object", "properties": properties, "required": required}


def _string_map(max_length: int) -> dict:
    return {"type": "map", "values": _text(max_length)}


def _metric(kind: str, value: dict, x_axis: dict, y_axis: dict) -> dict:
    return _object(("name", "type", "value"), name=_text(255, 1), notes=_text(1024), type=_choice(kind),
                   value=value, x_axis_name=x_axis, y_axis_name=y_axis)


_AXIS = _text(63)
_AXES = _list(_text(63))
_IMAGES = _object(container_image=_list(_text(1024), 15))
_TRAINING_METRIC = _object(("name", "value"), name=_text(255, 1), notes=_text(1024), value=_number())
_HYPER_PARAMETER = _object(("name", "value"), name=_text(255, 1), value=_text(255, 1))
_METRIC_KINDS = {
    "number": _metric("number", _number(), _AXIS, _AXIS),
    "string": _metric("string", _text(63), _AXIS, _AXIS),
    "boolean": _metric("boolean", {"type": "boolean"}, _AXIS, _AXIS),
    "linear_graph": _metric("linear_graph", _list(_list(_number(), 2, 2), min_items=1), _AXIS, _AXIS),
    "bar_chart": _metric("bar_chart", _list(_number(), min_items=1), _AXES, _AXIS),
    "matrix": _metric("matrix", _list(_list(_number(), 20, 1), 20, 1), _AXES, _AXES),
}
CONTENT_SCHEMA = _object(
    model_overview=_object(
        model_id=_text(1024), model_name=_text(1024), model_description=_text(1024),
        model_version=_number(1), problem_type=_text(1024), algorithm_type=_text(1024),
        model_creator=_text(1024), model_owner=_text(1024), model_artifact=_list(_text(1024), 15),
        inference_environment=_IMAGES),
    model_package_details=_object(
        model_package_description=_text(1024), model_package_arn=_text(2048, 1),
        created_by=_object(user_profile_name=_text(63)),
        model_package_status=_choice("Pending", "InProgress", "Completed", "Failed", "Deleting"),
        model_approval_status=_choice("Approved", "Rejected", "PendingManualApproval"),
        approval_description=_text(1024), model_package_group_name=_text(63, 1),
        model_package_name=_text(63, 1), model_package_version=_number(1), domain=_text(), task=_text(),
        source_algorithms=_list(_object(("algorithm_name",), algorithm_name=_text(170),
                                        model_data_url=_text(1024)), 1, 1),
        inference_specification=_object(("containers",), containers=_list(
            _object(("image",), image=_text(255), model_data_url=_text(1024), nearest_model_name=_text()),
            15, 1))),
    intended_uses=_object(
        purpose_of_model=_text(2048), intended_uses=_text(2048),
        factors_affecting_model_efficiency=_text(2048), explanations_for_risk_rating=_text(2048),
        risk_rating=_choice("High", "Medium", "Low", "Unknown")),
    business_details=_object(business_problem=_text(2048), business_stakeholders=_text(2048),
                             line_of_business=_text(2048)),
    training_details=_object(
        objective_function=_object(
            function=_object(function=_choice("Maximize", "Minimize"), facet=_text(63), condition=_text(63)),
            notes=_text(1024)),
        training_observations=_text(1024),
        training_job_details=_object(
            training_arn=_text(1024), training_datasets=_list(_text(1024), 15), training_environment=_IMAGES,
            training_metrics=_list(_TRAINING_METRIC, 50), user_provided_training_metrics=_list(_TRAINING_METRIC, 50),
            hyper_parameters=_list(_HYPER_PARAMETER, 100),
            user_provided_hyper_parameters=_list(_HYPER_PARAMETER, 100))),
    evaluation_details=_list(_object(
        ("name",), name=_text(63, 1), evaluation_observation=_text(2096), evaluation_job_arn=_text(256),
        datasets=_list(_text(1024), 10), metadata=_string_map(1024),
        metric_groups=_list(_object(("name", "metric_data"), name=_text(63, 1),
                                    metric_data=_list({"type": "metric"}))))),
    additional_information=_object(ethical_considerations=_text(2048), caveats_and_recommendations=_text(2048),
                                   custom_details=_string_map(1024)),
)
_MAP_KEY = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _schema_error(schema: dict, value, path: str) -> str | None:
    """The first way ``value`` breaks ``schema``, as "path: reason", or None when it conforms."""
    return _CHECKS[schema["type"]](schema, value, path)


def _first_error(checks) -> str | None:
    return next((error for error in checks if error), None)


def _check_metric(_schema: dict, value, path: str) -> str | None:
    """Metric data items: the schema of the item's ``type`` (number, linear_graph, ...)."""
    kind = value.get("type") if isinstance(value, dict) else None
    if kind not in _METRIC_KINDS:
        return f"{path}.type: must be one of {', '.join(_METRIC_KINDS)}"
    return _schema_error(_METRIC_KINDS[kind], value, path)


def _check_object(schema: dict, value, path: str) -> str | None:
    """Declared properties only (additionalProperties: false), required ones present."""
    if not isinstance(value, dict):
        return f"{path}: expected an object"
    extra = next((key for key in value if key not in schema["properties"]), None)
    if extra is not None:
        return f"{path}: additional property '{extra}' is not allowed"
    missing = next((key for key in schema["required"] if key not in value), None)
    if missing is not None:
        return f"{path}: required property '{missing}' is missing"
    return _first_error(_schema_error(schema["properties"][key], item, f"{path}.{key}") for key, item in value.items())


def _check_map(schema: dict, value, path: str) -> str | None:
    """Free-form string maps (custom_details, metadata): identifier keys, bounded values."""
    if not isinstance(value, dict):
        return f"{path}: expected an object"
    bad_key = next((key for key in value if not _MAP_KEY.fullmatch(key)), None)
    if bad_key is not None:
        return f"{path}: property name '{bad_key}' does not match {_MAP_KEY.pattern}"
    return _first_error(_schema_error(schema["values"], item, f"{path}.{key}") for key, item in value.items())


def _check_array(schema: dict, value, path: str) -> str | None:
    if not isinstance(value, list):
        return f"{path}: expected an array"
    if len(value) < schema["min"] or (schema["max"] is not None and len(value) > schema["max"]):
        limit = f"at most {schema['max']}" if schema["max"] is not None else "any number of"
        return f"{path}: expected at least {schema['min']} and {limit} items, got {len(value)}"
    return _first_error(_schema_error(schema["items"], item, f"{path}[{index}]") for index, item in enumerate(value))


def _check_number(schema: dict, value, path: str) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{path}: expected a number"
    if schema["minimum"] is not None and value < schema["minimum"]:
        return f"{path}: {value} is less than the minimum of {schema['minimum']}"
    return None


def _check_boolean(_schema: dict, value, path: str) -> str | None:
    return None if isinstance(value, bool) else f"{path}: expected a boolean"


def _check_string(schema: dict, value, path: str) -> str | None:
    if not isinstance(value, str):
        return f"{path}: expected a string"
    if "enum" in schema:
        return None if value in schema["enum"] else f"{path}: '{value}' is not one of {', '.join(schema['enum'])}"
    if len(value) < schema["min"]:
        return f"{path}: must be at least {schema['min']} characters long"
    if schema["max"] is not None and len(value) > schema["max"]:
        return f"{path}: must be at most {schema['max']} characters long, got {len(value)}"
    return None


_CHECKS = {"metric": _check_metric, "object": _check_object, "map": _check_map, "array": _check_array,
           "number": _check_number, "boolean": _check_boolean, "string": _check_string}


def validate_content(content: str) -> None:
    """Raise ValidationException (naming the path) unless Content is JSON following the schema."""
    try:
        document = json.loads(content)
    except ValueError as error:
        raise validation(f"Model card content is not valid JSON: {error}.") from None
    problem = _schema_error(CONTENT_SCHEMA, document, "$")
    if problem:
        raise validation(f"Model card content does not conform to the model card JSON schema: {problem}")


METADATA_ONLY_FIELDS = {"model_overview": ("model_id", "model_name"), "intended_uses": ("risk_rating",),
                        "model_package_details": ("model_package_group_name", "model_package_arn")}


def metadata_only(content: str) -> str:
    """The content reduced to the fields ``IncludedData=MetadataOnly`` keeps (§6.1)."""
    document = json.loads(content)
    kept = {}
    for section, fields in METADATA_ONLY_FIELDS.items():
        values = {name: document[section][name] for name in fields if name in document.get(section, {})}
        if values:
            kept[section] = values
    return json.dumps(kept)


# -- cards: lookup, access, events --------------------------------------------------------------
def card_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account_id}:model-card/{name}"


def _not_found(name: str) -> AwsError:
    return AwsError("ResourceNotFound", f"Model card {name} does not exist.")


def _access_denied(ctx, action: str, resource_arn: str) -> AwsError:
    caller = user_context(ctx)["IamIdentity"]["Arn"]
    return AwsError("AccessDeniedException",
                    f"User: {caller} is not authorized to perform: sagemaker:{action} on resource: "
                    f"{resource_arn} because no resource-based policy allows the sagemaker:{action} action")


def _authorize(ctx, owner: str, shared_arn: str, action: str, resource_arn: str) -> None:
    """Another account's card is reachable only when its owner shares it with the caller through
    RAM with a permission allowing ``action``; otherwise AWS answers AccessDenied."""
    if owner != ctx.account_id and f"sagemaker:{action}" not in ram.permitted_actions(
            ctx, shared_arn, ctx.account_id):
        raise _access_denied(ctx, action, resource_arn)


def _resolve_card(ctx, name_or_arn: str, action: str) -> dict:
    """The card named by ``ModelCardName``: a name, or an ARN (possibly of a shared card)."""
    match = CARD_ARN.fullmatch(name_or_arn)
    if not match:
        card = records(ctx, "cards").get(name_or_arn)
        if card is None:
            raise _not_found(name_or_arn)
        return card
    region, owner, name = match.groups()
    _authorize(ctx, owner, name_or_arn, action, name_or_arn)
    card = records(ctx, "cards", owner, region).get(name)
    if card is None:
        raise _not_found(name_or_arn)
    return card


def _as_owner(ctx, card: dict):
    """``ctx`` in the card owner's account: its events and export jobs belong there."""
    region, owner, _type, _name = split_arn(card["arn"])
    return dataclasses.replace(ctx, account_id=owner, region=region)


def _emit_state_change(ctx, card: dict) -> None:
    """Publish the card's new status. The exact AWS payload of "SageMaker Model Card State
    Change" is unverified (AWS_API.md §12): the detail carries what the portal needs."""
    latest = card["versions"][-1]
    _as_owner(ctx, card).emit_event(
        source="aws.sagemaker", detail_type=STATE_CHANGE,
        detail={"ModelCardName": card["name"], "ModelCardArn": card["arn"],
                "ModelCardVersion": latest["version"], "ModelCardStatus": latest["status"]},
        resources=[card["arn"]])


def _version(card: dict, number: int | None) -> dict:
    if number is None:
        return card["versions"][-1]
    for version in card["versions"]:
        if version["version"] == number:
            return version
    raise AwsError("ResourceNotFound", f"Model card {card['name']} has no version {number}.")


def _tags_of(ctx, arn: str) -> list | None:
    region, account, _type, name = split_arn(arn)
    card = records(ctx, "cards", account, region).get(name)
    return card["tags"] if card else None


register_taggable("model-card", _tags_of)


# -- card operations ------------------------------------------------------------------------------
@sagemaker_operation("CreateModelCard", key=lambda p: p["ModelCardName"])
def create_model_card(ctx, params):
    """Create version 1 of a card (emits a state change). A taken name is a ConflictException."""
    name = params["ModelCardName"]
    validate_content(params["Content"])
    cards = records(ctx, "cards")
    if name in cards:
        raise AwsError("ConflictException", f"Model card {name} already exists.")
    now = ctx.now().isoformat()
    card = cards[name] = {
        "name": name, "arn": card_arn(ctx.region, ctx.account_id, name), "created": now,
        "security_config": params.get("SecurityConfig"), "tags": list(params.get("Tags", [])),
        "versions": [{"version": 1, "status": params["ModelCardStatus"], "content": params["Content"],
                      "time": now, "by": user_context(ctx)}],
    }
    _emit_state_change(ctx, card)
    return {"ModelCardArn": card["arn"]}


@sagemaker_operation("UpdateModelCard", key=lambda p: p["ModelCardName"])
def update_model_card(ctx, params):
    """Append a version with new Content or a new status (never both). A status-only update
    carries the content forward; an Archived card's content can no longer change. A status
    change emits a state change event in the owner's account."""
    content, status = params.get("Content"), params.get("ModelCardStatus")
    if content is not None and status is not None:
        raise validation("Content and ModelCardStatus cannot be updated in the same request. Update "
                         "the content first, then the status.")
    if content is None and status is None:
        raise validation("Either Content or ModelCardStatus must be specified.")
    card = _resolve_card(ctx, params["ModelCardName"], "UpdateModelCard")
    latest = card["versions"][-1]
    if content is not None:
        if latest["status"] == "Archived":
            raise validation(f"Model card {card['name']} is Archived: its content cannot be updated.")
        validate_content(content)
    card["versions"].append({
        "version": latest["version"] + 1, "status": status or latest["status"],
        "content": latest["content"] if content is None else content, "time": ctx.now().isoformat(),
        "by": user_context(ctx),
    })
    if status is not None and status != latest["status"]:
        _emit_state_change(ctx, card)
    return {"ModelCardArn": card["arn"]}


@sagemaker_operation("DescribeModelCard")
def describe_model_card(ctx, params):
    """One version of a card (latest by default); MetadataOnly strips the content (§6.1)."""
    card = _resolve_card(ctx, params["ModelCardName"], "DescribeModelCard")
    version = _version(card, params.get("ModelCardVersion"))
    content = version["content"]
    if params.get("IncludedData") == "MetadataOnly":
        content = metadata_only(content)
    result = {
        "ModelCardArn": card["arn"], "ModelCardName": card["name"], "ModelCardVersion": version["version"],
        "Content": content, "ModelCardStatus": version["status"], "CreationTime": as_time(card["created"]),
        "CreatedBy": card["versions"][0]["by"], "LastModifiedTime": as_time(version["time"]),
        "LastModifiedBy": version["by"],
    }
    if card["security_config"]:
        result["SecurityConfig"] = card["security_config"]
    return result


def _newest_first(items: list, params: dict, keys: dict) -> list:
    """SageMaker's model card listings sort by creation time, newest first, unless told otherwise."""
    return sort_records(items, params, keys, default_by=next(iter(keys)), default_order="Descending")


def _listing(page: list, token: str | None, key: str, summarize) -> dict:
    return {key: [summarize(item) for item in page], **({"NextToken": token} if token else {})}


@sagemaker_operation("ListModelCards")
def list_model_cards(ctx, params):
    """The caller's cards (latest version of each), filtered, sorted and paged."""
    cards = [card for card in records(ctx, "cards").values()
             if name_contains(card["name"], params)
             and params.get("ModelCardStatus") in (None, card["versions"][-1]["status"])
             and created_between(card["created"], params, "CreationTimeAfter", "CreationTimeBefore")]
    cards = _newest_first(cards, params, {"CreationTime": lambda card: card["created"],
                                          "Name": lambda card: card["name"]})
    page, token = paginate(ctx, cards, params)
    return _listing(page, token, "ModelCardSummaries", lambda card: {
        "ModelCardName": card["name"], "ModelCardArn": card["arn"],
        "ModelCardStatus": card["versions"][-1]["status"], "CreationTime": as_time(card["created"]),
        "LastModifiedTime": as_time(card["versions"][-1]["time"])})


@sagemaker_operation("ListModelCardVersions")
def list_model_card_versions(ctx, params):
    """A card's versions (name, or shared ARN), filtered by status and time, sorted by version."""
    card = _resolve_card(ctx, params["ModelCardName"], "ListModelCardVersions")
    versions = [version for version in card["versions"]
                if params.get("ModelCardStatus") in (None, version["status"])
                and created_between(version["time"], params, "CreationTimeAfter", "CreationTimeBefore")]
    versions = _newest_first(versions, params, {"Version": lambda version: version["version"]})
    page, token = paginate(ctx, versions, params)
    return _listing(page, token, "ModelCardVersionSummaryList", lambda version: {
        "ModelCardName": card["name"], "ModelCardArn": card["arn"], "ModelCardStatus": version["status"],
        "ModelCardVersion": version["version"], "CreationTime": as_time(version["time"]),
        "LastModifiedTime": as_time(version["time"])})


@sagemaker_operation("DeleteModelCard", key=lambda p: p["ModelCardName"])
def delete_model_card(ctx, params):
    """Delete a card of the caller's account with its export jobs; refused while one runs."""
    card = records(ctx, "cards").get(params["ModelCardName"])
    if card is None:
        raise _not_found(params["ModelCardName"])
    jobs = records(ctx, "export_jobs")
    card_jobs = [arn for arn, job in jobs.items() if job["card"] == card["name"]]
    if any(_job_status(ctx, jobs[arn]) == "InProgress" for arn in card_jobs):
        raise AwsError("ConflictException", f"Model card {card['name']} has an export job in progress; "
                                            "try again when it has finished.")
    for arn in card_jobs:
        del jobs[arn]
    del records(ctx, "cards")[card["name"]]
    return {}


# -- export jobs ----------------------------------------------------------------------------------
def _job_status(ctx, job: dict) -> str:
    finished = as_time(job["created"]) + timedelta(seconds=ctx.config.export_seconds)
    return "Completed" if ctx.now() >= finished else "InProgress"


def _pdf_location(job: dict) -> tuple[str, str]:
    """(bucket, key) of the job's PDF: ``<S3OutputPath>/<card>/<job>.pdf``. An https path names
    the bucket in the host (``bucket.s3.amazonaws.com``) or first in the path (``s3.amazonaws.com``)."""
    scheme, host, prefix = S3_URI.fullmatch(job["output"]).groups()
    bucket = host
    if scheme == "https":
        bucket = host.split(".s3", 1)[0]
        if host.startswith("s3.") or host.startswith("s3-"):
            bucket, _, prefix = prefix.partition("/")
    key = "/".join(part for part in (prefix.strip("/"), job["card"], f"{job['name']}.pdf") if part)
    return bucket, key


def _describe_job(ctx, job: dict, summary: bool = False) -> dict:
    """A job's description (or summary); a completed job's PDF is (re)written to S3 if missing."""
    status = _job_status(ctx, job)
    created = as_time(job["created"])
    result = {
        "ModelCardExportJobName": job["name"], "ModelCardExportJobArn": job["arn"], "Status": status,
        "ModelCardName": job["card"], "ModelCardVersion": job["version"], "CreatedAt": created,
        "LastModifiedAt": created,
    }
    if status == "Completed":
        result["LastModifiedAt"] = created + timedelta(seconds=ctx.config.export_seconds)
        bucket, key = _pdf_location(job)
        _ensure_pdf(bucket, key, job)
        if not summary:
            result["ExportArtifacts"] = {"S3ExportArtifacts": f"s3://{bucket}/{key}"}
    if not summary:
        result["OutputConfig"] = {"S3OutputPath": job["output"]}
    return result


@sagemaker_operation("CreateModelCardExportJob", key=lambda p: p["ModelCardExportJobName"])
def create_model_card_export_job(ctx, params):
    """Start exporting one card version to PDF. The job belongs to the card owner's account
    (also when a consumer account exports a shared card); a repeated job name is a conflict."""
    card = _resolve_card(ctx, params["ModelCardName"], "CreateModelCardExportJob")
    version = _version(card, params.get("ModelCardVersion"))
    owner = _as_owner(ctx, card)
    arn = f"{card['arn']}/export-job/{params['ModelCardExportJobName']}"
    jobs = records(ctx, "export_jobs", owner.account_id, owner.region)
    if arn in jobs:
        raise AwsError("ConflictException", f"Model card export job {params['ModelCardExportJobName']} "
                                            f"already exists for model card {card['name']}.")
    jobs[arn] = {"name": params["ModelCardExportJobName"], "arn": arn, "card": card["name"],
                 "version": version["version"], "output": params["OutputConfig"]["S3OutputPath"],
                 "created": ctx.now().isoformat(), "requester": ctx.account_id,
                 "snapshot": {key: version[key] for key in ("status", "content", "time")}}
    return {"ModelCardExportJobArn": arn}


@sagemaker_operation("DescribeModelCardExportJob")
def describe_model_card_export_job(ctx, params):
    """A job by ARN; a consumer account may describe jobs on cards shared with AllowExport."""
    arn = params["ModelCardExportJobArn"]
    region, owner, _type, path = split_arn(arn)
    card_name = path.split("/", 1)[0]
    _authorize(ctx, owner, card_arn(region, owner, card_name), "DescribeModelCardExportJob", arn)
    job = records(ctx, "export_jobs", owner, region).get(arn)
    if job is None:
        raise AwsError("ResourceNotFound", f"Model card export job {arn} does not exist.")
    return _describe_job(ctx, job)


@sagemaker_operation("ListModelCardExportJobs")
def list_model_card_export_jobs(ctx, params):
    """Export jobs of one of the caller's cards, filtered, sorted and paged."""
    jobs = [job for job in records(ctx, "export_jobs").values()
            if job["card"] == params["ModelCardName"]
            and name_contains(job["name"], params, "ModelCardExportJobNameContains")
            and params.get("ModelCardVersion") in (None, job["version"])
            and params.get("StatusEquals") in (None, _job_status(ctx, job))
            and created_between(job["created"], params, "CreationTimeAfter", "CreationTimeBefore")]
    jobs = _newest_first(jobs, params, {"CreationTime": lambda job: job["created"], "Name": lambda job: job["name"],
                                        "Status": lambda job: _job_status(ctx, job)})
    page, token = paginate(ctx, jobs, params)
    return _listing(page, token, "ModelCardExportJobSummaries",
                    lambda job: _describe_job(ctx, job, summary=True))


# -- the exported PDF -------------------------------------------------------------------------
def _ensure_pdf(bucket: str, key: str, job: dict) -> None:
    """Write the job's PDF into moto's S3 unless it is there (idempotent). A missing bucket is
    created in the account that asked for the export."""
    from moto.s3.models import s3_backends

    partition, account_id = s3_backends.bucket_accounts.get(bucket, ("aws", job["requester"]))
    backend = s3_backends[account_id][partition]
    if bucket not in backend.buckets:
        backend.create_bucket(bucket, split_arn(job["arn"])[0])
    if backend.get_object(bucket, key) is None:
        snapshot = job["snapshot"]
        backend.put_object(bucket, key, render_card_pdf(job["card"], snapshot["status"], job["version"],
                                                        snapshot["content"], snapshot["time"]))


def _content_lines(value, label: str = "") -> list[str]:
    """Flatten a content document into "label: value" lines, sections as headings."""
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            title = key.replace("_", " ").capitalize()
            lines += _content_lines(item, f"{label} / {title}" if label else title)
        return lines
    if isinstance(value, list):
        if all(not isinstance(item, (dict, list)) for item in value):
            return [f"{label}: {', '.join(str(item) for item in value)}"]
        return [line for index, item in enumerate(value, 1) for line in _content_lines(item, f"{label} #{index}")]
    return [f"{label}: {value}"]


def render_card_pdf(name: str, status: str, version: int, content: str, modified: str) -> bytes:
    """A plain PDF of a model card: title, status, version, then every content field as text.

    Text is left uncompressed so it can be read back (tests search it for the model name).
    """
    document = json.loads(content)
    lines = [("F2", 16, f"Model card: {name}"), ("F1", 10, f"Status: {status}"),
             ("F1", 10, f"Version: {version}"), ("F1", 10, f"Last modified: {modified}"), ("F1", 10, "")]
    model_name = document.get("model_overview", {}).get("model_name")
    if model_name:
        lines.insert(1, ("F2", 12, f"Model: {model_name}"))
    for line in _content_lines(document):
        lines += [("F1", 10, part) for part in textwrap.wrap(line, 95) or [""]]
    return _pdf(lines)


PDF_LINES_PER_PAGE = 54   # 14 pt apart from 800 pt down to the bottom margin of an A4 page


def _pdf(lines: list[tuple[str, int, str]]) -> bytes:
    """Assemble a minimal valid PDF: A4 pages of Helvetica text, (font, size, text) per line."""
    pages = [lines[start:start + PDF_LINES_PER_PAGE] for start in range(0, len(lines), PDF_LINES_PER_PAGE)]
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>"]
    page_ids = []
    for page in pages:
        text = ["BT", "14 TL", "50 800 Td"]
        for font, size, line in page:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            text += [f"/{font} {size} Tf", f"({escaped}) Tj", "T*"]
        stream = "\n".join(text + ["ET"]).encode("latin-1", "replace")
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
                       b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> >>" % len(objects))
        page_ids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % number for number in page_ids), len(page_ids))
    body = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return body
