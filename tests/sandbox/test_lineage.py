"""SageMaker ML lineage (sandbox/services/sagemaker_lineage.py): entities, associations,
QueryLineage, and the lineage SageMaker records for model packages and endpoints."""
import pytest
from botocore.exceptions import ClientError

from tests.sandbox.helpers import service_caller

DEV = "333333333311"          # fraud-detection-dev: seeded registry
CENTRAL = "222222222203"      # shared services: the central registry
PROD = "333333333313"
PIPELINE = f"arn:aws:sagemaker:us-east-1:{DEV}:pipeline/fraud-train/execution/x1y2z3"


call, error_of = service_caller("sagemaker", DEV)


def artifact(engine, uri, kind="DataSet", account=DEV, **extra) -> str:
    return call(engine, "CreateArtifact", account, Source={"SourceUri": uri}, ArtifactType=kind, **extra)["ArtifactArn"]


def action(engine, name, kind="Training", **extra) -> str:
    return call(engine, "CreateAction", ActionName=name, Source={"SourceUri": f"arn:job/{name}"}, ActionType=kind,
                **extra)["ActionArn"]


def chain(engine, *arns, edge="ContributedTo") -> None:
    for source, destination in zip(arns, arns[1:]):
        call(engine, "AddAssociation", SourceArn=source, DestinationArn=destination, AssociationType=edge)


def query(engine, start, account=DEV, **params) -> dict:
    return call(engine, "QueryLineage", account, StartArns=[start], MaxResults=50, **params)


def vertex_arns(result) -> list[str]:
    return [vertex["Arn"] for vertex in result["Vertices"]]


# -- entities -------------------------------------------------------------------------------------
def test_artifacts_are_unique_per_source_uri(engine):
    arn = artifact(engine, "s3://lake/fraud/raw/", ArtifactName="raw-transactions",
                   Properties={"rows": "1200000"}, MetadataProperties={"GeneratedBy": "glue-job"})
    assert arn.startswith(f"arn:aws:sagemaker:us-east-1:{DEV}:artifact/")
    duplicate = error_of(engine, "CreateArtifact", Source={"SourceUri": "s3://lake/fraud/raw/"}, ArtifactType="DataSet")
    assert duplicate.code == "ValidationException" and arn in duplicate.message
    assert error_of(engine, "CreateArtifact", Source={"SourceUri": "s3://other"}, ArtifactType="DataSet",
                    ArtifactName="raw-transactions").code == "ValidationException"
    described = call(engine, "DescribeArtifact", ArtifactArn=arn)
    assert (described["ArtifactName"], described["ArtifactType"], described["Properties"]) == (
        "raw-transactions", "DataSet", {"rows": "1200000"})
    assert described["MetadataProperties"] == {"GeneratedBy": "glue-job"}
    listed = call(engine, "ListArtifacts", SourceUri="s3://lake/fraud/raw/")["ArtifactSummaries"]
    assert [a["ArtifactArn"] for a in listed] == [arn]
    assert error_of(engine, "DescribeArtifact", ArtifactArn=arn.replace(DEV, CENTRAL)).code == "ResourceNotFound"


def test_actions_by_name_or_arn_with_filters(engine):
    arn = action(engine, "Train-Fraud", Status="Completed", Description="nightly training")
    action(engine, "deploy-fraud", kind="ModelDeployment")
    assert arn == f"arn:aws:sagemaker:us-east-1:{DEV}:action/train-fraud"
    by_name = call(engine, "DescribeAction", ActionName="Train-Fraud")
    assert (by_name["ActionArn"], by_name["Status"], by_name["Description"]) == (arn, "Completed", "nightly training")
    assert call(engine, "DescribeAction", ActionName=arn)["ActionName"] == "Train-Fraud"
    trainings = call(engine, "ListActions", ActionType="Training")["ActionSummaries"]
    assert [a["ActionName"] for a in trainings] == ["Train-Fraud"]
    assert error_of(engine, "CreateAction", ActionName="train-fraud", Source={"SourceUri": "x"},
                    ActionType="Training").code == "ValidationException"
    assert "enum value set" in error_of(engine, "CreateAction", ActionName="a2", Source={"SourceUri": "x"},
                                        ActionType="t", Status="Done").message
    assert error_of(engine, "DescribeAction", ActionName="missing").code == "ResourceNotFound"


