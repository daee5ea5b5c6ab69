"""Fixtures for the sandbox's own tests.

- ``engine``: a fresh in-process engine (no HTTP), instant durations.
- ``sandbox_server``: one HTTP sandbox for the whole session (instant durations, in memory).
- ``aws(service, account_id=None, region="us-east-1")``: a boto3 client on that server; with
  ``account_id`` it uses credentials of ``PortalExecutionRole`` in that account (via STS). Every
  response is checked strictly against botocore's output shape; the test fails at teardown if
  one was off (unknown key, bad enum, missing required member, wrong type).
- ``aws_cli(*args, account_id=None)``: runs the AWS CLI against the server, returns the
  CompletedProcess (stdout parsed as JSON in ``.json`` when possible).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config as BotoConfig

from sandbox.core.engine import Config, Sandbox
from sandbox.core.org_layout import MANAGEMENT_ACCOUNT_ID, PORTAL_ROLE
from sandbox.fidelity import attach
from sandbox.server import start_in_thread

MANAGEMENT = MANAGEMENT_ACCOUNT_ID
INSTANT = dict(provision_seconds=0, account_seconds=0, domain_seconds=0, export_seconds=0)
BASE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
AWS_CLI = str(Path(sys.executable).with_name("aws"))


@pytest.fixture
def engine():
    """A freshly seeded in-process sandbox engine with instant durations."""
    return Sandbox(Config(**INSTANT))


@pytest.fixture(scope="session")
def sandbox_server():
    """A sandbox served over HTTP for the whole test session (``.url``, ``.engine``)."""
    server = start_in_thread(port=0, config=Config(**INSTANT), state_file="")
    yield server
    server.stop()


def portal_credentials(url: str, account_id: str, region: str = "us-east-1") -> dict:
    """Credentials of ``PortalExecutionRole`` in ``account_id``, assumed from the management account."""
    sts = boto3.client("sts", endpoint_url=url, region_name=region, **BASE_CREDENTIALS)
    role_arn = f"arn:aws:iam::{account_id}:role/{PORTAL_ROLE}"
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="sandbox-tests")["Credentials"]
    return {"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"]}


@pytest.fixture
def aws(sandbox_server):
    """Factory of strictly checked boto3 clients pointed at the session's sandbox."""
    violations: list[str] = []
    credentials_by_account: dict[tuple[str, str], dict] = {}

    def make(service: str, account_id: str | None = None, region: str = "us-east-1", **client_config):
        if account_id is None or account_id == MANAGEMENT:
            credentials = BASE_CREDENTIALS
        else:
            key = (account_id, region)
            if key not in credentials_by_account:
                credentials_by_account[key] = portal_credentials(sandbox_server.url, account_id, region)
            credentials = credentials_by_account[key]
        client = boto3.client(service, endpoint_url=sandbox_server.url, region_name=region,
                              config=BotoConfig(**client_config) if client_config else None, **credentials)
        attach(client, violations)
        return client

    yield make
    if violations:
        pytest.fail("responses that do not match botocore's output shapes:\n" + "\n".join(violations))


@pytest.fixture
def aws_cli(sandbox_server):
    """Run ``aws --endpoint-url <sandbox> <args>``; ``account_id`` assumes PortalExecutionRole there."""
    def run(*args: str, account_id: str | None = None, region: str = "us-east-1", check: bool = True):
        env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=region,
                   AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_PAGER="")
        if account_id and account_id != MANAGEMENT:
            credentials = portal_credentials(sandbox_server.url, account_id, region)
            env.update(AWS_ACCESS_KEY_ID=credentials["aws_access_key_id"],
                       AWS_SECRET_ACCESS_KEY=credentials["aws_secret_access_key"],
                       AWS_SESSION_TOKEN=credentials["aws_session_token"])
        completed = subprocess.run([AWS_CLI, "--endpoint-url", sandbox_server.url, "--output", "json", *args],
                                   env=env, capture_output=True, text=True, timeout=60)
        if check and completed.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({completed.returncode}): {completed.stderr}")
        try:
            completed.json = json.loads(completed.stdout) if completed.stdout.strip() else None
        except ValueError:
            completed.json = None
        return completed

    return run
