"""The AWS CLI against the sandbox, and ``python -m sandbox`` as a process."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from sandbox.core.org_layout import MANAGEMENT_ACCOUNT_ID, ROOT_ID, team_account

FRAUD_DEV = team_account("fraud-detection", "dev")


def test_sts_get_caller_identity_and_assume_role(aws_cli):
    assert aws_cli("sts", "get-caller-identity").json["Account"] == MANAGEMENT_ACCOUNT_ID
    identity = aws_cli("sts", "get-caller-identity", account_id=FRAUD_DEV).json
    assert identity["Account"] == FRAUD_DEV
    assert identity["Arn"].startswith(f"arn:aws:sts::{FRAUD_DEV}:assumed-role/PortalExecutionRole/")
    refused = aws_cli("sts", "assume-role", "--role-arn", f"arn:aws:iam::{FRAUD_DEV}:role/Missing",
                      "--role-session-name", "cli", check=False)
    assert refused.returncode != 0 and "AccessDenied" in refused.stderr


def test_organizations_accounts_and_account_creation(aws_cli):
    accounts = aws_cli("organizations", "list-accounts").json["Accounts"]
    assert FRAUD_DEV in {account["Id"] for account in accounts}
    assert all(account["State"] == "ACTIVE" for account in accounts if account["Id"] == FRAUD_DEV)
    created = aws_cli("organizations", "create-account", "--email", "cli-vend@example.com",
                      "--account-name", "cli vend").json["CreateAccountStatus"]
    assert created["Id"].startswith("car-")
    status = aws_cli("organizations", "describe-create-account-status", "--create-account-request-id",
                     created["Id"]).json["CreateAccountStatus"]
    assert (status["State"], status["AccountName"]) == ("SUCCEEDED", "cli vend")
    missing = aws_cli("organizations", "describe-create-account-status", "--create-account-request-id",
                      "car-00000000", check=False)
    assert missing.returncode != 0 and "CreateAccountStatusNotFoundException" in missing.stderr
    ous = aws_cli("organizations", "list-organizational-units-for-parent", "--parent-id", ROOT_ID).json
    assert "Sandbox" in {ou["Name"] for ou in ous["OrganizationalUnits"]}


def test_unimplemented_operation_names_itself(aws_cli):
    answer = aws_cli("organizations", "list-policies", "--filter", "SERVICE_CONTROL_POLICY", check=False)
    assert answer.returncode != 0
    assert "NotImplementedException" in answer.stderr and "organizations:ListPolicies" in answer.stderr


def test_python_m_sandbox_serves_until_interrupted():
    env = {**os.environ, "SANDBOX_PORT": "0", "SANDBOX_STATE_FILE": ""}
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "--quiet"], cwd=os.getcwd(), env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        started = time.monotonic()
        line = process.stdout.readline()
        assert line.startswith("sandbox listening on http://127.0.0.1:"), line + process.stderr.read()
        url = line.split()[-1]
        with urllib.request.urlopen(f"{url}/_sandbox/health") as response:
            assert json.loads(response.read()) == {"status": "ok"}
        assert time.monotonic() - started < 5
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_s3_head_bucket_of_a_missing_bucket_is_404(aws_cli):
    """The CLI's `s3api head-bucket` (and `aws s3 ls s3://x`) must see "404 Not Found", not a 501."""
    answer = aws_cli("s3api", "head-bucket", "--bucket", "cli-bucket-nobody-has", check=False)
    assert answer.returncode != 0
    assert "(404)" in answer.stderr and "Not Found" in answer.stderr, answer.stderr
