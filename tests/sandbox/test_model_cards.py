"""SageMaker model cards and export jobs (sandbox/services/sagemaker_cards.py): versions, content
schema, MetadataOnly, listings, export PDFs in S3, events, and cross-account access through RAM."""
import json
import re

import pytest
from botocore.exceptions import ClientError

from sandbox.core.errors import AwsError
from sandbox.services.ram import MANAGED_PERMISSIONS
from sandbox.services.sagemaker_cards import render_card_pdf

OWNER = "222222222203"       # shared services: the central model cards
CONSUMER = "333333333311"    # fraud-detection-dev
OTHER = "333333333321"       # credit-risk-dev: nothing shared with it
DEFAULT_PERMISSION, EXPORT_PERMISSION = MANAGED_PERMISSIONS


def content(model_name="fraud-xgboost", risk="Medium", **sections) -> str:
    return json.dumps({"model_overview": {"model_name": model_name, "model_owner": "fraud-detection",
                                          "problem_type": "Binary classification"},
                       "intended_uses": {"risk_rating": risk, "purpose_of_model": "Flag fraudulent payments"},
                       **sections})


def call(engine, operation, account=OWNER, service="sagemaker", **params):
    return engine.invoke(service, operation, params, account_id=account)


def error_of(engine, operation, account=OWNER, service="sagemaker", **params) -> AwsError:
    with pytest.raises(AwsError) as caught:
        call(engine, operation, account, service, **params)
    return caught.value


def create_card(engine, name="fraud-card", account=OWNER, status="Draft", **content_args) -> str:
    return call(engine, "CreateModelCard", account, ModelCardName=name, Content=content(**content_args),
                ModelCardStatus=status)["ModelCardArn"]


def share(engine, card_arn, permission=DEFAULT_PERMISSION, principal=CONSUMER) -> str:
    return call(engine, "CreateResourceShare", OWNER, "ram", name="cards", resourceArns=[card_arn],
                principals=[principal], permissionArns=[permission])["resourceShare"]["resourceShareArn"]


def pdf_in_s3(bucket: str, key: str) -> bytes:
    from moto.s3.models import s3_backends
    partition, account = s3_backends.bucket_accounts[bucket]
    found = s3_backends[account][partition].get_object(bucket, key)
    return found.value if found else b""


def assert_valid_pdf(body: bytes) -> None:
    """Header, trailer, and every xref offset pointing at its object."""
    assert body.startswith(b"%PDF-1.") and body.rstrip().endswith(b"%%EOF")
    xref_at = int(re.search(rb"startxref\n(\d+)", body).group(1))
    assert body[xref_at:].startswith(b"xref")
    offsets = [int(line[:10]) for line in body[xref_at:].split(b"\n")[3:] if line.endswith(b" n ")]
    for number, offset in enumerate(offsets, 1):
        assert body[offset:].startswith(b"%d 0 obj" % number)


# -- versions and update rules ---------------------------------------------------------------
def test_every_update_is_a_new_version_and_status_updates_carry_content(engine):
    arn = create_card(engine)
    assert arn == f"arn:aws:sagemaker:us-east-1:{OWNER}:model-card/fraud-card"
    call(engine, "UpdateModelCard", ModelCardName="fraud-card", Content=content(risk="High"))
    call(engine, "UpdateModelCard", ModelCardName=arn, ModelCardStatus="PendingReview")

    latest = call(engine, "DescribeModelCard", ModelCardName="fraud-card")
    assert (latest["ModelCardVersion"], latest["ModelCardStatus"]) == (3, "PendingReview")
    assert json.loads(latest["Content"])["intended_uses"]["risk_rating"] == "High"
    first = call(engine, "DescribeModelCard", ModelCardName="fraud-card", ModelCardVersion=1)
    first_risk = json.loads(first["Content"])["intended_uses"]["risk_rating"]
    assert (first["ModelCardStatus"], first_risk) == ("Draft", "Medium")
    assert first["CreationTime"] == latest["CreationTime"] <= latest["LastModifiedTime"]
    missing = error_of(engine, "DescribeModelCard", ModelCardName="fraud-card", ModelCardVersion=9)
    assert missing.code == "ResourceNotFound"


def test_content_and_status_never_change_together(engine):
    create_card(engine)
    both = error_of(engine, "UpdateModelCard", ModelCardName="fraud-card", Content=content(),
                    ModelCardStatus="Approved")
    assert both.code == "ValidationException" and "same request" in both.message
    assert error_of(engine, "UpdateModelCard", ModelCardName="fraud-card").code == "ValidationException"
    assert call(engine, "DescribeModelCard", ModelCardName="fraud-card")["ModelCardVersion"] == 1


