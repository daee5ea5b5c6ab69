"""The audit chain anchored outside the database: signed checkpoints in an append-only store, and
audit_verify reporting truncation, tail deletion, head rewind and full recomputation."""
import json

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from bench.audit_tamper import KINDS, _owner_bypass, build_chain, run, tamper
from portal import audit_anchor, tasks
from portal.audit import audit_checkpoint, audit_record, audit_verify
from portal.models import AuditChainHead, AuditCheckpoint, AuditEvent
from portal.permissions import SYSTEM

# audit_checkpoint refuses to run inside a transaction (it writes the store after commit).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def checkpoint_file(settings, tmp_path):
    """Each test anchors to its own append-only file (the embedded default store)."""
    settings.AUDIT_CHECKPOINT_BUCKET = ""
    settings.AUDIT_CHECKPOINT_FILE = str(tmp_path / "audit-checkpoints.jsonl")
    settings.AUDIT_CHECKPOINT_KEY = "checkpoint-key-kept-outside-the-database"
    return tmp_path / "audit-checkpoints.jsonl"


def _events(count):
    for n in range(count):
        with transaction.atomic():
            audit_record(actor=SYSTEM, action="test.event", target_type="thing", target_id=str(n))


def _as_owner(kind, position):
    """Tamper as the tables' owner and verify, inside a savepoint that is rolled back."""
    class Undo(Exception):
        pass
    try:
        with transaction.atomic():
            expected = tamper(kind, position)
            result = audit_verify()
            raise Undo
    except Undo:
        return expected, result


def test_truncation_and_a_reset_head_are_reported_at_event_one():
    _events(8)
    audit_checkpoint()
    expected, result = _as_owner("truncate", 1)
    assert (result.intact, result.broken_seq) == (False, 1)
    assert "event #1 is missing" in result.reason and "checkpoint #1-#8" in result.reason


def test_tail_deletion_with_the_head_rewound_is_reported_at_the_first_removed_event():
    _events(10)
    audit_checkpoint()
    _events(2)          # not yet anchored
    expected, result = _as_owner("tail_delete_and_rewind", 7)
    assert (result.intact, result.broken_seq) == (False, 7)
    assert "events #7-#10 were removed" in result.reason


def test_a_rewritten_event_with_every_hash_recomputed_is_reported_at_that_event():
    _events(10)
    audit_checkpoint()
    expected, result = _as_owner("recompute_from", 4)
    assert (result.intact, result.broken_seq) == (False, 4)
    assert "differs from what checkpoint #1-#10" in result.reason


def test_a_fresh_chain_written_after_truncation_does_not_match_the_anchor():
    _events(6)
    audit_checkpoint()
    expected, result = _as_owner("truncate_and_refill", 6)
    assert (result.intact, result.broken_seq) == (False, 1)


def test_a_thousand_random_tamperings_of_every_kind_are_all_detected_at_the_right_event():
    anchored = build_chain(30)
    outcome = run(1000, anchored)
    assert set(outcome) == set(KINDS)
    assert {kind: (detected, total) for kind, (detected, total, _) in outcome.items()} == \
        {kind: (1000, 1000) for kind in KINDS}


def test_the_checkpoint_names_range_hash_time_and_is_signed(checkpoint_file):
    _events(5)
    assert audit_checkpoint() == 1
    document = json.loads(checkpoint_file.read_text().strip())
    last = AuditEvent.objects.get(seq=5)
    assert (document["first_seq"], document["seq"], document["hash"]) == (1, 5, last.hash)
    assert len(document["digests"]) == 5 * audit_anchor.DIGEST_CHARS and document["time"] and document["signature"]


def test_checkpoints_are_written_once_per_sequence_and_cover_new_events(checkpoint_file):
    _events(4)
    tasks.audit_checkpoint()
    tasks.audit_checkpoint()
    assert len(checkpoint_file.read_text().splitlines()) == 1
    _events(3)
    tasks.audit_checkpoint()
    ranges = [(json.loads(line)["first_seq"], json.loads(line)["seq"]) for line in checkpoint_file.read_text().splitlines()]
    assert ranges == [(1, 4), (5, 7)]
    assert audit_verify().anchored == 7