def test_context_names_follow_the_pattern(engine):
    arn = call(engine, "CreateContext", ContextName="fraud_release-2026", Source={"SourceUri": "git://fraud"},
               ContextType="Release", Properties={"ticket": "ML-42"})["ContextArn"]
    assert arn.endswith(":context/fraud_release-2026")
    bad = error_of(engine, "CreateContext", ContextName="bad name", Source={"SourceUri": "x"}, ContextType="t")
    assert bad.code == "ValidationException" and "contextName" in bad.message
    described = call(engine, "DescribeContext", ContextName="fraud_release-2026")
    assert (described["ContextType"], described["Properties"]) == ("Release", {"ticket": "ML-42"})
    listed = call(engine, "ListContexts", ContextType="Release", SortBy="Name")["ContextSummaries"]
    assert [c["ContextName"] for c in listed] == ["fraud_release-2026"]


# -- associations ---------------------------------------------------------------------------------
def test_associations_need_both_ends_and_are_unique(engine):
    data, job = artifact(engine, "s3://a/train"), action(engine, "train-1")
    missing = job.replace("train-1", "nope")
    assert error_of(engine, "AddAssociation", SourceArn=data, DestinationArn=missing).code == "ResourceNotFound"
    call(engine, "AddAssociation", SourceArn=data, DestinationArn=job, AssociationType="ContributedTo")
    assert error_of(engine, "AddAssociation", SourceArn=data, DestinationArn=job).code == "ValidationException"
    summary = call(engine, "ListAssociations", SourceArn=data)["AssociationSummaries"]
    assert [(s["SourceType"], s["DestinationType"], s["AssociationType"], s["DestinationName"]) for s in summary] == [
        ("DataSet", "Training", "ContributedTo", "train-1")]
    call(engine, "DeleteAssociation", SourceArn=data, DestinationArn=job)
    assert call(engine, "ListAssociations", SourceArn=data)["AssociationSummaries"] == []
    assert error_of(engine, "DeleteAssociation", SourceArn=data, DestinationArn=job).code == "ResourceNotFound"
    assert error_of(engine, "AddAssociation", SourceArn="arn:aws:sagemaker:us-east-1:1:bucket/x",
                    DestinationArn=job).code == "ValidationException"


def test_list_associations_defaults_to_ten_newest_first(engine):
    job = action(engine, "train-many")
    sources = [artifact(engine, f"s3://many/{index}") for index in range(12)]
    for source in sources:
        engine.advance_clock(1)
        call(engine, "AddAssociation", SourceArn=source, DestinationArn=job)
    first = call(engine, "ListAssociations", DestinationArn=job)
    assert [s["SourceArn"] for s in first["AssociationSummaries"]] == sources[::-1][:10]
    second = call(engine, "ListAssociations", DestinationArn=job, NextToken=first["NextToken"])
    assert [s["SourceArn"] for s in second["AssociationSummaries"]] == sources[1::-1]
    assert "NextToken" not in second
    ascending = call(engine, "ListAssociations", DestinationArn=job, SortOrder="Ascending", MaxResults=3)
    assert [s["SourceArn"] for s in ascending["AssociationSummaries"]] == sources[:3]
    by_type = call(engine, "ListAssociations", SourceType="DataSet", DestinationType="Training", MaxResults=100)
    assert len(by_type["AssociationSummaries"]) == 12


# -- QueryLineage ---------------------------------------------------------------------------------
@pytest.fixture
def graph(engine):
    """raw -> prep (action) -> train set -> fit (action) -> model, plus an image -> fit."""
    nodes = {"raw": artifact(engine, "s3://q/raw"), "prep": action(engine, "prep", "Processing"),
             "train": artifact(engine, "s3://q/train"), "fit": action(engine, "fit", "Training"),
             "model": artifact(engine, "s3://q/model.tar.gz", "Model"),
             "image": artifact(engine, "ecr/xgboost:1", "Image")}
    chain(engine, nodes["raw"], nodes["prep"], nodes["train"], nodes["fit"])
    call(engine, "AddAssociation", SourceArn=nodes["fit"], DestinationArn=nodes["model"], AssociationType="Produced")
    call(engine, "AddAssociation", SourceArn=nodes["image"], DestinationArn=nodes["fit"])
    return nodes