def test_archived_card_refuses_content_but_not_status(engine):
    create_card(engine, status="Archived")
    refused = error_of(engine, "UpdateModelCard", ModelCardName="fraud-card", Content=content(risk="Low"))
    assert refused.code == "ValidationException" and "Archived" in refused.message
    call(engine, "UpdateModelCard", ModelCardName="fraud-card", ModelCardStatus="Draft")
    assert call(engine, "DescribeModelCard", ModelCardName="fraud-card")["ModelCardStatus"] == "Draft"


def test_names_are_unique_and_validated(engine):
    create_card(engine)
    assert error_of(engine, "CreateModelCard", ModelCardName="fraud-card", Content="{}",
                    ModelCardStatus="Draft").code == "ConflictException"
    bad_name = error_of(engine, "CreateModelCard", ModelCardName="bad_name", Content="{}", ModelCardStatus="Draft")
    assert bad_name.code == "ValidationException" and "modelCardName" in bad_name.message
    bad_status = error_of(engine, "CreateModelCard", ModelCardName="x", Content="{}", ModelCardStatus="Done")
    assert "enum value set" in bad_status.message
    assert error_of(engine, "DescribeModelCard", ModelCardName="missing").code == "ResourceNotFound"


@pytest.mark.parametrize("document, path", [
    ({"intended_uses": {"risk_rating": "Severe"}}, "$.intended_uses.risk_rating"),
    ({"model_overview": {"modelName": "camelCase is not the schema"}}, "'modelName' is not allowed"),
    ({"unknown_section": {}}, "'unknown_section' is not allowed"),
    ({"model_overview": {"model_creator": "x" * 1025}}, "$.model_overview.model_creator"),
    ({"model_overview": {"model_artifact": ["s3://a"] * 16}}, "$.model_overview.model_artifact"),
    ({"model_overview": {"model_version": "one"}}, "$.model_overview.model_version"),
    ({"training_details": {"objective_function": {"function": {"function": "Maximise"}}}},
     "$.training_details.objective_function.function.function"),
    ({"evaluation_details": [{"evaluation_observation": "no name"}]}, "'name' is missing"),
    ({"evaluation_details": [{"name": "holdout", "metric_groups": [
        {"name": "quality", "metric_data": [{"name": "auc", "type": "number", "value": "high"}]}]}]},
     "$.evaluation_details[0].metric_groups[0].metric_data[0].value"),
    ({"additional_information": {"custom_details": {"bad key": "x"}}}, "'bad key'"),
])
def test_content_is_checked_against_the_schema(engine, document, path):
    failure = error_of(engine, "CreateModelCard", ModelCardName="c", Content=json.dumps(document),
                       ModelCardStatus="Draft")
    assert failure.code == "ValidationException" and path in failure.message
    assert error_of(engine, "DescribeModelCard", ModelCardName="c").code == "ResourceNotFound"


def test_schema_accepts_a_full_card(engine):
    full = content(
        business_details={"business_problem": "Chargebacks", "line_of_business": "Cards"},
        training_details={"objective_function": {"function": {"function": "Maximize", "facet": "auc"}},
                          "training_job_details": {"training_datasets": ["s3://data/train/"],
                                                   "hyper_parameters": [{"name": "eta", "value": "0.2"}],
                                                   "training_metrics": [{"name": "auc", "value": 0.91}]}},
        evaluation_details=[{"name": "holdout", "metadata": {"split": "2026Q1"}, "metric_groups": [
            {"name": "quality", "metric_data": [
                {"name": "auc", "type": "number", "value": 0.91},
                {"name": "roc", "type": "linear_graph", "value": [[0, 0], [0.1, 0.7], [1, 1]]},
                {"name": "by segment", "type": "bar_chart", "value": [0.9, 0.8], "x_axis_name": ["a", "b"]},
                {"name": "confusion", "type": "matrix", "value": [[90, 10], [5, 95]]}]}]}],
        additional_information={"caveats_and_recommendations": "Retrain quarterly",
                                "custom_details": {"owner_team": "fraud"}})
    call(engine, "CreateModelCard", ModelCardName="full", Content=full, ModelCardStatus="Draft")
    assert json.loads(call(engine, "DescribeModelCard", ModelCardName="full")["Content"]) == json.loads(full)


