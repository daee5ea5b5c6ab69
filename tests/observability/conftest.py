"""Fixtures of the activity view: a sandbox of its own (so the ledger holds only this test's calls)."""
import boto3
import pytest

from observability import services
from sandbox.core.org_layout import PORTAL_ROLE
from tests.conftest import start_fast_sandbox

KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture
def trail_sandbox(settings):
    from portal import aws

    server = start_fast_sandbox()
    settings.AWS_ENDPOINT_URL = server.url
    aws.reset_caches()
    yield server
    aws.reset_caches()
    server.stop()


@pytest.fixture
def no_sleep():
    """A pacer that records the waits instead of sleeping, on a clock that moves only by those
    waits (so the calls a run makes are back to back whatever the machine's speed)."""
    waits, now = [], [0.0]

    def sleep(seconds):
        waits.append(seconds)
        now[0] += seconds
    return waits, services.Pacer(2, sleep=sleep, clock=lambda: now[0])


def client_as(server, service, account_id, *, role=PORTAL_ROLE, session="someone"):
    """A boto3 client acting in ``account_id`` as ``role``/``session`` (not through the portal's code)."""
    sts = boto3.client("sts", endpoint_url=server.url, region_name="us-east-1", **KEYS)
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{role}",
                                  RoleSessionName=session)["Credentials"]
    return boto3.client(service, endpoint_url=server.url, region_name="us-east-1",
                        aws_access_key_id=credentials["AccessKeyId"],
                        aws_secret_access_key=credentials["SecretAccessKey"],
                        aws_session_token=credentials["SessionToken"])