def test_query_descendants_and_ascendants(engine, graph):
    down = query(engine, graph["raw"], Direction="Descendants")
    assert vertex_arns(down) == [graph[n] for n in ("raw", "prep", "train", "fit", "model")]
    assert {(e["SourceArn"], e["DestinationArn"]) for e in down["Edges"]} == {
        (graph["raw"], graph["prep"]), (graph["prep"], graph["train"]), (graph["train"], graph["fit"]),
        (graph["fit"], graph["model"])}
    up = query(engine, graph["model"], Direction="Ascendants")
    assert set(vertex_arns(up)) == set(graph.values())
    both = query(engine, graph["train"])
    assert set(vertex_arns(both)) == set(graph.values()) - {graph["image"]}


def test_query_depth_filters_and_edges(engine, graph):
    shallow = query(engine, graph["raw"], Direction="Descendants", MaxDepth=2)
    assert vertex_arns(shallow) == [graph["raw"], graph["prep"], graph["train"]]
    datasets = query(engine, graph["model"], Direction="Ascendants", Filters={"Types": ["DataSet"]}, IncludeEdges=False)
    assert set(vertex_arns(datasets)) == {graph["raw"], graph["train"]} and datasets["Edges"] == []
    with_paths = query(engine, graph["model"], Direction="Ascendants", Filters={"LineageTypes": ["Action"]})
    assert set(vertex_arns(with_paths)) == {graph["model"], graph["fit"], graph["train"], graph["prep"]}
    assert len(with_paths["Edges"]) == 3
    none_left = query(engine, graph["model"], Direction="Ascendants",
                      Filters={"CreatedAfter": engine.now()}, IncludeEdges=False)
    assert none_left["Vertices"] == []


def test_query_pages_vertices(engine, graph):
    first = call(engine, "QueryLineage", StartArns=[graph["raw"]], Direction="Descendants", MaxResults=2)
    second = call(engine, "QueryLineage", StartArns=[graph["raw"]], Direction="Descendants", MaxResults=2,
                  NextToken=first["NextToken"])
    third = call(engine, "QueryLineage", StartArns=[graph["raw"]], Direction="Descendants", MaxResults=2,
                 NextToken=second["NextToken"])
    assert vertex_arns(first) + vertex_arns(second) + vertex_arns(third) == [
        graph[n] for n in ("raw", "prep", "train", "fit", "model")]
    assert "NextToken" not in third
    assert len(first["Edges"] + second["Edges"] + third["Edges"]) == 4


def test_query_validation(engine, graph):
    assert error_of(engine, "QueryLineage", StartArns=[graph["raw"], graph["model"]]).code == "ValidationException"
    assert error_of(engine, "QueryLineage", StartArns=[graph["raw"]], MaxDepth=11).code == "ValidationException"
    assert error_of(engine, "QueryLineage", StartArns=[graph["raw"]], MaxResults=51).code == "ValidationException"
    assert error_of(engine, "QueryLineage", StartArns=[graph["raw"]], MaxDepth=-1).code == "ValidationException"
    assert error_of(engine, "QueryLineage", StartArns=[graph["raw"]], MaxResults=0).code == "ValidationException"
    assert vertex_arns(query(engine, graph["raw"], MaxDepth=0)) == [graph["raw"]]
    assert error_of(engine, "QueryLineage", StartArns=[graph["raw"]], Direction="Up").code == "ValidationException"
    unknown = graph["raw"][:-4] + "0000"
    assert error_of(engine, "QueryLineage", StartArns=[unknown]).code == "ResourceNotFound"
    assert call(engine, "QueryLineage") == {"Vertices": [], "Edges": []}