def test_content_longer_than_100000_characters_is_refused(engine):
    too_long = json.dumps({"model_overview": {"model_description": "x"}}) + " " * 100_000
    assert "100000" in error_of(engine, "CreateModelCard", ModelCardName="big", Content=too_long,
                                ModelCardStatus="Draft").message


def test_metadata_only_keeps_the_documented_fields(engine):
    create_card(engine, model_package_details={"model_package_group_name": "fraud-xgboost",
                                               "model_package_description": "secret"})
    described = call(engine, "DescribeModelCard", ModelCardName="fraud-card", IncludedData="MetadataOnly")
    assert json.loads(described["Content"]) == {
        "model_overview": {"model_name": "fraud-xgboost"}, "intended_uses": {"risk_rating": "Medium"},
        "model_package_details": {"model_package_group_name": "fraud-xgboost"}}


# -- listings -----------------------------------------------------------------------------------
def test_list_model_cards_filters_sorts_and_pages(engine):
    seeded = {c["ModelCardName"]: c["CreationTime"] for c in call(engine, "ListModelCards")["ModelCardSummaries"]}
    assert seeded, "the seed has the central account's model cards"
    mine = {"CreationTimeAfter": max(seeded.values())}   # the cards this test creates
    for name, status in (("churn-card", "Draft"), ("fraud-card", "Approved"), ("fraud-graph", "Draft")):
        create_card(engine, name, status=status)
    newest_first = [c["ModelCardName"] for c in call(engine, "ListModelCards")["ModelCardSummaries"]]
    assert newest_first[:3] == ["fraud-graph", "fraud-card", "churn-card"] and set(newest_first[3:]) == set(seeded)
    drafts = call(engine, "ListModelCards", NameContains="FRAUD", ModelCardStatus="Draft", **mine)["ModelCardSummaries"]
    assert [c["ModelCardName"] for c in drafts] == ["fraud-graph"]
    first = call(engine, "ListModelCards", SortBy="Name", SortOrder="Ascending", MaxResults=2, **mine)
    rest = call(engine, "ListModelCards", SortBy="Name", SortOrder="Ascending", MaxResults=2,
                NextToken=first["NextToken"], **mine)
    assert [c["ModelCardName"] for c in first["ModelCardSummaries"] + rest["ModelCardSummaries"]] == [
        "churn-card", "fraud-card", "fraud-graph"]
    assert "NextToken" not in rest
    assert call(engine, "ListModelCards", account=OTHER)["ModelCardSummaries"] == []
    assert error_of(engine, "ListModelCards", NextToken="bogus").code == "ValidationException"


def test_list_model_card_versions(engine):
    create_card(engine)
    call(engine, "UpdateModelCard", ModelCardName="fraud-card", ModelCardStatus="PendingReview")
    call(engine, "UpdateModelCard", ModelCardName="fraud-card", ModelCardStatus="Approved")
    versions = call(engine, "ListModelCardVersions", ModelCardName="fraud-card")["ModelCardVersionSummaryList"]
    assert [(v["ModelCardVersion"], v["ModelCardStatus"]) for v in versions] == [
        (3, "Approved"), (2, "PendingReview"), (1, "Draft")]
    pending = call(engine, "ListModelCardVersions", ModelCardName="fraud-card", ModelCardStatus="PendingReview",
                   SortOrder="Ascending")["ModelCardVersionSummaryList"]
    assert [v["ModelCardVersion"] for v in pending] == [2]
    assert error_of(engine, "ListModelCardVersions", ModelCardName="nope").code == "ResourceNotFound"


def test_delete_model_card(engine):
    create_card(engine)
    call(engine, "DeleteModelCard", ModelCardName="fraud-card")
    assert error_of(engine, "DescribeModelCard", ModelCardName="fraud-card").code == "ResourceNotFound"
    assert error_of(engine, "DeleteModelCard", ModelCardName="fraud-card").code == "ResourceNotFound"
    create_card(engine)
    assert call(engine, "DescribeModelCard", ModelCardName="fraud-card")["ModelCardVersion"] == 1