def test_a_claimed_checkpoint_the_store_already_holds_is_not_written_again(checkpoint_file):
    _events(3)
    audit_checkpoint()
    AuditCheckpoint.objects.update(anchored_at=None)       # e.g. the worker died before marking it
    assert audit_checkpoint() == 0
    assert len(checkpoint_file.read_text().splitlines()) == 1
    assert AuditCheckpoint.objects.get().anchored_at is not None


def test_long_stretches_are_split_into_checkpoints_of_bounded_size(settings, checkpoint_file):
    settings.AUDIT_CHECKPOINT_MAX_EVENTS = 4
    _events(10)
    audit_checkpoint()
    ranges = [(json.loads(line)["first_seq"], json.loads(line)["seq"]) for line in checkpoint_file.read_text().splitlines()]
    assert ranges == [(1, 4), (5, 8), (9, 10)]
    assert audit_verify().intact


def test_a_broken_chain_is_never_anchored(checkpoint_file):
    _events(3)
    with transaction.atomic():
        _owner_bypass()
        AuditEvent.objects.filter(seq=2).update(action="forged")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ALTER TABLE portal_auditevent ENABLE TRIGGER USER")
                cursor.execute("ALTER TABLE portal_auditchainhead ENABLE TRIGGER USER")
    with pytest.raises(RuntimeError, match="audit event #2 does not chain"):
        audit_checkpoint()
    assert not checkpoint_file.exists()


def test_checkpoints_are_written_only_outside_a_transaction(checkpoint_file):
    _events(2)
    with pytest.raises(RuntimeError, match="after commit"), transaction.atomic():
        audit_checkpoint()
    assert not checkpoint_file.exists() and not AuditCheckpoint.objects.exists()


def test_a_checkpoint_signed_with_another_key_is_reported(settings, checkpoint_file):
    _events(3)
    settings.AUDIT_CHECKPOINT_KEY = "a key the forger made up"
    settings.SECRET_KEY = "another secret key, so no derived key matches either"
    audit_checkpoint()
    settings.AUDIT_CHECKPOINT_KEY = "checkpoint-key-kept-outside-the-database"
    result = audit_verify()
    assert not result.intact and "does not carry a valid signature" in result.reason


def test_a_checkpoint_edited_in_the_store_is_reported(checkpoint_file):
    _events(3)
    audit_checkpoint()
    document = json.loads(checkpoint_file.read_text())
    document["seq"] = 2
    checkpoint_file.write_text(json.dumps(document) + "\n")
    result = audit_verify()
    assert not result.intact and "does not carry a valid signature" in result.reason


def test_events_after_the_last_checkpoint_verify_by_the_chain_alone():
    _events(5)
    audit_checkpoint()
    _events(2)
    result = audit_verify()
    assert (result.intact, result.checked, result.anchored) == (True, 7, 5)