# -- what SageMaker records by itself -------------------------------------------------------------
def test_record_model_package_lineage(engine):
    package_arn = f"arn:aws:sagemaker:us-east-1:{DEV}:model-package/new-group/1"
    params = {"ModelPackageArn": package_arn, "ModelPackageGroupName": "new-group",
              "ModelDataUrl": "s3://bucket/new-group/pipelines-x1y2z3/train/output/model.tar.gz",
              "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
              "GeneratedBy": PIPELINE, "TrainingDatasets": ["s3://bucket/new/train", "s3://bucket/new/validation"]}
    package = engine.invoke("sagemaker", "_RecordModelPackageLineage", params, account_id=DEV)["ArtifactArn"]
    store = engine.state["sagemaker"]["lineage"][DEV]["us-east-1"]
    counts = (len(store["entities"]), len(store["associations"]))
    assert engine.invoke("sagemaker", "_RecordModelPackageLineage", params, account_id=DEV)["ArtifactArn"] == package
    assert (len(store["entities"]), len(store["associations"])) == counts

    listed = call(engine, "ListArtifacts", SourceUri=package_arn)["ArtifactSummaries"]
    assert [a["ArtifactArn"] for a in listed] == [package]
    assert call(engine, "DescribeArtifact", ArtifactArn=package)["MetadataProperties"] == {"GeneratedBy": PIPELINE}
    approval = call(engine, "ListActions", SourceUri=package_arn)["ActionSummaries"]
    assert [a["ActionType"] for a in approval] == ["Approval"]
    group = call(engine, "ListContexts", SourceUri=f"arn:aws:sagemaker:us-east-1:{DEV}:model-package-group/new-group")
    assert group["ContextSummaries"][0]["ContextName"].endswith("-aws-model-package-group")
    upstream = query(engine, package, Direction="Ascendants", IncludeEdges=False)["Vertices"]
    assert {(v["Type"], v["LineageType"]) for v in upstream} >= {
        ("DataSet", "Artifact"), ("TrainingJob", "TrialComponent"), ("PipelineExecution", "Context"),
        ("Image", "Artifact")}
    training = [v["Arn"] for v in upstream if v["Type"] == "TrainingJob"]
    assert training == [f"arn:aws:sagemaker:us-east-1:{DEV}:experiment-trial-component/"
                        "pipelines-x1y2z3-train-aws-training-job"]
    jobs = call(engine, "ListAssociations", DestinationArn=training[0], SourceType="DataSet")["AssociationSummaries"]
    assert len(jobs) == 2


def test_record_endpoint_lineage(engine):
    package_arn = f"arn:aws:sagemaker:us-east-1:{PROD}:model-package/fraud-xgboost/3"
    engine.invoke("sagemaker", "_RecordModelPackageLineage", {
        "ModelPackageArn": package_arn, "ModelPackageGroupName": "fraud-xgboost"}, account_id=PROD)
    endpoint_arn = f"arn:aws:sagemaker:us-east-1:{PROD}:endpoint/fraud-prod"
    context = engine.invoke("sagemaker", "_RecordEndpointLineage", {
        "EndpointArn": endpoint_arn, "ModelArn": f"arn:aws:sagemaker:us-east-1:{PROD}:model/fraud-prod-model",
        "ModelPackageArn": package_arn, "Image": "ecr/xgboost:1.7-1"}, account_id=PROD)["ContextArn"]
    assert call(engine, "DescribeContext", PROD, ContextName=context)["ContextType"] == "Endpoint"
    down = query(engine, context, PROD, Direction="Descendants", IncludeEdges=False)["Vertices"]
    assert {v["Type"] for v in down} == {"Endpoint", "ModelDeployment", "Model"}
    up = query(engine, context, PROD, Direction="Ascendants", Filters={"Types": ["Approval"]}, IncludeEdges=False)
    assert [v["LineageType"] for v in up["Vertices"]] == ["Action"]


