"""SageMaker ML lineage (AWS_API.md §7): artifacts, actions, contexts, associations, QueryLineage,
and the entities SageMaker creates by itself for model packages and endpoints.

State, under ``ctx.state`` (the ``sagemaker`` service dict shared with ``sagemaker.py``):

    lineage[account][region] = {
        entities: {arn: {kind, arn, name, type, edge_type, source, properties, metadata,
                         description, status, tags, created, auto}},
        associations: [{source, destination, type, created}]   # in creation order
    }

``kind`` is artifact, action, context or trial_component (the lineage entity of a SageMaker job;
only SageMaker creates those here). ``type`` is what QueryLineage reports as the vertex Type;
``edge_type`` is what ListAssociations reports as Source/DestinationType (they differ only for
jobs: TrainingJob vs SageMakerTrainingJob).

Auto-created lineage follows SageMaker's conventions as far as they are observable (names like
``<group>-<epoch>-aws-model-package-group``, ``<job>-aws-training-job``; types DataSet, Model,
Image, Approval, ModelGroup, ModelDeployment, Endpoint). The graph built for a model package is

    DataSet -> processing job -> DataSet -> training job -> Model (model.tar.gz)
    Image -> each job; pipeline execution (Context) -> each job
    Model (model.tar.gz), Image -> Model (package) -> Approval (action) and ModelGroup (context)

and for an endpoint: Approval (or the package) -> Endpoint (context) -> ModelDeployment (action)
-> Model (the deployed model), Image -> ModelDeployment.

The modules that create packages and endpoints record this through internal operations:
``ctx.call("sagemaker", "_RecordModelPackageLineage", {...})`` and ``"_RecordEndpointLineage"``
(parameters in their docstrings); the boot seeder (order 40, after the registry seed) records it
for every seeded package and endpoint.
"""
from __future__ import annotations

import dataclasses
import re
from collections import deque

from sandbox.core.errors import AwsError, validation
from sandbox.core.registry import operation, seeder
from sandbox.services.sagemaker_common import (
    as_time, created_between, paginate, records, sagemaker_operation, sort_records, split_arn,
)
from sandbox.services.sagemaker_tags import register_taggable

LINEAGE_TYPES = {"artifact": "Artifact", "action": "Action", "context": "Context",
                 "trial_component": "TrialComponent"}