def test_the_command_names_the_anchor_or_the_first_missing_event(capsys):
    _events(4)
    call_command("audit_verify")
    assert "none anchored yet" in capsys.readouterr().out
    audit_checkpoint()
    call_command("audit_verify")
    out = capsys.readouterr().out
    assert out.startswith("intact (4 events; 4 anchored by checkpoint #1-#4 signed ")

    class Undo(Exception):
        pass
    with pytest.raises(Undo), transaction.atomic():
        tamper("tail_delete_and_rewind", 3)
        with pytest.raises(Exception) as error:
            call_command("audit_verify")
        raise Undo
    assert "broken at event #3: event #3 is missing" in str(error.value)


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite has no TRUNCATE and no triggers here")
@pytest.mark.parametrize("table", ["portal_auditevent", "portal_auditchainhead"])
def test_postgres_refuses_to_truncate_the_audit_log(table):
    _events(2)
    with pytest.raises(DatabaseError, match="cannot be truncated"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {table} CASCADE")
    assert AuditEvent.objects.count() == 2


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the chain head guard is a PostgreSQL trigger")
def test_postgres_refuses_to_rewind_or_delete_the_chain_head():
    _events(3)
    with pytest.raises(DatabaseError, match="only moves forward"), transaction.atomic():
        AuditChainHead.objects.filter(id=1).update(last_seq=1, last_hash=AuditEvent.objects.get(seq=1).hash)
    with pytest.raises(DatabaseError, match="only moves forward"), transaction.atomic():
        AuditChainHead.objects.filter(id=1).update(last_seq=4, last_hash="f" * 64)
    with pytest.raises(DatabaseError, match="cannot be deleted"), transaction.atomic():
        AuditChainHead.objects.all().delete()
    assert AuditChainHead.objects.get(id=1).last_seq == 3


LOG_ARCHIVE = "222222222201"


@pytest.fixture
def locked_bucket(aws_endpoint, settings):
    """An Object Lock bucket (COMPLIANCE) in the sandbox's log-archive account, configured as the
    checkpoint store. Created with the portal's own AWS layer, as the platform team would."""
    import uuid

    from portal import aws

    bucket = f"portal-audit-{uuid.uuid4().hex[:10]}"
    aws.client("s3", LOG_ARCHIVE).create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    settings.AUDIT_CHECKPOINT_BUCKET, settings.AUDIT_CHECKPOINT_ACCOUNT_ID = bucket, LOG_ARCHIVE
    return aws.client("s3", LOG_ARCHIVE), bucket


def test_checkpoints_in_an_object_lock_bucket_are_locked_and_written_once(locked_bucket, settings):
    s3, bucket = locked_bucket
    _events(5)
    audit_checkpoint()
    audit_checkpoint()
    AuditCheckpoint.objects.update(anchored_at=None)
    audit_checkpoint()
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert [v["Key"] for v in versions] == [f"{settings.AUDIT_CHECKPOINT_PREFIX}{5:020d}.json"]
    retention = s3.get_object_retention(Bucket=bucket, Key=versions[0]["Key"], VersionId=versions[0]["VersionId"])
    assert retention["Retention"]["Mode"] == "COMPLIANCE"
    from botocore.exceptions import ClientError
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=bucket, Key=versions[0]["Key"], VersionId=versions[0]["VersionId"])
    result = audit_verify()
    assert (result.intact, result.anchored) == (True, 5)
    expected, result = _as_owner("tail_delete_and_rewind", 2)
    assert (result.intact, result.broken_seq) == (False, 2)


def test_an_overwritten_or_hidden_checkpoint_in_the_bucket_is_still_read(locked_bucket, settings):
    s3, bucket = locked_bucket
    _events(4)
    audit_checkpoint()
    key = f"{settings.AUDIT_CHECKPOINT_PREFIX}{4:020d}.json"
    s3.delete_object(Bucket=bucket, Key=key)        # a delete marker hides the latest version only
    expected, result = _as_owner("truncate", 1)
    assert (result.intact, result.broken_seq) == (False, 1)
    s3.put_object(Bucket=bucket, Key=key, Body=b'{"first_seq":1,"seq":0,"signature":"forged"}')
    result = audit_verify()
    assert not result.intact and f"s3://{bucket}/{key}?versionId=" in result.reason and "unreadable" in result.reason


def test_an_unreachable_checkpoint_store_is_reported_not_a_crash(settings, aws_endpoint):
    _events(2)
    settings.AUDIT_CHECKPOINT_BUCKET, settings.AUDIT_CHECKPOINT_ACCOUNT_ID = "no-such-audit-bucket", LOG_ARCHIVE
    result = audit_verify()
    assert not result.intact and "s3://no-such-audit-bucket/" in result.reason and "cannot be read" in result.reason