def test_seeded_packages_have_realistic_lineage(engine):
    packages = [p for regions in engine.state["sagemaker"]["packages"].values()
                for by_key in regions.values() for p in by_key.values()]
    assert packages
    for package in packages:
        account = package["ModelPackageArn"].split(":")[4]
        found = call(engine, "ListArtifacts", account, SourceUri=package["ModelPackageArn"])["ArtifactSummaries"]
        assert len(found) == 1, package["ModelPackageArn"]
    dev_package = next(p for p in packages if p["ModelPackageArn"].split(":")[4] == DEV)
    artifact_arn = call(engine, "ListArtifacts", SourceUri=dev_package["ModelPackageArn"])["ArtifactSummaries"][0]
    types = {v["Type"] for v in query(engine, artifact_arn["ArtifactArn"], Direction="Ascendants")["Vertices"]}
    assert types >= {"DataSet", "ProcessingJob", "TrainingJob", "PipelineExecution", "Image", "Model"}
    snapshot = dev_package["CustomerMetadataProperties"]["dataset"]
    assert call(engine, "ListArtifacts", SourceUri=snapshot)["ArtifactSummaries"][0]["ArtifactType"] == "DataSet"
    central = next(p for p in packages if p["ModelPackageArn"].split(":")[4] == CENTRAL)
    central_artifact = call(engine, "ListArtifacts", CENTRAL, SourceUri=central["ModelPackageArn"])
    derived = call(engine, "ListAssociations", CENTRAL, DestinationArn=central_artifact["ArtifactSummaries"][0][
        "ArtifactArn"], AssociationType="DerivedFrom")["AssociationSummaries"]
    assert len(derived) == 1


# -- over HTTP ------------------------------------------------------------------------------------
def test_lineage_through_boto3(aws):
    sagemaker = aws("sagemaker", account_id=DEV)
    data = sagemaker.create_artifact(ArtifactName="http-raw", Source={
        "SourceUri": "s3://http-lineage/raw", "SourceTypes": [{"SourceIdType": "S3ETag", "Value": "abc"}]},
        ArtifactType="DataSet")["ArtifactArn"]
    job = sagemaker.create_action(ActionName="http-prep", Source={"SourceUri": "arn:http/prep"},
                                  ActionType="Processing", Status="Completed")["ActionArn"]
    release = sagemaker.create_context(ContextName="http_release", Source={"SourceUri": "git://http"},
                                       ContextType="Release")["ContextArn"]
    assert sagemaker.describe_artifact(ArtifactArn=data)["Source"]["SourceTypes"][0]["Value"] == "abc"
    assert sagemaker.describe_action(ActionName="http-prep")["ActionArn"] == job
    assert sagemaker.describe_context(ContextName="http_release")["ContextArn"] == release
    assert sagemaker.list_artifacts(SourceUri="s3://http-lineage/raw")["ArtifactSummaries"][0]["ArtifactArn"] == data
    assert sagemaker.list_actions(SourceUri="arn:http/prep")["ActionSummaries"][0]["ActionArn"] == job
    assert sagemaker.list_contexts(ContextType="Release")["ContextSummaries"][0]["ContextArn"] == release
    sagemaker.add_association(SourceArn=data, DestinationArn=job, AssociationType="ContributedTo")
    sagemaker.add_association(SourceArn=job, DestinationArn=release, AssociationType="AssociatedWith")
    summaries = sagemaker.list_associations(SourceArn=data)["AssociationSummaries"]
    assert [s["DestinationArn"] for s in summaries] == [job]
    result = sagemaker.query_lineage(StartArns=[data], Direction="Descendants", IncludeEdges=True)
    assert [v["Arn"] for v in result["Vertices"]] == [data, job, release] and len(result["Edges"]) == 2
    sagemaker.delete_association(SourceArn=job, DestinationArn=release)
    with pytest.raises(ClientError) as missing:
        sagemaker.delete_association(SourceArn=job, DestinationArn=release)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"
    sagemaker.add_tags(ResourceArn=data, Tags=[{"Key": "team", "Value": "fraud-detection"}])
    assert sagemaker.list_tags(ResourceArn=data)["Tags"] == [{"Key": "team", "Value": "fraud-detection"}]
    seeded = sagemaker.list_artifacts(ArtifactType="Model", MaxResults=100)["ArtifactSummaries"]
    assert any(":model-package/" in a["Source"]["SourceUri"] for a in seeded)


def test_lineage_through_the_cli(aws_cli):
    listed = aws_cli("sagemaker", "list-contexts", "--context-type", "ModelGroup", account_id=DEV)
    assert all(c["ContextName"].endswith("-aws-model-package-group") for c in listed.json["ContextSummaries"])
    assert listed.json["ContextSummaries"]