PIPELINE_EXECUTION = re.compile(r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:pipeline/([^/]+)/execution/(.+)")
# Manually created entities are capped per account and region; SageMaker's own are not.
MANUAL_LIMITS = {"action": 3000, "artifact": 6000, "context": 500}
MAX_ASSOCIATIONS = 6000
QUERY_MINIMUMS = {"MaxDepth": 0, "MaxResults": 1}   # the model gives QueryLineage maxima only


def _lineage(ctx) -> dict:
    store = records(ctx, "lineage")
    store.setdefault("entities", {})
    store.setdefault("associations", [])
    return store


def _arn(ctx, kind: str, name: str | None) -> str:
    """Artifacts are named by a hash-like id, the others by their (lowercased) name."""
    prefix = f"arn:aws:sagemaker:{ctx.region}:{ctx.account_id}"
    if kind == "artifact":
        return f"{prefix}:artifact/{ctx.new_id('', 32, '0123456789abcdef')}"
    resource = "experiment-trial-component" if kind == "trial_component" else kind
    return f"{prefix}:{resource}/{name.lower()}"


def _entity(store: dict, arn: str, kind: str | None = None) -> dict:
    entity = store["entities"].get(arn)
    if entity is None or (kind and entity["kind"] != kind):
        raise AwsError("ResourceNotFound", f"{LINEAGE_TYPES.get(kind, 'Entity')} {arn} does not exist.")
    return entity


def _by_name(store: dict, kind: str, name_or_arn: str) -> dict:
    """An action or context by name or ARN."""
    for entity in store["entities"].values():
        if entity["kind"] == kind and name_or_arn in (entity["arn"], entity["name"]):
            return entity
    raise AwsError("ResourceNotFound", f"{LINEAGE_TYPES[kind]} {name_or_arn} does not exist.")


def _by_source(store: dict, kind: str, source_uri: str) -> dict | None:
    return next((entity for entity in store["entities"].values()
                 if entity["kind"] == kind and entity["source"]["SourceUri"] == source_uri), None)


def _add(store: dict, *, kind: str, arn: str, created: str, auto: bool, name=None, type_=None, source=None,
         properties=None, metadata=None, description=None, status=None, tags=None, edge_type=None) -> dict:
    entity = store["entities"][arn] = {
        "kind": kind, "arn": arn, "name": name, "type": type_, "edge_type": edge_type or type_,
        "source": source, "properties": properties or {}, "metadata": metadata, "description": description,
        "status": status, "tags": tags or [], "created": created, "auto": auto,
    }
    return entity


def _check_manual_limit(store: dict, kind: str) -> None:
    manual = sum(1 for entity in store["entities"].values() if entity["kind"] == kind and not entity["auto"])
    if manual >= MANUAL_LIMITS[kind]:
        raise AwsError("ResourceLimitExceeded", f"The account-level service limit of {MANUAL_LIMITS[kind]} "
                                                f"{LINEAGE_TYPES[kind].lower()}s has been reached.")


def _name_taken(store: dict, kind: str, name: str) -> bool:
    return any(entity["kind"] == kind and (entity["name"] or "").lower() == name.lower()
               for entity in store["entities"].values())


def _summary_times(entity: dict) -> dict:
    return {"CreationTime": as_time(entity["created"]), "LastModifiedTime": as_time(entity["created"])}


# Describe* members beyond the common ones, per entity kind.
_DESCRIBED = {"artifact": (("MetadataProperties", "metadata"),),
              "action": (("MetadataProperties", "metadata"), ("Description", "description"), ("Status", "status")),
              "context": (("Description", "description"),)}


def _describe(entity: dict, name_member: str, arn_member: str, type_member: str) -> dict:
    """The Describe* answer shared by artifacts, actions and contexts."""
    result = {arn_member: entity["arn"], "Source": entity["source"], type_member: entity["type"],
              "Properties": entity["properties"], **_summary_times(entity), "CreatedBy": {}, "LastModifiedBy": {}}
    if entity["name"]:
        result[name_member] = entity["name"]
    for member, key in _DESCRIBED[entity["kind"]]:
        if entity[key] is not None:
            result[member] = entity[key]
    return result


def _listing(ctx, params: dict, kind: str, type_member: str, summary_key: str, summarize) -> dict:
    """List* of artifacts, actions or contexts: SourceUri, type and creation-time filters, sorted
    (CreationTime, or Name where offered; newest first by default) and paged."""
    entities = [entity for entity in _lineage(ctx)["entities"].values()
                if entity["kind"] == kind
                and params.get("SourceUri") in (None, entity["source"]["SourceUri"])
                and params.get(type_member) in (None, entity["type"])
                and created_between(entity["created"], params, "CreatedAfter", "CreatedBefore")]
    entities = sort_records(entities, params, {"CreationTime": lambda entity: entity["created"],
                                               "Name": lambda entity: entity["name"] or ""},
                            default_by="CreationTime", default_order="Descending")
    page, token = paginate(ctx, entities, params)
    return {summary_key: [summarize(entity) for entity in page], **({"NextToken": token} if token else {})}


def _tags_of(ctx, arn: str) -> list | None:
    entity = _lineage(ctx)["entities"].get(arn)
    return entity["tags"] if entity else None


register_taggable("artifact", _tags_of)
register_taggable("action", _tags_of)
register_taggable("context", _tags_of)


# -- artifacts ----------------------------------------------------------------------------------
@sagemaker_operation("CreateArtifact", key=lambda p: p.get("ArtifactName") or p["Source"]["SourceUri"])
def create_artifact(ctx, params):
    """Create an artifact. There is one artifact per SourceUri: a second one is refused and the
    error names the existing ARN (SageMaker's own entities reuse it instead)."""
    store = _lineage(ctx)
    existing = _by_source(store, "artifact", params["Source"]["SourceUri"])
    if existing:
        raise validation(f"An artifact with SourceUri {params['Source']['SourceUri']} already exists: "
                         f"{existing['arn']}.")
    if params.get("ArtifactName") and _name_taken(store, "artifact", params["ArtifactName"]):
        raise validation(f"Artifact {params['ArtifactName']} already exists.")
    _check_manual_limit(store, "artifact")
    entity = _add(store, kind="artifact", arn=_arn(ctx, "artifact", None), created=ctx.now().isoformat(),
                  auto=False, name=params.get("ArtifactName"), type_=params["ArtifactType"],
                  source=params["Source"], properties=params.get("Properties"),
                  metadata=params.get("MetadataProperties"), tags=params.get("Tags"))
    return {"ArtifactArn": entity["arn"]}


@sagemaker_operation("DescribeArtifact")
def describe_artifact(ctx, params):
    return _describe(_entity(_lineage(ctx), params["ArtifactArn"], "artifact"),
                     "ArtifactName", "ArtifactArn", "ArtifactType")


@sagemaker_operation("ListArtifacts")
def list_artifacts(ctx, params):
    return _listing(ctx, params, "artifact", "ArtifactType", "ArtifactSummaries", lambda entity: {
        "ArtifactArn": entity["arn"], **({"ArtifactName": entity["name"]} if entity["name"] else {}),
        "Source": entity["source"], "ArtifactType": entity["type"], **_summary_times(entity)})


# -- actions ------------------------------------------------------------------------------------
@sagemaker_operation("CreateAction", key=lambda p: p["ActionName"])
def create_action(ctx, params):
    """Create an action; an existing name is refused."""
    store = _lineage(ctx)
    if _name_taken(store, "action", params["ActionName"]):
        raise validation(f"Action {params['ActionName']} already exists.")
    _check_manual_limit(store, "action")
    entity = _add(store, kind="action", arn=_arn(ctx, "action", params["ActionName"]),
                  created=ctx.now().isoformat(), auto=False, name=params["ActionName"], type_=params["ActionType"],
                  source=params["Source"], properties=params.get("Properties"),
                  metadata=params.get("MetadataProperties"), description=params.get("Description"),
                  status=params.get("Status"), tags=params.get("Tags"))
    return {"ActionArn": entity["arn"]}


@sagemaker_operation("DescribeAction")
def describe_action(ctx, params):
    return _describe(_by_name(_lineage(ctx), "action", params["ActionName"]), "ActionName", "ActionArn", "ActionType")


@sagemaker_operation("ListActions")
def list_actions(ctx, params):
    return _listing(ctx, params, "action", "ActionType", "ActionSummaries", lambda entity: {
        "ActionArn": entity["arn"], "ActionName": entity["name"], "Source": entity["source"],
        "ActionType": entity["type"], **({"Status": entity["status"]} if entity["status"] else {}),
        **_summary_times(entity)})


# -- contexts -----------------------------------------------------------------------------------
@sagemaker_operation("CreateContext", key=lambda p: p["ContextName"])
def create_context(ctx, params):
    """Create a context; an existing name is refused."""
    store = _lineage(ctx)
    if _name_taken(store, "context", params["ContextName"]):
        raise validation(f"Context {params['ContextName']} already exists.")
    _check_manual_limit(store, "context")
    entity = _add(store, kind="context", arn=_arn(ctx, "context", params["ContextName"]),
                  created=ctx.now().isoformat(), auto=False, name=params["ContextName"],
                  type_=params["ContextType"], source=params["Source"], properties=params.get("Properties"),
                  description=params.get("Description"), tags=params.get("Tags"))
    return {"ContextArn": entity["arn"]}


@sagemaker_operation("DescribeContext")
def describe_context(ctx, params):
    return _describe(_by_name(_lineage(ctx), "context", params["ContextName"]), "ContextName", "ContextArn",
                     "ContextType")


@sagemaker_operation("ListContexts")
def list_contexts(ctx, params):
    return _listing(ctx, params, "context", "ContextType", "ContextSummaries", lambda entity: {
        "ContextArn": entity["arn"], "ContextName": entity["name"], "Source": entity["source"],
        "ContextType": entity["type"], **_summary_times(entity)})


# -- associations -------------------------------------------------------------------------------
def _link(store: dict, source: str, destination: str, edge_type: str | None, created: str) -> bool:
    """Add an association unless it exists; True when it was added."""
    if any(a["source"] == source and a["destination"] == destination for a in store["associations"]):
        return False
    store["associations"].append({"source": source, "destination": destination, "type": edge_type,
                                  "created": created})
    return True


@sagemaker_operation("AddAssociation", key=lambda p: f"{p['SourceArn']} -> {p['DestinationArn']}")
def add_association(ctx, params):
    """Associate two existing entities; a repeated association is refused."""
    source, destination = params["SourceArn"], params["DestinationArn"]
    if all(":experiment" in arn for arn in (source, destination)):
        raise validation("You cannot create an association between two experiment entities.")
    store = _lineage(ctx)
    _entity(store, source)
    _entity(store, destination)
    if len(store["associations"]) >= MAX_ASSOCIATIONS:
        raise AwsError("ResourceLimitExceeded", f"The account-level service limit of {MAX_ASSOCIATIONS} "
                                                "associations has been reached.")
    if not _link(store, source, destination, params.get("AssociationType"), ctx.now().isoformat()):
        raise validation(f"An association between {source} and {destination} already exists.")
    return {"SourceArn": source, "DestinationArn": destination}


@sagemaker_operation("DeleteAssociation", key=lambda p: f"{p['SourceArn']} -> {p['DestinationArn']}")
def delete_association(ctx, params):
    """Remove an association; ResourceNotFound when there is none."""
    store = _lineage(ctx)
    kept = [a for a in store["associations"]
            if (a["source"], a["destination"]) != (params["SourceArn"], params["DestinationArn"])]
    if len(kept) == len(store["associations"]):
        raise AwsError("ResourceNotFound", f"Association between {params['SourceArn']} and "
                                           f"{params['DestinationArn']} does not exist.")
    store["associations"] = kept
    return {"SourceArn": params["SourceArn"], "DestinationArn": params["DestinationArn"]}


@sagemaker_operation("ListAssociations")
def list_associations(ctx, params):
    """Associations filtered by either end, its type, the edge type and time; newest first and
    10 a page by default."""
    store = _lineage(ctx)
    entities = store["entities"]
    rows = [(association, entities[association["source"]], entities[association["destination"]])
            for association in store["associations"]]
    rows = [(association, source, destination) for association, source, destination in rows
            if params.get("SourceArn") in (None, source["arn"])
            and params.get("DestinationArn") in (None, destination["arn"])
            and params.get("SourceType") in (None, source["edge_type"])
            and params.get("DestinationType") in (None, destination["edge_type"])
            and params.get("AssociationType") in (None, association["type"])
            and created_between(association["created"], params, "CreatedAfter", "CreatedBefore")]
    sort_keys = {"CreationTime": lambda row: row[0]["created"], "SourceArn": lambda row: row[1]["arn"],
                 "DestinationArn": lambda row: row[2]["arn"], "SourceType": lambda row: row[1]["edge_type"] or "",
                 "DestinationType": lambda row: row[2]["edge_type"] or ""}
    rows = sort_records(rows, params, sort_keys, default_by="CreationTime", default_order="Descending")
    page, token = paginate(ctx, rows, params)
    return {"AssociationSummaries": [_association_summary(*row) for row in page],
            **({"NextToken": token} if token else {})}


def _association_summary(association: dict, source: dict, destination: dict) -> dict:
    summary = {"SourceArn": source["arn"], "DestinationArn": destination["arn"],
               "SourceType": source["edge_type"], "DestinationType": destination["edge_type"],
               "CreationTime": as_time(association["created"]), "CreatedBy": {}}
    if association["type"]:
        summary["AssociationType"] = association["type"]
    for member, entity in (("SourceName", source), ("DestinationName", destination)):
        if entity["name"]:
            summary[member] = entity["name"]
    return summary


# -- QueryLineage -------------------------------------------------------------------------------
def _walk(store: dict, start: str, downstream: bool, max_depth: int) -> tuple[list[str], dict, list[dict]]:
    """Breadth-first walk from ``start`` along (or against) the associations, ``max_depth`` hops.

    Returns the vertices in discovery order, each one's parent on its shortest path, and the
    associations followed.
    """
    near, far = ("source", "destination") if downstream else ("destination", "source")
    order, parent, followed = [start], {start: None}, []
    queue = deque([(start, 0)])
    while queue:
        arn, depth = queue.popleft()
        if depth == max_depth:
            continue
        for association in store["associations"]:
            if association[near] != arn:
                continue
            followed.append(association)
            neighbour = association[far]
            if neighbour not in parent:
                parent[neighbour] = arn
                order.append(neighbour)
                queue.append((neighbour, depth + 1))
    return order, parent, followed


def _matches(entity: dict, filters: dict) -> bool:
    """QueryLineage filters; the sandbox keeps no modification times, so Modified* use creation."""
    created = as_time(entity["created"])
    bounds = ((filters.get("CreatedBefore"), created.__lt__), (filters.get("CreatedAfter"), created.__gt__),
              (filters.get("ModifiedBefore"), created.__lt__), (filters.get("ModifiedAfter"), created.__gt__))
    properties = filters.get("Properties") or {}
    return ((not filters.get("Types") or entity["type"] in filters["Types"])
            and (not filters.get("LineageTypes") or LINEAGE_TYPES[entity["kind"]] in filters["LineageTypes"])
            and all(bound is None or before_or_after(bound) for bound, before_or_after in bounds)
            and (not properties or any(entity["properties"].get(key) == value for key, value in properties.items())))


@sagemaker_operation("QueryLineage")
def query_lineage(ctx, params):
    """Walk the lineage graph from one start ARN (Ascendants, Descendants or Both).

    Vertices matching the filters are returned with, when IncludeEdges (default), the entities
    and associations on their paths from the start. Vertices are paged (MaxResults, default 10);
    each edge comes with the page of its later endpoint.
    """
    for member, minimum in QUERY_MINIMUMS.items():
        if params.get(member, minimum) < minimum:
            raise validation(f"1 validation error detected: Value {params[member]} at '{member[:1].lower()}"
                             f"{member[1:]}' failed to satisfy constraint: Member must have value greater than "
                             f"or equal to {minimum}")
    start_arns = params.get("StartArns") or []
    if not start_arns:
        return {"Vertices": [], "Edges": []}
    store = _lineage(ctx)
    start = start_arns[0]
    _entity(store, start)
    filters = params.get("Filters") or {}
    include_edges = params.get("IncludeEdges", True)
    direction = params.get("Direction", "Both")
    order, kept, followed = [], set(), []
    for downstream in (False, True):
        if direction not in ("Both", "Descendants" if downstream else "Ascendants"):
            continue
        visited, parent, edges = _walk(store, start, downstream, params.get("MaxDepth", 10))
        on_paths = {arn for arn in visited if _matches(store["entities"][arn], filters)}
        if include_edges:
            for arn in list(on_paths):
                while parent[arn] is not None:
                    arn = parent[arn]
                    on_paths.add(arn)
        order += [arn for arn in visited if arn in on_paths and arn not in kept]
        kept |= on_paths
        followed += edges
    page, token = paginate(ctx, order, params)
    result = {"Vertices": [{"Arn": arn, "Type": store["entities"][arn]["type"],
                            "LineageType": LINEAGE_TYPES[store["entities"][arn]["kind"]]} for arn in page],
              "Edges": _edges_of_page(followed, order, set(page)) if include_edges else []}
    return {**result, **({"NextToken": token} if token else {})}


def _edges_of_page(followed: list[dict], order: list[str], page: set[str]) -> list[dict]:
    """The followed associations between kept vertices whose later endpoint is on this page."""
    position = {arn: index for index, arn in enumerate(order)}
    edges, seen = [], set()
    for association in followed:
        ends = (association["source"], association["destination"])
        if ends in seen or not all(end in position for end in ends) or max(ends, key=position.get) not in page:
            continue
        seen.add(ends)
        edges.append({"SourceArn": ends[0], "DestinationArn": ends[1],
                      **({"AssociationType": association["type"]} if association["type"] else {})})
    return edges


# -- what SageMaker creates by itself ------------------------------------------------------------
def _epoch(created: str) -> int:
    return int(as_time(created).timestamp())


def _auto_artifact(ctx, store: dict, source_uri: str, type_: str, created: str, metadata=None,
                   properties=None) -> str:
    """SageMaker's artifact for ``source_uri``: the existing one, or a new one."""
    existing = _by_source(store, "artifact", source_uri)
    if existing:
        return existing["arn"]
    return _add(store, kind="artifact", arn=_arn(ctx, "artifact", None), created=created,
                auto=True, type_=type_, source={"SourceUri": source_uri, "SourceTypes": []},
                metadata=metadata, properties=properties)["arn"]


def _auto_named(ctx, store: dict, kind: str, name: str, type_: str, source: dict, created: str,
                edge_type: str | None = None, **fields) -> str:
    """SageMaker's action, context or job entity for ``source``: the existing one, or a new one."""
    existing = _by_source(store, kind, source["SourceUri"])
    if existing and existing["type"] == type_:
        return existing["arn"]
    return _add(store, kind=kind, arn=_arn(ctx, kind, name), created=created, auto=True,
                name=name, type_=type_, edge_type=edge_type, source=source, **fields)["arn"]


def _job(ctx, store: dict, job_kind: str, job_name: str, image: str | None, inputs: list[str],
         outputs: list[tuple[str, str]], pipeline_context: str | None, created: str) -> str:
    """A SageMaker job's lineage: its trial component, input/output artifacts and image."""
    kind_slug = {"TrainingJob": "training-job", "ProcessingJob": "processing-job"}[job_kind]
    job_arn = f"arn:aws:sagemaker:{ctx.region}:{ctx.account_id}:{kind_slug}/{job_name.lower()}"
    job = _auto_named(ctx, store, "trial_component", f"{job_name}-aws-{kind_slug}", job_kind,
                      {"SourceUri": job_arn, "SourceType": f"SageMaker{job_kind}"}, created,
                      edge_type=f"SageMaker{job_kind}", status="Completed")
    for uri in inputs:
        _link(store, _auto_artifact(ctx, store, uri, "DataSet", created), job, "ContributedTo", created)
    if image:
        _link(store, _auto_artifact(ctx, store, image, "Image", created), job, "ContributedTo", created)
    for uri, type_ in outputs:
        _link(store, job, _auto_artifact(ctx, store, uri, type_, created), "Produced", created)
    if pipeline_context:
        _link(store, pipeline_context, job, "AssociatedWith", created)
    return job


def training_job_name(model_data_url: str) -> str | None:
    """The training job that wrote ``<output path>/<job>/output/model.tar.gz``; for a pipeline
    step's layout ``.../pipelines-<execution>/<step>/output/model.tar.gz``, ``pipelines-<execution>-<step>``."""
    match = re.search(r"([^/]+)/([^/]+)/output/model\.tar\.gz$", model_data_url)
    if not match:
        return None
    parent, job = match.groups()
    return f"{parent}-{job}" if parent.startswith("pipelines-") else job


def record_model_package_lineage(ctx, *, package_arn: str, group_name: str, model_data_url: str | None,
                                 image: str | None, generated_by: str | None, training_datasets: list[str],
                                 created: str, source_package: str | None = None,
                                 processing: dict | None = None) -> str:
    """Create what SageMaker records for a new model package, in the package's account; returns
    the package's artifact ARN.

    Idempotent: entities are found by SourceUri and associations are added once. The pipeline
    execution and its jobs are recorded when ``generated_by`` is a pipeline execution of the same
    account (another account's pipeline keeps its jobs and data in its own lineage); ``processing``
    ({"job_name", "image", "inputs"}) adds the job that produced the training data;
    ``source_package`` (a package this one was copied from) is linked DerivedFrom.
    """
    region, account_id, _type, _name = split_arn(package_arn)
    ctx = dataclasses.replace(ctx, account_id=account_id, region=region)
    store = _lineage(ctx)
    epoch = _epoch(created)
    pipeline = PIPELINE_EXECUTION.fullmatch(generated_by or "")
    local_pipeline = bool(pipeline) and split_arn(generated_by)[1] == account_id
    group_context = _auto_named(
        ctx, store, "context", f"{group_name}-{epoch}-aws-model-package-group", "ModelGroup",
        {"SourceUri": f"arn:aws:sagemaker:{region}:{account_id}:model-package-group/{group_name.lower()}",
         "SourceType": "ModelPackageGroup"}, created,
        properties={"PipelineExecutionArn": generated_by} if pipeline else {})
    package = _auto_artifact(ctx, store, package_arn, "Model", created,
                             metadata={"GeneratedBy": generated_by} if generated_by else None,
                             properties={"ModelPackageGroupName": group_name})
    version = package_arn.rsplit("/", 1)[-1]
    approval = _auto_named(ctx, store, "action", f"{group_name}-{version}-{epoch}-aws-model-package", "Approval",
                           {"SourceUri": package_arn, "SourceType": "ApprovalWorkflow"}, created, status="Completed")
    _link(store, package, group_context, "ContributedTo", created)
    _link(store, package, approval, "ContributedTo", created)
    if image:
        _link(store, _auto_artifact(ctx, store, image, "Image", created), package, "ContributedTo", created)
    if source_package:
        _link(store, _auto_artifact(ctx, store, source_package, "Model", created), package, "DerivedFrom", created)
    pipeline_context = None
    if local_pipeline:
        pipeline_context = _auto_named(
            ctx, store, "context", f"{pipeline.group(1)}-{pipeline.group(2)}-aws-pipeline-execution",
            "PipelineExecution", {"SourceUri": generated_by, "SourceType": "SageMakerPipelineExecution"}, created)
    if processing and local_pipeline:
        _job(ctx, store, "ProcessingJob", processing["job_name"], processing.get("image"), processing["inputs"],
             [(uri, "DataSet") for uri in training_datasets], pipeline_context, created)
    if model_data_url:
        model = _auto_artifact(ctx, store, model_data_url, "Model", created)
        _link(store, model, package, "ContributedTo", created)
        job_name = training_job_name(model_data_url)
        if job_name and local_pipeline:
            _job(ctx, store, "TrainingJob", job_name, image, training_datasets, [(model_data_url, "Model")],
                 pipeline_context, created)
        elif local_pipeline or not pipeline:   # another account's pipeline keeps its data in its lineage
            for uri in training_datasets:
                _link(store, _auto_artifact(ctx, store, uri, "DataSet", created), model, "ContributedTo", created)
    return package


def record_endpoint_lineage(ctx, *, endpoint_arn: str, package_arn: str | None, model_arn: str,
                            image: str | None, created: str) -> str:
    """Create what SageMaker records for an endpoint deployment, in the endpoint's account;
    returns the endpoint context ARN. Idempotent."""
    region, account_id, _type, endpoint_name = split_arn(endpoint_arn)
    ctx = dataclasses.replace(ctx, account_id=account_id, region=region)
    store = _lineage(ctx)
    epoch = _epoch(created)
    endpoint = _auto_named(ctx, store, "context", f"{endpoint_name}-{epoch}-aws-endpoint", "Endpoint",
                           {"SourceUri": endpoint_arn, "SourceType": "SageMakerEndpoint"}, created)
    deployment = _auto_named(ctx, store, "action", f"{endpoint_name}-{epoch}-aws-model-deployment",
                             "ModelDeployment", {"SourceUri": model_arn, "SourceType": "SageMakerModel"},
                             created, status="Completed")
    _link(store, endpoint, deployment, "AssociatedWith", created)
    _link(store, deployment, _auto_artifact(ctx, store, model_arn, "Model", created), "Produced", created)
    if image:
        _link(store, _auto_artifact(ctx, store, image, "Image", created), deployment, "ContributedTo", created)
    if package_arn:
        approval = next((entity["arn"] for entity in store["entities"].values()
                         if entity["kind"] == "action" and entity["type"] == "Approval"
                         and entity["source"]["SourceUri"] == package_arn), None)
        upstream = approval or _auto_artifact(ctx, store, package_arn, "Model", created)
        _link(store, upstream, endpoint, "ContributedTo", created)
    return endpoint


@operation("sagemaker", "_RecordModelPackageLineage", mutating=True, key=lambda p: p["ModelPackageArn"])
def record_model_package_lineage_op(ctx, params):
    """Internal (for CreateModelPackage): the lineage SageMaker auto-creates for a model package.

    Params: ModelPackageArn, ModelPackageGroupName, ModelDataUrl, Image, GeneratedBy,
    TrainingDatasets (S3 URIs), SourceUri (optional: the package it was copied from). Idempotent;
    answers {"ArtifactArn": the package's artifact}.
    """
    source = params.get("SourceUri") or ""
    artifact = record_model_package_lineage(
        ctx, package_arn=params["ModelPackageArn"], group_name=params["ModelPackageGroupName"],
        model_data_url=params.get("ModelDataUrl"), image=params.get("Image"), generated_by=params.get("GeneratedBy"),
        training_datasets=params.get("TrainingDatasets") or [], created=ctx.now().isoformat(),
        source_package=source if ":model-package/" in source else None)
    return {"ArtifactArn": artifact}


@operation("sagemaker", "_RecordEndpointLineage", mutating=True, key=lambda p: p["EndpointArn"])
def record_endpoint_lineage_op(ctx, params):
    """Internal (for endpoint deployments): SageMaker's endpoint context, model deployment action
    and artifacts. Params: EndpointArn, ModelArn, ModelPackageArn (optional), Image (optional).
    Idempotent; answers {"ContextArn": the endpoint context}."""
    context = record_endpoint_lineage(
        ctx, endpoint_arn=params["EndpointArn"], package_arn=params.get("ModelPackageArn"),
        model_arn=params["ModelArn"], image=params.get("Image"), created=ctx.now().isoformat())
    return {"ContextArn": context}


# -- the boot seed ------------------------------------------------------------------------------
PREPROCESSING_IMAGE = "683313688378.dkr.ecr.{region}.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def _seed_package(ctx, package: dict) -> None:
    """Lineage of a seeded package as its training pipeline would have left it: the data lake
    snapshot -> preprocessing job -> train/validation sets -> training job -> model -> package."""
    region = split_arn(package["ModelPackageArn"])[0]
    container = package["InferenceSpecification"]["Containers"][0]
    model_data_url = container.get("ModelDataUrl")
    job_name = training_job_name(model_data_url or "")
    step_prefix = model_data_url.rsplit("/", 3)[0] if job_name else None
    snapshot = package.get("CustomerMetadataProperties", {}).get("dataset")
    source = package.get("SourceUri") or ""
    record_model_package_lineage(
        ctx, package_arn=package["ModelPackageArn"], group_name=package["ModelPackageGroupName"],
        model_data_url=model_data_url, image=container.get("Image"),
        generated_by=package.get("MetadataProperties", {}).get("GeneratedBy"),
        training_datasets=[f"{step_prefix}/preprocess/output/{split}" for split in ("train", "validation")]
        if step_prefix else [],
        created=package["CreationTime"], source_package=source if ":model-package/" in source else None,
        processing={"job_name": f"{step_prefix.rsplit('/', 1)[-1]}-preprocess",
                    "image": PREPROCESSING_IMAGE.format(region=region), "inputs": [snapshot] if snapshot else []}
        if step_prefix else None)


def _seed_endpoint(ctx, account_id: str, region: str, endpoint: dict) -> None:
    """Lineage of a seeded endpoint: one deployment per variant's model."""
    configs = records(ctx, "endpoint_configs", account_id, region)
    models = records(ctx, "models", account_id, region)
    config = configs.get(endpoint["EndpointConfigName"].lower(), {})
    for variant in config.get("ProductionVariants", []):
        model = models.get(variant["ModelName"].lower())
        if model is None:
            continue
        containers = ([model["PrimaryContainer"]] if "PrimaryContainer" in model else []) + model.get("Containers", [])
        for container in containers:
            record_endpoint_lineage(ctx, endpoint_arn=endpoint["EndpointArn"],
                                    package_arn=container.get("ModelPackageName"), model_arn=model["ModelArn"],
                                    image=container.get("Image"), created=endpoint["CreationTime"])


@seeder(order=40)
def seed_lineage(ctx) -> None:
    """Lineage for every seeded model package (oldest first) and endpoint (after the registry seed)."""
    packages = [package for regions in ctx.state.get("packages", {}).values()
                for by_key in regions.values() for package in by_key.values()]
    for package in sorted(packages, key=lambda package: package["CreationTime"]):
        _seed_package(ctx, package)
    for account_id, regions in ctx.state.get("endpoints", {}).items():
        for region, endpoints in regions.items():
            for endpoint in endpoints.values():
                _seed_endpoint(ctx, account_id, region, endpoint)
