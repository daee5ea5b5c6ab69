"""The sandbox's core: protocols (json, cbor, query, rest-json), dispatch to engine or moto,
"not implemented" answers, admin routes, faults, persistence, events and server start."""
import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError

from sandbox.core import registry
from sandbox.core.engine import Config, Sandbox
from sandbox.core.errors import AwsError
from sandbox.core.events import attach_webhook
from sandbox.core.moto_bridge import BRIDGE
from sandbox.core.org_layout import MANAGEMENT_ACCOUNT_ID, team_account
from sandbox.core.protocols import ApiRequest, service_model
from sandbox.fidelity import attach
from sandbox.server import start_in_thread

from .conftest import BASE_CREDENTIALS, INSTANT

FRAUD_DEV = team_account("fraud-detection", "dev")
NO_RETRIES = {"retries": {"total_max_attempts": 1, "mode": "standard"}}
WHEN = datetime(2026, 3, 1, 12, 30, 15, tzinfo=timezone.utc)


@contextlib.contextmanager
def registered(service: str, name: str, handler, **options):
    """Register ``handler`` for ``service:name`` for the duration of the block."""
    previous = registry.OPERATIONS.get((service, name))
    registry.operation(service, name, **options)(handler)
    try:
        yield
    finally:
        if previous is None:
            del registry.OPERATIONS[(service, name)]
        else:
            registry.OPERATIONS[(service, name)] = previous