# -- export jobs ----------------------------------------------------------------------------------
def test_export_job_completes_after_the_configured_time_and_writes_a_pdf(engine):
    engine.config.export_seconds = 30
    create_card(engine, model_name="fraud-xgboost-v4")
    job_arn = call(engine, "CreateModelCardExportJob", ModelCardName="fraud-card", ModelCardExportJobName="review",
                   OutputConfig={"S3OutputPath": "s3://governance-exports/cards/"})["ModelCardExportJobArn"]
    assert job_arn == f"arn:aws:sagemaker:us-east-1:{OWNER}:model-card/fraud-card/export-job/review"
    running = call(engine, "DescribeModelCardExportJob", ModelCardExportJobArn=job_arn)
    assert running["Status"] == "InProgress" and "ExportArtifacts" not in running
    assert error_of(engine, "DeleteModelCard", ModelCardName="fraud-card").code == "ConflictException"
    assert error_of(engine, "CreateModelCardExportJob", ModelCardName="fraud-card", ModelCardExportJobName="review",
                    OutputConfig={"S3OutputPath": "s3://governance-exports"}).code == "ConflictException"

    engine.advance_clock(31)
    done = call(engine, "DescribeModelCardExportJob", ModelCardExportJobArn=job_arn)
    uri = "s3://governance-exports/cards/fraud-card/review.pdf"
    assert (done["Status"], done["ExportArtifacts"]["S3ExportArtifacts"], done["ModelCardVersion"]) == (
        "Completed", uri, 1)
    body = pdf_in_s3("governance-exports", "cards/fraud-card/review.pdf")
    assert_valid_pdf(body)
    assert b"fraud-xgboost-v4" in body and b"Status: Draft" in body and b"Version: 1" in body


def test_a_long_card_exports_to_several_pages():
    long_card = content(evaluation_details=[{"name": f"slice-{index}", "evaluation_observation": "ok " * 60}
                                            for index in range(40)])
    body = render_card_pdf("long-card", "Approved", 7, long_card, "2026-11-01T10:00:00+00:00")
    assert_valid_pdf(body)
    pages = int(re.search(rb"/Count (\d+)", body).group(1))
    assert pages > 1 and body.count(b"/Type /Page ") == pages
    assert b"(Evaluation details #40 / Name: slice-39) Tj" in body


@pytest.mark.parametrize("output", ["https://https-exports.s3.us-east-1.amazonaws.com/cards",
                                    "https://s3.amazonaws.com/https-exports/cards/"])
def test_https_output_paths_name_the_bucket(engine, output):
    create_card(engine)
    job = call(engine, "CreateModelCardExportJob", ModelCardName="fraud-card", ModelCardExportJobName="web",
               OutputConfig={"S3OutputPath": output})
    described = call(engine, "DescribeModelCardExportJob", **job)
    assert described["ExportArtifacts"]["S3ExportArtifacts"] == "s3://https-exports/cards/fraud-card/web.pdf"
    assert described["OutputConfig"]["S3OutputPath"] == output


def test_export_pdf_is_rewritten_when_s3_lost_it(engine):
    from moto.s3.models import s3_backends
    create_card(engine, model_name="churn-propensity")
    job = call(engine, "CreateModelCardExportJob", ModelCardName="fraud-card", ModelCardExportJobName="again",
               OutputConfig={"S3OutputPath": "s3://lost-exports"})
    listed = call(engine, "ListModelCardExportJobs", ModelCardName="fraud-card")["ModelCardExportJobSummaries"]
    assert [(j["ModelCardExportJobName"], j["Status"]) for j in listed] == [("again", "Completed")]
    partition, account = s3_backends.bucket_accounts["lost-exports"]
    s3_backends[account][partition].delete_object("lost-exports", "fraud-card/again.pdf")
    assert pdf_in_s3("lost-exports", "fraud-card/again.pdf") == b""
    call(engine, "DescribeModelCardExportJob", **job)
    assert b"churn-propensity" in pdf_in_s3("lost-exports", "fraud-card/again.pdf")


def test_list_export_jobs_filters(engine):
    engine.config.export_seconds = 30
    create_card(engine)
    for name in ("first", "second"):
        call(engine, "CreateModelCardExportJob", ModelCardName="fraud-card", ModelCardExportJobName=name,
             OutputConfig={"S3OutputPath": "s3://filter-exports"})
    engine.advance_clock(31)
    call(engine, "CreateModelCardExportJob", ModelCardName="fraud-card", ModelCardExportJobName="third",
         OutputConfig={"S3OutputPath": "s3://filter-exports"})
    running = call(engine, "ListModelCardExportJobs", ModelCardName="fraud-card", StatusEquals="InProgress")
    assert [j["ModelCardExportJobName"] for j in running["ModelCardExportJobSummaries"]] == ["third"]
    by_name = call(engine, "ListModelCardExportJobs", ModelCardName="fraud-card", SortBy="Name",
                   SortOrder="Ascending", ModelCardExportJobNameContains="ir")
    assert [j["ModelCardExportJobName"] for j in by_name["ModelCardExportJobSummaries"]] == ["first", "third"]


