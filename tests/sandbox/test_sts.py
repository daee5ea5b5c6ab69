"""STS through boto3 against the HTTP sandbox: AssumeRole rules and who the caller is."""
import boto3
import pytest
from botocore.exceptions import ClientError

from sandbox.core.org_layout import MANAGEMENT_ACCOUNT_ID, team_account

FRAUD_DEV = team_account("fraud-detection", "dev")
PORTAL_ROLE_ARN = f"arn:aws:iam::{FRAUD_DEV}:role/PortalExecutionRole"


def _client_for(sandbox_server, credentials, service="sts"):
    return boto3.client(service, endpoint_url=sandbox_server.url, region_name="us-east-1",
                        aws_access_key_id=credentials["AccessKeyId"],
                        aws_secret_access_key=credentials["SecretAccessKey"],
                        aws_session_token=credentials["SessionToken"])


def _error(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response


def test_base_credentials_are_the_management_account_root(aws):
    identity = aws("sts").get_caller_identity()
    assert identity["Account"] == MANAGEMENT_ACCOUNT_ID
    assert identity["Arn"] == f"arn:aws:iam::{MANAGEMENT_ACCOUNT_ID}:root"


def test_assume_role_lands_later_calls_in_the_role_account(aws, sandbox_server):
    answer = aws("sts").assume_role(RoleArn=PORTAL_ROLE_ARN, RoleSessionName="alice@example.com",
                                    DurationSeconds=900)
    credentials = answer["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA") and len(credentials["AccessKeyId"]) == 20
    assert (credentials["Expiration"] - sandbox_server.engine.now()).total_seconds() == pytest.approx(900, abs=2)
    assert answer["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{FRAUD_DEV}:assumed-role/PortalExecutionRole/alice@example.com")
    assert answer["AssumedRoleUser"]["AssumedRoleId"].endswith(":alice@example.com")
    identity = _client_for(sandbox_server, credentials).get_caller_identity()
    assert identity["Account"] == FRAUD_DEV
    assert identity["Arn"] == answer["AssumedRoleUser"]["Arn"]
    assert identity["UserId"] == answer["AssumedRoleUser"]["AssumedRoleId"]
    key_info = aws("sts").get_access_key_info(AccessKeyId=credentials["AccessKeyId"])
    assert key_info["Account"] == FRAUD_DEV


def test_the_aws_fixture_assumes_the_portal_role(aws):
    assert aws("sts", account_id=FRAUD_DEV).get_caller_identity()["Account"] == FRAUD_DEV


def test_assume_role_into_a_missing_role_is_access_denied(aws):
    response = _error(aws("sts").assume_role, RoleArn=f"arn:aws:iam::{FRAUD_DEV}:role/NoSuchRole",
                      RoleSessionName="portal")
    assert response["Error"]["Code"] == "AccessDenied"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "sts:AssumeRole" in response["Error"]["Message"]


def test_management_account_has_no_org_access_role(aws):
    response = _error(aws("sts").assume_role,
                      RoleArn=f"arn:aws:iam::{MANAGEMENT_ACCOUNT_ID}:role/OrganizationAccountAccessRole",
                      RoleSessionName="portal")
    assert response["Error"]["Code"] == "AccessDenied"


def test_member_account_roles_do_not_trust_other_members(aws):
    """PortalExecutionRole trusts the management account only."""
    other = team_account("credit-risk", "dev")
    response = _error(aws("sts", account_id=FRAUD_DEV).assume_role,
                      RoleArn=f"arn:aws:iam::{other}:role/PortalExecutionRole", RoleSessionName="hop")
    assert response["Error"]["Code"] == "AccessDenied"
    assert "assumed-role/PortalExecutionRole" in response["Error"]["Message"]


@pytest.mark.parametrize("kwargs, fragment", [
    ({"RoleSessionName": "has space"}, "roleSessionName"),
    ({"RoleSessionName": "x" * 65}, "length less than or equal to 64"),
    ({"DurationSeconds": 43201}, "less than or equal to 43200"),
    ({"DurationSeconds": 7200}, "MaxSessionDuration"),
    ({"ExternalId": "bad id!"}, "externalId"),
    ({"SourceIdentity": "aws:me"}, "aws:"),
    ({"RoleArn": "arn:aws:iam::12345:role/x"}, "is invalid"),
])
def test_assume_role_input_validation(aws, kwargs, fragment):
    request = {"RoleArn": PORTAL_ROLE_ARN, "RoleSessionName": "portal", **kwargs}
    response = _error(aws("sts").assume_role, **request)
    assert response["Error"]["Code"] == "ValidationError"
    assert fragment in response["Error"]["Message"]


def test_malformed_session_policy(aws):
    response = _error(aws("sts").assume_role, RoleArn=PORTAL_ROLE_ARN, RoleSessionName="portal", Policy="{not json")
    assert response["Error"]["Code"] == "MalformedPolicyDocument"


def test_session_policy_reports_packed_size_and_source_identity(aws):
    answer = aws("sts").assume_role(RoleArn=PORTAL_ROLE_ARN, RoleSessionName="portal", SourceIdentity="alice",
                                    Policy='{"Version":"2012-10-17","Statement":[]}',
                                    Tags=[{"Key": "team", "Value": "fraud-detection"}])
    assert 1 <= answer["PackedPolicySize"] <= 100
    assert answer["SourceIdentity"] == "alice"


def test_role_chaining_is_capped_at_one_hour(aws, sandbox_server):
    """From a role session (e.g. the portal's hub role), another AssumeRole may last 1 hour at most."""
    own_role = f"arn:aws:iam::{FRAUD_DEV}:role/OrganizationAccountAccessRole"
    sandbox_server.engine.state["iam"]["roles"][FRAUD_DEV]["OrganizationAccountAccessRole"]["TrustedAccounts"].append(
        FRAUD_DEV)
    try:
        chained = aws("sts", account_id=FRAUD_DEV)
        assert chained.assume_role(RoleArn=own_role, RoleSessionName="chain")["Credentials"]
        response = _error(chained.assume_role, RoleArn=own_role, RoleSessionName="chain", DurationSeconds=3601)
        assert response["Error"]["Code"] == "ValidationError"
        assert "role chaining" in response["Error"]["Message"]
    finally:
        sandbox_server.engine.state["iam"]["roles"][FRAUD_DEV]["OrganizationAccountAccessRole"][
            "TrustedAccounts"].remove(FRAUD_DEV)


def test_expired_and_unknown_session_credentials_are_refused(aws, sandbox_server):
    credentials = aws("sts").assume_role(RoleArn=PORTAL_ROLE_ARN, RoleSessionName="short",
                                         DurationSeconds=900)["Credentials"]
    sandbox_server.engine.advance_clock(901)
    response = _error(_client_for(sandbox_server, credentials).get_caller_identity)
    assert response["Error"]["Code"] == "ExpiredToken"
    organizations = _client_for(sandbox_server, credentials, "organizations")
    assert _error(organizations.describe_organization)["Error"]["Code"] == "ExpiredTokenException"
    forged = dict(credentials, AccessKeyId="ASIAFORGEDFORGED0000")
    response = _error(_client_for(sandbox_server, forged).get_caller_identity)
    assert response["Error"]["Code"] == "InvalidClientTokenId"


def test_roles_created_in_moto_iam_can_be_assumed(aws):
    iam = aws("iam", account_id=FRAUD_DEV)
    iam.create_role(RoleName="TeamPipelineRole", AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}')
    answer = aws("sts").assume_role(RoleArn=f"arn:aws:iam::{FRAUD_DEV}:role/TeamPipelineRole",
                                    RoleSessionName="pipeline")
    assert answer["AssumedRoleUser"]["Arn"].endswith("assumed-role/TeamPipelineRole/pipeline")


def test_assume_role_is_ledgered_with_role_and_session(aws, sandbox_server):
    aws("sts").assume_role(RoleArn=PORTAL_ROLE_ARN, RoleSessionName="ledgered")
    entry = sandbox_server.engine.ledger[-1]
    assert (entry["service"], entry["operation"], entry["key"]) == ("sts", "AssumeRole", f"{PORTAL_ROLE_ARN}/ledgered")


def test_access_keys_of_iam_users_belong_to_their_account(aws, sandbox_server):
    iam = aws("iam", account_id=FRAUD_DEV)
    iam.create_user(UserName="pipeline-bot")
    key = iam.create_access_key(UserName="pipeline-bot")["AccessKey"]
    identity = boto3.client("sts", endpoint_url=sandbox_server.url, region_name="us-east-1",
                            aws_access_key_id=key["AccessKeyId"],
                            aws_secret_access_key=key["SecretAccessKey"]).get_caller_identity()
    assert identity["Account"] == FRAUD_DEV
    assert identity["Arn"] == f"arn:aws:iam::{FRAUD_DEV}:user/pipeline-bot"