def admin(server, method: str, route: str, payload=None):
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(f"{server.url}/_sandbox/{route}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def cbor_client(tmp_path, sandbox_server):
    """Factory of strictly checked clients whose model lists only smithy-rpc-v2-cbor (as other SDKs use)."""
    violations = []
    loader = botocore.session.get_session().get_component("data_loader")

    def make(service: str):
        model = loader.load_service_model(service, "service-2")
        model["metadata"]["protocols"] = ["smithy-rpc-v2-cbor"]
        target = tmp_path / service / model["metadata"]["apiVersion"]
        target.mkdir(parents=True)
        (target / "service-2.json").write_text(json.dumps(model))
        session = botocore.session.Session()
        session.set_config_variable("data_path", str(tmp_path))
        client = boto3.Session(botocore_session=session).client(
            service, endpoint_url=sandbox_server.url, region_name="us-east-1", **BASE_CREDENTIALS)
        assert client.meta.service_model.resolved_protocol == "smithy-rpc-v2-cbor"
        attach(client, violations)
        return client

    yield make
    assert violations == []


@pytest.fixture
def restore_config(sandbox_server):
    saved = sandbox_server.engine.config.as_dict()
    yield sandbox_server.engine.config
    sandbox_server.engine.config.update(saved)
    sandbox_server.engine.faults.clear()


# -- protocols ------------------------------------------------------------------------------------
def test_json_parses_typed_params_and_serialises_the_output_shape(aws):
    seen = {}

    def describe_handshake(ctx, params):
        seen.update(params=params, account=ctx.account_id, region=ctx.region)
        return {"Handshake": {"Id": params["HandshakeId"], "State": "OPEN", "Action": "INVITE",
                              "RequestedTimestamp": WHEN, "ExpirationTimestamp": "2026-03-15T12:30:15+00:00",
                              "Parties": [{"Id": FRAUD_DEV, "Type": "ACCOUNT"}]}}

    with registered("organizations", "DescribeHandshake", describe_handshake):
        handshake = aws("organizations", region="eu-west-1").describe_handshake(HandshakeId="h-0123456789")["Handshake"]
    assert seen == {"params": {"HandshakeId": "h-0123456789"}, "account": MANAGEMENT_ACCOUNT_ID, "region": "eu-west-1"}
    assert handshake["RequestedTimestamp"] == WHEN
    assert handshake["ExpirationTimestamp"] == datetime(2026, 3, 15, 12, 30, 15, tzinfo=timezone.utc)
    assert handshake["Parties"] == [{"Id": FRAUD_DEV, "Type": "ACCOUNT"}]


def test_error_extra_members_reach_boto3(aws):
    def refuse(ctx, params):
        raise AwsError("ConstraintViolationException", "too many", extra={"Reason": "HANDSHAKE_RATE_LIMIT_EXCEEDED"})

    with registered("organizations", "DescribeHandshake", refuse):
        with pytest.raises(ClientError) as caught:
            aws("organizations").describe_handshake(HandshakeId="h-0123456789")
    error = caught.value
    assert type(error).__name__ == "ConstraintViolationException"
    assert error.response["Error"] == {"Code": "ConstraintViolationException", "Message": "too many"}
    assert error.response["Reason"] == "HANDSHAKE_RATE_LIMIT_EXCEEDED"


def test_cbor_requests_and_answers(cbor_client):
    servicecatalog = cbor_client("servicecatalog")
    seen = {}

    def copy_status(ctx, params):
        seen.update(params)
        return {"CopyProductStatus": "SUCCEEDED", "TargetProductId": "prod-abcdefghijklm", "StatusDetail": ""}

    def missing(ctx, params):
        raise AwsError("ResourceNotFoundException", f"Copy {params['CopyProductToken']} not found.")

    with registered("servicecatalog", "DescribeCopyProductStatus", copy_status):
        answer = servicecatalog.describe_copy_product_status(CopyProductToken="copy-1", AcceptLanguage="en")
    assert seen == {"CopyProductToken": "copy-1", "AcceptLanguage": "en"}
    assert answer["CopyProductStatus"] == "SUCCEEDED" and answer["TargetProductId"] == "prod-abcdefghijklm"
    assert answer["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/cbor"
    with registered("servicecatalog", "DescribeCopyProductStatus", missing):
        with pytest.raises(ClientError) as caught:
            servicecatalog.describe_copy_product_status(CopyProductToken="copy-2")
    assert caught.value.response["Error"] == {"Code": "ResourceNotFoundException", "Message": "Copy copy-2 not found."}


def test_cbor_calls_to_moto_are_transcoded_and_journaled(cbor_client, sandbox_server):
    codebuild = cbor_client("codebuild")
    project = codebuild.create_project(
        name="cbor-transcoded", source={"type": "S3", "location": "artifacts-bucket/source.zip"},
        artifacts={"type": "NO_ARTIFACTS"}, serviceRole=f"arn:aws:iam::{MANAGEMENT_ACCOUNT_ID}:role/build",
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                     "computeType": "BUILD_GENERAL1_SMALL"})["project"]
    assert project["name"] == "cbor-transcoded" and isinstance(project["created"], datetime)
    assert "cbor-transcoded" in codebuild.list_projects()["projects"]
    assert sandbox_server.engine.moto_journal[-1]["label"] == "codebuild:CreateProject"
    with pytest.raises(codebuild.exceptions.ResourceAlreadyExistsException) as caught:
        codebuild.create_project(name="cbor-transcoded", source={"type": "S3", "location": "b/k.zip"},
                                 artifacts={"type": "NO_ARTIFACTS"}, serviceRole="arn:aws:iam::111111111111:role/b",
                                 environment={"type": "LINUX_CONTAINER", "image": "i",
                                              "computeType": "BUILD_GENERAL1_SMALL"})
    assert caught.value.response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/cbor"


def test_query_protocol_for_registered_operations(aws):
    def session_token(ctx, params):
        return {"Credentials": {"AccessKeyId": "ASIATESTTESTTEST0000", "SecretAccessKey": "s" * 40,
                                "SessionToken": "token", "Expiration": WHEN}}

    with registered("sts", "GetSessionToken", session_token):
        answer = aws("sts").get_session_token(DurationSeconds=900)
    assert answer["Credentials"]["Expiration"] == WHEN
    assert answer["Credentials"]["AccessKeyId"] == "ASIATESTTESTTEST0000"


def test_rest_json_route_params_and_errors(aws):
    seen = {}

    def works(ctx, params):
        seen.update(params)
        return {"replacePermissionAssociationsWorks": [{"id": params["workIds"][0], "status": "COMPLETED",
                                                        "creationTime": WHEN, "lastUpdatedTime": WHEN}],
                "nextToken": "next"}

    def refuse(ctx, params):
        raise AwsError("MalformedArnException", "The format of the ARN is not valid.")

    ram = aws("ram")
    with registered("ram", "ListReplacePermissionAssociationsWork", works):
        answer = ram.list_replace_permission_associations_work(workIds=["work-1"], status="COMPLETED", maxResults=5)
    assert seen == {"workIds": ["work-1"], "status": "COMPLETED", "maxResults": 5}
    assert answer["replacePermissionAssociationsWorks"][0]["creationTime"] == WHEN
    assert answer["nextToken"] == "next"
    with registered("ram", "ListReplacePermissionAssociationsWork", refuse):
        with pytest.raises(ram.exceptions.MalformedArnException):
            ram.list_replace_permission_associations_work()


def test_moto_answers_what_the_sandbox_does_not_implement(aws, sandbox_server):
    s3 = aws("s3", account_id=FRAUD_DEV)
    s3.create_bucket(Bucket="core-test-bucket")
    s3.put_object(Bucket="core-test-bucket", Key="a/b.txt", Body=b"payload")
    assert s3.get_object(Bucket="core-test-bucket", Key="a/b.txt")["Body"].read() == b"payload"
    assert "core-test-bucket" not in {b["Name"] for b in aws("s3").list_buckets()["Buckets"]}   # per account
    entries = [entry for entry in sandbox_server.engine.ledger if entry["service"] == "s3"]
    assert [(e["operation"], e["account"]) for e in entries[-2:]] == [("CreateBucket", FRAUD_DEV),
                                                                      ("PutObject", FRAUD_DEV)]


def test_presigned_urls_land_in_the_signers_account(aws):
    s3 = aws("s3", account_id=FRAUD_DEV)
    s3.create_bucket(Bucket="presigned-exports")
    s3.put_object(Bucket="presigned-exports", Key="card.pdf", Body=b"%PDF-1.7 card")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "presigned-exports", "Key": "card.pdf"})
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"%PDF-1.7 card"