# -- events -------------------------------------------------------------------------------------
def test_status_changes_emit_state_change_events(engine):
    events = []
    engine.on_events = events.extend
    create_card(engine)
    call(engine, "UpdateModelCard", ModelCardName="fraud-card", Content=content(risk="Low"))
    call(engine, "UpdateModelCard", ModelCardName="fraud-card", ModelCardStatus="PendingReview")
    assert [(e["detail-type"], e["detail"]["ModelCardStatus"], e["detail"]["ModelCardVersion"]) for e in events] == [
        ("SageMaker Model Card State Change", "Draft", 1), ("SageMaker Model Card State Change", "PendingReview", 3)]
    assert events[-1]["source"] == "aws.sagemaker" and events[-1]["account"] == OWNER
    assert events[-1]["resources"] == [f"arn:aws:sagemaker:us-east-1:{OWNER}:model-card/fraud-card"]


# -- cross-account access through RAM -------------------------------------------------------------
def test_unshared_card_is_denied_to_other_accounts(engine):
    arn = create_card(engine)
    denied = error_of(engine, "DescribeModelCard", CONSUMER, ModelCardName=arn)
    assert denied.code == "AccessDeniedException" and "sagemaker:DescribeModelCard" in denied.message
    assert error_of(engine, "DescribeModelCard", CONSUMER, ModelCardName="fraud-card").code == "ResourceNotFound"


def test_shared_card_can_be_read_and_updated_by_the_consumer(engine):
    events = []
    engine.on_events = events.extend
    arn = create_card(engine)
    share(engine, arn)
    described = call(engine, "DescribeModelCard", CONSUMER, ModelCardName=arn)
    assert (described["ModelCardArn"], described["ModelCardVersion"]) == (arn, 1)
    call(engine, "UpdateModelCard", CONSUMER, ModelCardName=arn, Content=content(risk="Low"))
    call(engine, "UpdateModelCard", CONSUMER, ModelCardName=arn, ModelCardStatus="PendingReview")
    owner_view = call(engine, "DescribeModelCard", ModelCardName="fraud-card")
    assert (owner_view["ModelCardVersion"], owner_view["ModelCardStatus"]) == (3, "PendingReview")
    assert json.loads(owner_view["Content"])["intended_uses"]["risk_rating"] == "Low"
    versions = call(engine, "ListModelCardVersions", CONSUMER, ModelCardName=arn)["ModelCardVersionSummaryList"]
    assert len(versions) == 3
    assert events[-1]["account"] == OWNER and events[-1]["detail"]["ModelCardStatus"] == "PendingReview"
    # the default permission does not allow exports, and other accounts still see nothing
    assert error_of(engine, "CreateModelCardExportJob", CONSUMER, ModelCardName=arn, ModelCardExportJobName="x",
                    OutputConfig={"S3OutputPath": "s3://consumer-exports"}).code == "AccessDeniedException"
    assert error_of(engine, "DescribeModelCard", OTHER, ModelCardName=arn).code == "AccessDeniedException"


def test_allow_export_permission_lets_the_consumer_export_into_the_owners_jobs(engine):
    arn = create_card(engine, model_name="fraud-xgboost-central")
    share(engine, arn, EXPORT_PERMISSION)
    job = call(engine, "CreateModelCardExportJob", CONSUMER, ModelCardName=arn, ModelCardExportJobName="audit",
               OutputConfig={"S3OutputPath": "s3://fraud-dev-exports/cards"})
    assert f":{OWNER}:model-card/fraud-card/export-job/audit" in job["ModelCardExportJobArn"]
    described = call(engine, "DescribeModelCardExportJob", CONSUMER, **job)
    assert described["ExportArtifacts"]["S3ExportArtifacts"] == "s3://fraud-dev-exports/cards/fraud-card/audit.pdf"
    assert b"fraud-xgboost-central" in pdf_in_s3("fraud-dev-exports", "cards/fraud-card/audit.pdf")
    owner_jobs = call(engine, "ListModelCardExportJobs", ModelCardName="fraud-card")["ModelCardExportJobSummaries"]
    assert [j["ModelCardExportJobArn"] for j in owner_jobs] == [job["ModelCardExportJobArn"]]
    assert error_of(engine, "DescribeModelCardExportJob", OTHER, **job).code == "AccessDeniedException"


