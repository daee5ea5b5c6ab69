"""CloudTrail LookupEvents: the ledger of management calls as CloudTrail shows it (AWS_API_turn2.md §3)."""
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from sandbox.core.engine import Config, Sandbox
from sandbox.core.org_layout import MANAGEMENT_ACCOUNT_ID, team_account
from tests.sandbox.conftest import INSTANT

FRAUD_PROD = team_account("fraud-detection", "prod")
CREDIT_DEV = team_account("credit-risk", "dev")


def _group(name: str) -> dict:
    return {"ModelPackageGroupName": name, "ModelPackageGroupDescription": "activity"}


def _lookup(engine, account_id=FRAUD_PROD, **params):
    return engine.invoke("cloudtrail", "LookupEvents", params, account_id=account_id)


def _error_code(call, **kwargs) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"]


def test_an_assumed_role_call_is_recorded_with_the_caller_as_aws_records_it(aws):
    name = f"ct-{uuid.uuid4().hex[:8]}"
    aws("sagemaker", account_id=FRAUD_PROD).create_model_package_group(**_group(name))
    trail = aws("cloudtrail", account_id=FRAUD_PROD)
    events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": name}])["Events"]
    assert len(events) == 1
    event = events[0]
    assert event["EventName"] == "CreateModelPackageGroup"
    assert event["EventSource"] == "sagemaker.amazonaws.com"
    assert event["Username"] == "sandbox-tests"          # the role session name, as CloudTrail shows it
    assert event["ReadOnly"] == "false"
    assert event["AccessKeyId"].startswith("ASIA")
    assert {"ResourceType": "AWS::SageMaker::ModelPackageGroup", "ResourceName": name} in event["Resources"]
    record = json.loads(event["CloudTrailEvent"])
    identity = record["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["arn"] == f"arn:aws:sts::{FRAUD_PROD}:assumed-role/PortalExecutionRole/sandbox-tests"
    assert identity["sessionContext"]["sessionIssuer"]["arn"] == f"arn:aws:iam::{FRAUD_PROD}:role/PortalExecutionRole"
    assert identity["sessionContext"]["sessionIssuer"]["userName"] == "PortalExecutionRole"
    assert record["sourceIPAddress"] == "127.0.0.1"
    assert record["eventID"] == event["EventId"]
    assert record["eventSource"] == "sagemaker.amazonaws.com" and record["eventName"] == "CreateModelPackageGroup"
    assert record["requestParameters"]["ModelPackageGroupName"] == name
    assert record["recipientAccountId"] == FRAUD_PROD
    # The same event is found by its id; another account does not see it.
    by_id = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": event["EventId"]}])
    assert [found["EventId"] for found in by_id["Events"]] == [event["EventId"]]
    other = aws("cloudtrail", account_id=CREDIT_DEV).lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": name}])
    assert other["Events"] == []


def test_failed_calls_carry_their_error_and_root_calls_read_root(aws):
    name = f"ct-{uuid.uuid4().hex[:8]}"
    sagemaker = aws("sagemaker")
    sagemaker.create_model_package_group(**_group(name))
    with pytest.raises(ClientError):
        sagemaker.create_model_package_group(**_group(name))
    events = aws("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": name}])["Events"]
    assert [event["Username"] for event in events] == ["root", "root"]
    newest, oldest = (json.loads(event["CloudTrailEvent"]) for event in events)
    assert "errorCode" in newest and "errorCode" not in oldest
    assert newest["userIdentity"] == {"type": "Root", "principalId": MANAGEMENT_ACCOUNT_ID,
                                      "arn": f"arn:aws:iam::{MANAGEMENT_ACCOUNT_ID}:root",
                                      "accountId": MANAGEMENT_ACCOUNT_ID, "accessKeyId": "testing"}


def test_calls_moto_answers_are_events_too_and_data_events_are_not(aws):
    bucket = f"ct-{uuid.uuid4().hex[:8]}"
    s3 = aws("s3", account_id=CREDIT_DEV)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"x")
    trail = aws("cloudtrail", account_id=CREDIT_DEV)
    events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": bucket}])
    assert [event["EventName"] for event in events["Events"]] == ["CreateBucket"]
    assert events["Events"][0]["EventSource"] == "s3.amazonaws.com"
    assert events["Events"][0]["Resources"] == [{"ResourceType": "AWS::S3::Bucket", "ResourceName": bucket}]