def test_services_signed_under_another_name_reach_moto(aws, sandbox_server):
    """CloudWatch signs as "monitoring" and answers JSON with its own target prefix."""
    cloudwatch = aws("cloudwatch")
    cloudwatch.put_metric_data(Namespace="Sandbox/Core", MetricData=[{"MetricName": "Calls", "Value": 1.0}])
    assert {"Namespace": "Sandbox/Core", "MetricName": "Calls", "Dimensions": []} in cloudwatch.list_metrics()[
        "Metrics"]
    assert sandbox_server.engine.ledger[-1]["operation"] == "PutMetricData"


def test_ctx_call_moto_reaches_moto_in_the_callers_account(engine):
    def put(ctx, params):
        ctx.call_moto("s3", "CreateBucket", {"Bucket": "ctx-moto-bucket"})
        ctx.call_moto("s3", "PutObject", {"Bucket": "ctx-moto-bucket", "Key": "card.pdf", "Body": b"%PDF-1.4"})
        return {}

    with registered("organizations", "DeclineHandshake", put):
        engine.invoke("organizations", "DeclineHandshake", {"HandshakeId": "h-0123456789"}, account_id=FRAUD_DEV)
    body = engine.call_moto("s3", "GetObject", {"Bucket": "ctx-moto-bucket", "Key": "card.pdf"},
                            account_id=FRAUD_DEV, region="us-east-1")["Body"].read()
    assert body == b"%PDF-1.4"
    assert [entry["label"] for entry in engine.moto_journal] == ["s3:CreateBucket", "s3:PutObject"]
    with pytest.raises(AwsError) as caught:
        engine.call_moto("s3", "GetObject", {"Bucket": "ctx-moto-bucket", "Key": "absent"}, account_id=FRAUD_DEV,
                         region="us-east-1")
    assert caught.value.code == "NoSuchKey"