def test_disassociating_the_consumer_ends_its_access(engine):
    arn = create_card(engine)
    share_arn = share(engine, arn)
    call(engine, "DisassociateResourceShare", OWNER, "ram", resourceShareArn=share_arn, principals=[CONSUMER])
    assert error_of(engine, "DescribeModelCard", CONSUMER, ModelCardName=arn).code == "AccessDeniedException"


# -- over HTTP ------------------------------------------------------------------------------------
def test_model_cards_through_boto3(aws):
    sagemaker = aws("sagemaker", account_id=OWNER)
    s3 = aws("s3", account_id=OWNER, s3={"addressing_style": "path"})
    arn = sagemaker.create_model_card(ModelCardName="http-card", Content=content(model_name="http-model"),
                                      ModelCardStatus="Draft", Tags=[{"Key": "team", "Value": "fraud-detection"}])[
        "ModelCardArn"]
    sagemaker.update_model_card(ModelCardName="http-card", ModelCardStatus="PendingReview")
    described = sagemaker.describe_model_card(ModelCardName=arn, ModelCardVersion=1, IncludedData="AllData")
    assert (described["ModelCardVersion"], described["ModelCardStatus"]) == (1, "Draft")
    assert "IamIdentity" in described["CreatedBy"]
    assert any(c["ModelCardName"] == "http-card" for c in sagemaker.list_model_cards()["ModelCardSummaries"])
    assert len(sagemaker.list_model_card_versions(ModelCardName="http-card")["ModelCardVersionSummaryList"]) == 2
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "fraud-detection"}]
    with pytest.raises(ClientError) as conflict:
        sagemaker.update_model_card(ModelCardName="http-card", Content="{}", ModelCardStatus="Approved")
    assert conflict.value.response["Error"]["Code"] == "ValidationException"

    job_arn = sagemaker.create_model_card_export_job(
        ModelCardName="http-card", ModelCardExportJobName="http-export",
        OutputConfig={"S3OutputPath": "s3://http-card-exports/pdf"})["ModelCardExportJobArn"]
    job = sagemaker.describe_model_card_export_job(ModelCardExportJobArn=job_arn)
    assert job["Status"] == "Completed"
    summaries = sagemaker.list_model_card_export_jobs(ModelCardName="http-card")["ModelCardExportJobSummaries"]
    assert [s["ModelCardExportJobArn"] for s in summaries] == [job_arn]
    body = s3.get_object(Bucket="http-card-exports", Key="pdf/http-card/http-export.pdf")["Body"].read()
    assert_valid_pdf(body)
    assert b"http-model" in body

    sagemaker.delete_model_card(ModelCardName="http-card")
    with pytest.raises(ClientError) as gone:
        sagemaker.describe_model_card(ModelCardName="http-card")
    assert gone.value.response["Error"]["Code"] == "ResourceNotFound"


def test_shared_card_described_from_the_consumer_account_through_boto3(aws):
    owner_cards = aws("sagemaker", account_id=OWNER)
    arn = owner_cards.create_model_card(ModelCardName="shared-http-card", Content=content(model_name="shared"),
                                        ModelCardStatus="Approved")["ModelCardArn"]
    aws("ram", account_id=OWNER).create_resource_share(name="shared-http-card", resourceArns=[arn],
                                                       principals=[CONSUMER])
    consumer_cards = aws("sagemaker", account_id=CONSUMER)
    described = consumer_cards.describe_model_card(ModelCardName=arn)
    assert (described["ModelCardName"], described["ModelCardStatus"]) == ("shared-http-card", "Approved")
    with pytest.raises(ClientError) as denied:
        aws("sagemaker", account_id=OTHER).describe_model_card(ModelCardName=arn)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"


def test_model_card_through_the_cli(aws_cli):
    created = aws_cli("sagemaker", "create-model-card", "--model-card-name", "cli-card", "--content",
                      content(model_name="cli-model"), "--model-card-status", "Draft", account_id=OWNER)
    assert created.json["ModelCardArn"].endswith(":model-card/cli-card")
    described = aws_cli("sagemaker", "describe-model-card", "--model-card-name", "cli-card", account_id=OWNER)
    assert json.loads(described.json["Content"])["model_overview"]["model_name"] == "cli-model"