def test_each_lookup_attribute_filters(engine):
    engine.invoke("sagemaker", "CreateModelPackageGroup", _group("one"), account_id=FRAUD_PROD)
    engine.invoke("sagemaker", "CreateModelPackageGroup", _group("two"), account_id=FRAUD_PROD)
    engine.invoke("sagemaker", "DeleteModelPackageGroup", {"ModelPackageGroupName": "one"}, account_id=FRAUD_PROD)
    every = _lookup(engine)["Events"]
    assert [event["EventName"] for event in every] == [
        "DeleteModelPackageGroup", "CreateModelPackageGroup", "CreateModelPackageGroup"]

    def names(key, value):
        events = _lookup(engine, LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}])["Events"]
        return [(event["EventName"], [r["ResourceName"] for r in event["Resources"]]) for event in events]

    assert names("EventName", "DeleteModelPackageGroup") == [("DeleteModelPackageGroup", ["one"])]
    assert names("ResourceName", "one") == [("DeleteModelPackageGroup", ["one"]), ("CreateModelPackageGroup", ["one"])]
    assert len(names("ResourceType", "AWS::SageMaker::ModelPackageGroup")) == 3
    assert names("ResourceType", "AWS::SageMaker::Endpoint") == []
    assert len(names("EventSource", "sagemaker.amazonaws.com")) == 3
    assert names("EventSource", "servicecatalog.amazonaws.com") == []
    assert len(names("Username", "root")) == 3
    assert names("Username", "someone-else") == []
    assert len(names("ReadOnly", "false")) == 3
    assert names("ReadOnly", "true") == []          # the ledger keeps writes only
    assert names("EventId", every[1]["EventId"]) == [("CreateModelPackageGroup", ["two"])]
    assert names("AccessKeyId", "AKIANOTUSED") == []


def test_events_page_newest_first_and_a_token_needs_the_same_parameters(engine):
    for index in range(7):
        engine.invoke("sagemaker", "CreateModelPackageGroup", _group(f"g{index}"), account_id=FRAUD_PROD)
    seen, token, pages = [], None, 0
    while True:
        params = {"MaxResults": 3, **({"NextToken": token} if token else {})}
        answer = _lookup(engine, **params)
        seen += [event["Resources"][0]["ResourceName"] for event in answer["Events"]]
        pages += 1
        token = answer.get("NextToken")
        if not token:
            break
    assert seen == [f"g{index}" for index in reversed(range(7))]
    assert pages == 3
    # A new event arriving between pages neither repeats nor shifts what the token continues with.
    first = _lookup(engine, MaxResults=3)
    engine.invoke("sagemaker", "CreateModelPackageGroup", _group("late"), account_id=FRAUD_PROD)
    second = _lookup(engine, MaxResults=3, NextToken=first["NextToken"])
    assert [e["Resources"][0]["ResourceName"] for e in second["Events"]] == ["g3", "g2", "g1"]
    with pytest.raises(Exception) as caught:
        _lookup(engine, MaxResults=3, NextToken=first["NextToken"],
                LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateModelPackageGroup"}])
    assert caught.value.code == "InvalidNextTokenException"


def test_time_range_is_inclusive_and_limited_to_ninety_days():
    engine = Sandbox(Config(**INSTANT))
    engine.invoke("sagemaker", "CreateModelPackageGroup", _group("old"), account_id=FRAUD_PROD)
    engine.advance_clock(timedelta(days=60).total_seconds())
    engine.invoke("sagemaker", "CreateModelPackageGroup", _group("mid"), account_id=FRAUD_PROD)
    mid_time = datetime.fromisoformat(engine.ledger[-1]["time"])
    engine.advance_clock(timedelta(days=40).total_seconds())
    engine.invoke("sagemaker", "CreateModelPackageGroup", _group("new"), account_id=FRAUD_PROD)

    def names(**params):
        return [event["Resources"][0]["ResourceName"] for event in _lookup(engine, **params)["Events"]]

    assert names() == ["new", "mid"]          # "old" is 100 days back
    assert names(StartTime=mid_time - timedelta(days=365)) == ["new", "mid"]
    assert names(StartTime=mid_time, EndTime=mid_time) == ["mid"]
    assert names(EndTime=mid_time - timedelta(seconds=1)) == []
    with pytest.raises(Exception) as caught:
        _lookup(engine, StartTime=mid_time, EndTime=mid_time - timedelta(seconds=1))
    assert caught.value.code == "InvalidTimeRangeException"


def test_invalid_requests_are_refused_as_aws_does(aws):
    trail = aws("cloudtrail", retries={"total_max_attempts": 1})
    two = [{"AttributeKey": "EventName", "AttributeValue": "A"}, {"AttributeKey": "Username", "AttributeValue": "b"}]
    assert _error_code(trail.lookup_events, LookupAttributes=two) == "InvalidLookupAttributesException"
    assert _error_code(trail.lookup_events, LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "x"}]) \
        == "InvalidLookupAttributesException"
    assert _error_code(trail.lookup_events, MaxResults=51) == "InvalidMaxResultsException"
    assert _error_code(trail.lookup_events, NextToken="garbage") == "InvalidNextTokenException"
    now = datetime.now(timezone.utc)
    assert _error_code(trail.lookup_events, StartTime=now, EndTime=now - timedelta(hours=1)) \
        == "InvalidTimeRangeException"
    assert trail.lookup_events(EventCategory="insight")["Events"] == []


def test_the_cli_reads_events(aws, aws_cli):
    name = f"ct-{uuid.uuid4().hex[:8]}"
    aws("sagemaker", account_id=FRAUD_PROD).create_model_package_group(**_group(name))
    completed = aws_cli("cloudtrail", "lookup-events", "--lookup-attributes",
                        f"AttributeKey=ResourceName,AttributeValue={name}", account_id=FRAUD_PROD)
    assert [event["EventName"] for event in completed.json["Events"]] == ["CreateModelPackageGroup"]