def _first_unimplemented(engine, service: str) -> str:
    model = service_model(service)
    for name in sorted(model.operation_names):
        api = ApiRequest(service, "us-east-1", "testing", model.resolved_protocol, name)
        environ = {"HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/"
                                         f"{model.signing_name}/aws4_request", "PATH_INFO": "/"}
        if not engine.implements(service, name) and not BRIDGE.implements(api, environ):
            return name
    raise AssertionError(f"everything of {service} is implemented")


@pytest.mark.parametrize("service", ["servicecatalog", "sagemaker"])
def test_unimplemented_operations_answer_501_without_retries(aws, sandbox_server, service):
    operation = _first_unimplemented(sandbox_server.engine, service)
    client = aws(service)
    sent = []
    client.meta.events.register("before-send", lambda **kwargs: sent.append(1))
    shape = client.meta.service_model.operation_model(operation).input_shape
    params = {name: "x" * max(1, shape.members[name].metadata.get("min", 1))
              for name in (shape.required_members if shape else [])
              if shape.members[name].type_name == "string"}
    if shape is not None and set(shape.required_members) - set(params):
        pytest.skip(f"{operation} needs non-string required members")
    with pytest.raises(ClientError) as caught:
        client._make_api_call(operation, params)
    response = caught.value.response
    assert response["Error"]["Code"] == "NotImplementedException"
    assert f"{service}:{operation}" in response["Error"]["Message"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert len(sent) == 1


def test_unimplemented_operation_of_an_owned_service_is_501_in_xml(aws):
    with pytest.raises(ClientError) as caught:
        aws("sts").get_federation_token(Name="someone")
    assert caught.value.response["Error"]["Code"] == "NotImplementedException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_unimplemented_rest_operation_moto_cannot_route(aws, sandbox_server):
    assert not sandbox_server.engine.implements("ram", "GetPermission"), "pick an operation nobody implements"
    with pytest.raises(ClientError) as caught:
        aws("ram", **NO_RETRIES).get_permission(permissionArn="arn:aws:ram::aws:permission/AWSRAMDefaultPermission")
    assert caught.value.response["Error"]["Code"] == "NotImplementedException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert "ram:GetPermission" in caught.value.response["Error"]["Message"]


def test_handler_bug_is_an_internal_failure_and_leaves_no_trace(aws, sandbox_server):
    def broken(ctx, params):
        ctx.state["half"] = "done"
        raise KeyError("oops")

    with registered("organizations", "DeclineHandshake", broken):
        with pytest.raises(ClientError) as caught:
            aws("organizations", **NO_RETRIES).decline_handshake(HandshakeId="h-0123456789")
    assert caught.value.response["Error"]["Code"] == "InternalFailure"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "half" not in sandbox_server.engine.state["organizations"]


# -- admin routes ---------------------------------------------------------------------------------
def test_health_config_and_clock(sandbox_server, restore_config):
    assert admin(sandbox_server, "GET", "health") == (200, {"status": "ok"})
    status, config = admin(sandbox_server, "POST", "config", {"account_seconds": 7})
    assert status == 200 and config["account_seconds"] == 7.0 and restore_config.account_seconds == 7.0
    assert admin(sandbox_server, "POST", "config", {"no_such_setting": 1})[0] == 400
    before = sandbox_server.engine.now()
    status, clock = admin(sandbox_server, "POST", "clock", {"advance_seconds": 3600})
    assert status == 200
    assert (datetime.fromisoformat(clock["now"]) - before).total_seconds() == pytest.approx(3600, abs=5)
    assert admin(sandbox_server, "GET", "nothing-here")[0] == 404


def test_ledger_filters(aws, sandbox_server):
    _, before = admin(sandbox_server, "GET", "ledger")
    last_seq = before["entries"][-1]["seq"] if before["entries"] else 0
    organizations = aws("organizations")
    organizations.create_account(Email="ledger-1@example.com", AccountName="ledger one")
    organizations.list_accounts()
    _, after = admin(sandbox_server, "GET", f"ledger?since={last_seq}&service=organizations")
    assert [(e["operation"], e["key"], e["outcome"]) for e in after["entries"]] == [
        ("CreateAccount", "ledger-1@example.com", "ok")]
    _, by_key = admin(sandbox_server, "GET", "ledger?key=ledger-1@example.com")
    assert len(by_key["entries"]) == 1 and by_key["entries"][0]["account"] == MANAGEMENT_ACCOUNT_ID


def test_scripted_error_fault_answers_without_running(aws, sandbox_server, restore_config):
    status, fault = admin(sandbox_server, "POST", "faults", {
        "service": "organizations", "operation": "CreateAccount", "kind": "error", "count": 1,
        "code": "ServiceException", "message": "AWS Organizations can't complete your request.", "status": 500})
    assert status == 201 and fault["count"] == 1
    organizations = aws("organizations", **NO_RETRIES)
    organizations.list_roots()   # another operation is not affected
    ledger_size = len(sandbox_server.engine.ledger)
    with pytest.raises(ClientError) as caught:
        organizations.create_account(Email="fault-1@example.com", AccountName="fault one")
    assert caught.value.response["Error"]["Code"] == "ServiceException"
    assert len(sandbox_server.engine.ledger) == ledger_size
    assert organizations.create_account(Email="fault-1@example.com", AccountName="fault one")[
        "CreateAccountStatus"]["State"] == "SUCCEEDED"
    assert admin(sandbox_server, "GET", "faults")[1] == {"faults": []}


def test_dropped_response_keeps_the_effect(aws, sandbox_server, restore_config):
    admin(sandbox_server, "POST", "faults", {"service": "organizations", "operation": "CreateAccount",
                                             "kind": "drop_response"})
    organizations = aws("organizations", **NO_RETRIES)
    with pytest.raises(ClientError) as caught:
        organizations.create_account(Email="dropped@example.com", AccountName="dropped")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert caught.value.response["Error"]["Code"] == "InternalFailure"
    created = [s for s in organizations.list_create_account_status(MaxResults=20)["CreateAccountStatuses"]
               if s["AccountName"] == "dropped"]
    assert len(created) == 1


def test_fault_validation(sandbox_server):
    assert admin(sandbox_server, "POST", "faults", {"kind": "explode"})[0] == 400
    assert admin(sandbox_server, "POST", "faults", {"kind": "error"})[0] == 400
    assert admin(sandbox_server, "DELETE", "faults") == (200, {"faults": []})


def test_faults_never_apply_to_internal_calls(engine):
    engine.faults.add({"kind": "drop_response", "service": "organizations"})
    engine.faults.add({"kind": "error", "service": "organizations", "code": "ServiceException"})
    engine.invoke("organizations", "ListRoots", {}, account_id=MANAGEMENT_ACCOUNT_ID, internal=True)
    assert len(engine.faults.pending()) == 2


def test_random_throttling_is_retried_by_botocore(aws, sandbox_server, restore_config):
    restore_config.update({"throttle_rate": 1.0})
    organizations = aws("organizations", retries={"total_max_attempts": 2, "mode": "standard"})
    sent = []
    organizations.meta.events.register("before-send", lambda **kwargs: sent.append(1))
    with pytest.raises(ClientError) as caught:
        organizations.list_roots()
    assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert len(sent) == 2
    restore_config.update({"throttle_rate": 0.0, "error_5xx_rate": 1.0})
    with pytest.raises(ClientError) as caught:
        aws("sts", **NO_RETRIES).get_caller_identity()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_record_failure_flag_for_handlers(engine):
    engine.faults.add({"kind": "record_failure", "service": "servicecatalog", "subject": "Account Factory",
                       "code": "ResourceInUseException", "message": "busy", "count": 2})
    taken = []

    def provision(ctx, params):
        taken.append(ctx.take_fault("record_failure", "servicecatalog", params["Name"]))
        return {}

    with registered("organizations", "DeclineHandshake", provision):
        for name in ("Other product", "Account Factory", "Account Factory", "Account Factory"):
            engine.invoke("organizations", "DeclineHandshake", {"Name": name}, account_id=MANAGEMENT_ACCOUNT_ID)
    assert [fault and fault["code"] for fault in taken] == [None, "ResourceInUseException",
                                                            "ResourceInUseException", None]


def test_reset_reseeds_and_empties_moto(tmp_path):
    server = start_in_thread(config=Config(**INSTANT), state_file="")
    try:
        s3 = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", **BASE_CREDENTIALS)
        s3.create_bucket(Bucket="reset-me")
        organizations = boto3.client("organizations", endpoint_url=server.url, region_name="us-east-1",
                                     **BASE_CREDENTIALS)
        organizations.create_account(Email="reset@example.com", AccountName="reset")
        assert admin(server, "POST", "reset") == (200, {"status": "reset"})
        assert "reset-me" not in {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}
        assert organizations.list_create_account_status()["CreateAccountStatuses"] == []
        assert server.engine.ledger == []
    finally:
        server.stop()


# -- persistence ----------------------------------------------------------------------------------
def test_state_survives_a_restart(tmp_path):
    state_file = str(tmp_path / "sandbox-state.json")
    first = start_in_thread(config=Config(**INSTANT), state_file=state_file)
    try:
        kwargs = dict(endpoint_url=first.url, region_name="us-east-1", **BASE_CREDENTIALS)
        status = boto3.client("organizations", **kwargs).create_account(
            Email="persist@example.com", AccountName="persisted")["CreateAccountStatus"]
        s3 = boto3.client("s3", **kwargs)
        s3.create_bucket(Bucket="persisted-bucket")
        s3.put_object(Bucket="persisted-bucket", Key="model.tar.gz", Body=b"\x00\x01binary")
        first.engine.advance_clock(120)
        saved = (json.dumps(first.engine.state, sort_keys=True), list(first.engine.ledger),
                 first.engine.clock_offset)
    finally:
        first.stop()
    BRIDGE.reset()   # a new process starts with an empty moto
    second = start_in_thread(config=Config(**INSTANT), state_file=state_file)
    try:
        assert (json.dumps(second.engine.state, sort_keys=True), second.engine.ledger,
                second.engine.clock_offset) == saved
        kwargs = dict(endpoint_url=second.url, region_name="us-east-1", **BASE_CREDENTIALS)
        account = boto3.client("organizations", **kwargs).describe_account(AccountId=status["AccountId"])["Account"]
        assert account["Name"] == "persisted"
        body = boto3.client("s3", **kwargs).get_object(Bucket="persisted-bucket", Key="model.tar.gz")["Body"].read()
        assert body == b"\x00\x01binary"
    finally:
        second.stop()


def test_sts_sessions_survive_a_restart(tmp_path):
    state_file = str(tmp_path / "state.json")
    first = start_in_thread(config=Config(**INSTANT), state_file=state_file)
    try:
        credentials = boto3.client("sts", endpoint_url=first.url, region_name="us-east-1", **BASE_CREDENTIALS
                                   ).assume_role(RoleArn=f"arn:aws:iam::{FRAUD_DEV}:role/PortalExecutionRole",
                                                 RoleSessionName="restart")["Credentials"]
    finally:
        first.stop()
    second = start_in_thread(config=Config(**INSTANT), state_file=state_file)
    try:
        identity = boto3.client("sts", endpoint_url=second.url, region_name="us-east-1",
                                aws_access_key_id=credentials["AccessKeyId"],
                                aws_secret_access_key=credentials["SecretAccessKey"],
                                aws_session_token=credentials["SessionToken"]).get_caller_identity()
        assert identity["Account"] == FRAUD_DEV
    finally:
        second.stop()


def test_seed_is_deterministic():
    first, second = Sandbox(Config(**INSTANT)), Sandbox(Config(**INSTANT))
    assert first.state["_ids"] == second.state["_ids"]
    assert json.dumps(first.state["iam"], sort_keys=True) == json.dumps(second.state["iam"], sort_keys=True)
    assert first.state["organizations"] == second.state["organizations"]
    assert first.new_id("car-", 32, "abc") == second.new_id("car-", 32, "abc")


# -- events ---------------------------------------------------------------------------------------
class _Collector(BaseHTTPRequestHandler):
    received: list = []
    failures_left = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Collector.failures_left:
            _Collector.failures_left -= 1
            self.send_response(503)
        else:
            _Collector.received.append((self.headers.get("X-Portal-Event-Secret"), json.loads(body)))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_events_are_posted_to_the_webhook_with_retries():
    receiver = HTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    _Collector.received, _Collector.failures_left = [], 1
    engine = Sandbox(Config(**INSTANT, event_webhook_url=f"http://127.0.0.1:{receiver.server_port}/events",
                            event_webhook_secret="s3cret"))
    delivery = attach_webhook(engine)
    delivery.backoff_seconds = 0.01

    def approve(ctx, params):
        ctx.emit_event(source="aws.sagemaker", detail_type="SageMaker Model Package State Change",
                       detail={"ModelApprovalStatus": "Approved"}, resources=["arn:aws:sagemaker:::x"])
        return {}

    try:
        with registered("organizations", "DeclineHandshake", approve):
            started = time.monotonic()
            engine.invoke("organizations", "DeclineHandshake", {}, account_id=FRAUD_DEV)
            assert time.monotonic() - started < 0.5   # delivery does not block the call
        delivery.wait()
        assert len(_Collector.received) == 1
        secret, event = _Collector.received[0]
        assert secret == "s3cret"
        assert (event["source"], event["detail-type"], event["account"]) == (
            "aws.sagemaker", "SageMaker Model Package State Change", FRAUD_DEV)
        assert event["detail"] == {"ModelApprovalStatus": "Approved"} and len(event["id"]) == 32
    finally:
        receiver.shutdown()
        receiver.server_close()


def test_undeliverable_events_are_dropped_without_failing_calls():
    engine = Sandbox(Config(**INSTANT, event_webhook_url="http://127.0.0.1:9/unreachable"))
    delivery = attach_webhook(engine)
    delivery.backoff_seconds = 0.01

    def emit(ctx, params):
        ctx.emit_event(source="aws.sagemaker", detail_type="x", detail={}, resources=[])
        return {}

    with registered("organizations", "DeclineHandshake", emit):
        assert engine.invoke("organizations", "DeclineHandshake", {}, account_id=FRAUD_DEV) == {}
    delivery.wait()


# -- server ---------------------------------------------------------------------------------------
def test_server_starts_fast_and_serves_in_parallel():
    started = time.monotonic()
    server = start_in_thread(config=Config(**INSTANT), state_file="")
    try:
        assert time.monotonic() - started < 1.0
        results = []

        def ask():
            client = boto3.client("organizations", endpoint_url=server.url, region_name="us-east-1",
                                  **BASE_CREDENTIALS)
            results.append(len(client.list_roots()["Roots"]))

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == [1] * 8
    finally:
        server.stop()


def test_config_from_environment():
    config = Config.from_env({"SANDBOX_ACCOUNT_SECONDS": "3", "SANDBOX_5XX_RATE": "0.25",
                              "SANDBOX_EVENT_WEBHOOK_URL": "http://x", "SANDBOX_PROVISION_SECONDS": ""})
    assert (config.account_seconds, config.error_5xx_rate, config.event_webhook_url, config.provision_seconds) == (
        3.0, 0.25, "http://x", 8.0)


def test_head_bucket_answers_like_s3_for_missing_and_foreign_buckets(aws):
    """HeadBucket: 404 for a bucket nobody has, 403 for one another account owns, 200 for one's own."""
    s3 = aws("s3", account_id=FRAUD_DEV, retries={"total_max_attempts": 1})
    with pytest.raises(ClientError) as missing:
        s3.head_bucket(Bucket="head-bucket-nobody-has")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert missing.value.response["Error"]["Code"] == "404"
    s3.create_bucket(Bucket="head-bucket-fraud-owns")
    assert s3.head_bucket(Bucket="head-bucket-fraud-owns")["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as foreign:
        aws("s3", retries={"total_max_attempts": 1}).head_bucket(Bucket="head-bucket-fraud-owns")
    assert foreign.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
