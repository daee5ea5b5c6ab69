"""The strict response checker catches what botocore's parser silently accepts: each kind of
mistake, made on purpose by a handler registered for the test, in each protocol."""
from datetime import datetime, timezone

import boto3
import pytest
from botocore.exceptions import ClientError

from sandbox.core.errors import AwsError
from sandbox.core.org_layout import MANAGEMENT_ACCOUNT_ID
from sandbox.fidelity import attach, check_response

from .conftest import BASE_CREDENTIALS
from .test_core import registered

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
ALGORITHM = {
    "AlgorithmName": "algo", "AlgorithmArn": "arn:aws:sagemaker:us-east-1:111111111111:algorithm/algo",
    "CreationTime": WHEN, "AlgorithmStatus": "Completed", "AlgorithmStatusDetails": {},
    "TrainingSpecification": {"TrainingImage": "img", "SupportedTrainingInstanceTypes": ["ml.m5.large"],
                              "TrainingChannels": [{"Name": "train", "SupportedContentTypes": ["text/csv"],
                                                    "SupportedInputModes": ["File"]}]},
}


@pytest.fixture
def checked(sandbox_server):
    """(client factory, violations) without failing the test: violations are what we assert on."""
    violations: list[str] = []

    def make(service: str):
        client = boto3.client(service, endpoint_url=sandbox_server.url, region_name="us-east-1",
                              config=boto3.session.Config(retries={"total_max_attempts": 1}), **BASE_CREDENTIALS)
        attach(client, violations)
        return client

    return make, violations


def _describe_algorithm(checked, answer: dict) -> list[str]:
    make, violations = checked
    with registered("sagemaker", "DescribeAlgorithm", lambda ctx, params: answer):
        make("sagemaker").describe_algorithm(AlgorithmName="algo")
    return violations


def test_a_faithful_answer_has_no_violations(checked):
    assert _describe_algorithm(checked, ALGORITHM) == []


def test_unknown_key(checked):
    found = _describe_algorithm(checked, {**ALGORITHM, "AlgorithmColour": "blue"})
    assert found == ["sagemaker.DescribeAlgorithm: AlgorithmColour: unknown key (not a member of "
                     "DescribeAlgorithmOutput)"]


def test_nested_unknown_key(checked):
    specification = {**ALGORITHM["TrainingSpecification"], "Extra": 1}
    found = _describe_algorithm(checked, {**ALGORITHM, "TrainingSpecification": specification})
    assert len(found) == 1 and "TrainingSpecification.Extra: unknown key" in found[0]


def test_value_outside_the_enum(checked):
    found = _describe_algorithm(checked, {**ALGORITHM, "AlgorithmStatus": "Done"})
    assert len(found) == 1 and "AlgorithmStatus: 'Done' is not a valid AlgorithmStatus" in found[0]


def test_missing_required_member(checked):
    answer = {key: value for key, value in ALGORITHM.items() if key != "AlgorithmArn"}
    found = _describe_algorithm(checked, answer)
    assert found == ["sagemaker.DescribeAlgorithm: AlgorithmArn: required member of DescribeAlgorithmOutput is "
                     "missing"]


def test_wrong_types(checked):
    found = _describe_algorithm(checked, {**ALGORITHM, "AlgorithmName": 7, "CertifyForMarketplace": "yes",
                                          "TrainingSpecification": {**ALGORITHM["TrainingSpecification"],
                                                                    "SupportedTrainingInstanceTypes": "ml.m5"}})
    assert any("AlgorithmName: expected a string" in item for item in found)
    assert any("CertifyForMarketplace: expected a boolean" in item for item in found)
    assert any("SupportedTrainingInstanceTypes: expected a list" in item for item in found)


def test_query_xml_answers_are_checked(checked):
    make, violations = checked

    def assume_role(ctx, params):
        return {"Credentials": {"AccessKeyId": "ASIAAAAAAAAAAAAAAAAA", "SecretAccessKey": "x" * 40,
                                "Expiration": WHEN},
                "AssumedRoleUser": {"AssumedRoleId": "AROA:x", "Arn": "arn:aws:sts::1:assumed-role/r/x",
                                    "Colour": "red"}}

    with registered("sts", "AssumeRole", assume_role):
        make("sts").assume_role(RoleArn="arn:aws:iam::111111111111:role/PortalExecutionRole", RoleSessionName="xy")
    assert sorted(violations) == [
        "sts.AssumeRole: AssumedRoleUser.Colour: unknown element (not a member of AssumedRoleUser)",
        "sts.AssumeRole: Credentials.SessionToken: required member of Credentials is missing",
    ]


def test_rest_json_answers_are_checked(checked):
    make, violations = checked
    answer = {"replacePermissionAssociationsWorks": [{"id": "w", "status": "DONE", "creationTime": WHEN}],
              "NextToken": "wrong case"}
    with registered("ram", "ListReplacePermissionAssociationsWork", lambda ctx, params: answer):
        make("ram").list_replace_permission_associations_work()
    assert sorted(violations) == [
        "ram.ListReplacePermissionAssociationsWork: NextToken: unknown key (not a member of "
        "ListReplacePermissionAssociationsWorkResponse)",
        "ram.ListReplacePermissionAssociationsWork: replacePermissionAssociationsWorks[0].status: 'DONE' is not a "
        "valid ReplacePermissionAssociationsWorkStatus (one of ['IN_PROGRESS', 'COMPLETED', 'FAILED'])",
    ]


def test_error_members_are_checked(checked):
    make, violations = checked

    def refuse(ctx, params):
        raise AwsError("ConstraintViolationException", "no", extra={"Reason": "WAIT_PERIOD_ACTIVE", "Why": "x"})

    with registered("organizations", "DescribeHandshake", refuse):
        with pytest.raises(ClientError):
            make("organizations").describe_handshake(HandshakeId="h-0123456789")
    assert violations == ["organizations.DescribeHandshake: Why: unknown member of error ConstraintViolationException"]


def test_cbor_timestamps_must_be_tagged():
    from botocore.session import get_session
    import cbor2

    operation = get_session().get_service_model("servicecatalog").operation_model("DescribePortfolio")
    good = cbor2.dumps({"PortfolioDetail": {"Id": "port-1", "CreatedTime": WHEN}}, datetime_as_timestamp=True)
    bad = cbor2.dumps({"PortfolioDetail": {"Id": "port-1", "CreatedTime": "2026-01-02"}})
    headers = {"content-type": "application/cbor"}
    assert check_response(operation, {"status_code": 200, "headers": headers, "body": good}) == []
    assert check_response(operation, {"status_code": 200, "headers": headers, "body": bad}) == [
        "servicecatalog.DescribePortfolio: PortfolioDetail.CreatedTime: expected a CBOR timestamp (tag 1), "
        "got '2026-01-02'"]


def test_the_sandbox_own_answers_pass(aws):
    """Everything the fixture checks in the other test files passes; here a broad sample."""
    organizations = aws("organizations")
    organizations.describe_organization()
    organizations.list_accounts()
    organizations.describe_account(AccountId=MANAGEMENT_ACCOUNT_ID)
    aws("sts").get_caller_identity()
