"""S3 Object Lock as AWS has it: a COMPLIANCE-locked version cannot be deleted, shortened or
downgraded, the bucket stays versioned, and overwrites or delete markers hide no version."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

LOG_ARCHIVE = "222222222201"


@pytest.fixture
def locked(aws):
    """A bucket with Object Lock (default COMPLIANCE, 1 day) in the log-archive account, and one
    object version locked in COMPLIANCE mode for 3 days."""
    s3 = aws("s3", LOG_ARCHIVE)
    bucket = f"audit-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}}})
    until = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3)
    version = s3.put_object(Bucket=bucket, Key="cp.json", Body=b"first", ObjectLockMode="COMPLIANCE",
                            ObjectLockRetainUntilDate=until)["VersionId"]
    return s3, bucket, version, until


def _code(error):
    return error.value.response["Error"]["Code"], error.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_object_lock_bucket_is_versioned_and_reports_its_default_retention(locked):
    s3, bucket, _, _ = locked
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}}}


def test_get_object_retention_reports_mode_and_date(locked):
    s3, bucket, version, until = locked
    retention = s3.get_object_retention(Bucket=bucket, Key="cp.json", VersionId=version)["Retention"]
    assert (retention["Mode"], retention["RetainUntilDate"]) == ("COMPLIANCE", until)


def test_a_locked_version_cannot_be_deleted(locked):
    s3, bucket, version, _ = locked
    for bypass in (False, True):
        with pytest.raises(ClientError) as error:
            s3.delete_object(Bucket=bucket, Key="cp.json", VersionId=version, BypassGovernanceRetention=bypass)
        assert _code(error) == ("AccessDenied", 403)
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "cp.json", "VersionId": version}]})
    assert [e["Code"] for e in answer["Errors"]] == ["AccessDenied"]


def test_compliance_retention_cannot_be_shortened_or_downgraded_but_can_be_extended(locked):
    s3, bucket, version, until = locked
    for retention in ({"Mode": "COMPLIANCE", "RetainUntilDate": until - timedelta(days=2)},
                      {"Mode": "GOVERNANCE", "RetainUntilDate": until}):
        with pytest.raises(ClientError) as error:
            s3.put_object_retention(Bucket=bucket, Key="cp.json", VersionId=version, Retention=retention,
                                    BypassGovernanceRetention=True)
        assert _code(error) == ("AccessDenied", 403)
    later = until + timedelta(days=1)
    s3.put_object_retention(Bucket=bucket, Key="cp.json", VersionId=version,
                            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later})
    assert s3.get_object_retention(Bucket=bucket, Key="cp.json", VersionId=version)["Retention"]["RetainUntilDate"] == later


def test_versioning_of_an_object_lock_bucket_cannot_be_suspended(locked):
    s3, bucket, _, _ = locked
    with pytest.raises(ClientError) as error:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert _code(error) == ("InvalidBucketState", 409)


def test_overwrites_and_delete_markers_hide_no_version(locked):
    s3, bucket, version, _ = locked
    s3.put_object(Bucket=bucket, Key="cp.json", Body=b"second")
    s3.delete_object(Bucket=bucket, Key="cp.json")
    listing = s3.list_object_versions(Bucket=bucket, Prefix="cp.json")
    assert len(listing["Versions"]) == 2 and len(listing["DeleteMarkers"]) == 1
    assert s3.get_object(Bucket=bucket, Key="cp.json", VersionId=version)["Body"].read() == b"first"


def test_retention_errors_without_object_lock(aws):
    s3 = aws("s3", LOG_ARCHIVE)
    bucket = f"plain-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as error:
        s3.get_object_retention(Bucket=bucket, Key="k")
    assert _code(error) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as error:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", ObjectLockMode="COMPLIANCE",
                      ObjectLockRetainUntilDate=datetime.now(timezone.utc) + timedelta(days=1))
    assert _code(error)[0] == "InvalidRequest"
