"""Signed checkpoints of the audit chain, anchored outside the database (like CloudTrail digests).

A checkpoint covers events ``first_seq..seq``: the full hash of event ``seq`` and the first
``DIGEST_CHARS`` hex characters of every event hash in the range (to name the first event that
differs). It is signed with HMAC-SHA256 under ``AUDIT_CHECKPOINT_KEY`` (or a key derived from
``DJANGO_SECRET_KEY``), never with anything the database holds, and appended to a store the
application cannot rewrite: an S3 bucket with Object Lock in COMPLIANCE mode
(``AUDIT_CHECKPOINT_BUCKET``, boto3 calls in ``portal.aws``) or, for the embedded default, a local
append-only file (``AUDIT_CHECKPOINT_FILE``).
"""
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

DIGEST_CHARS = 16
_VERSION = 1


class CheckpointError(Exception):
    """A checkpoint in the store is unreadable, unsigned by a known key, or contradicts another."""


@dataclass(frozen=True)
class Checkpoint:
    first_seq: int
    seq: int
    hash: str
    time: str
    digests: str          # DIGEST_CHARS hex characters per event, first_seq..seq
    where: str            # where the store keeps it (file line, S3 key and version)

    def digest(self, seq: int) -> str:
        start = (seq - self.first_seq) * DIGEST_CHARS
        return self.digests[start:start + DIGEST_CHARS]

    def label(self) -> str:
        return f"checkpoint #{self.first_seq}-#{self.seq} signed {self.time}"


def _keys() -> list[bytes]:
    """Signing keys, the current one first: AUDIT_CHECKPOINT_KEY, then ones derived from the secret keys."""
    materials = [settings.AUDIT_CHECKPOINT_KEY] if settings.AUDIT_CHECKPOINT_KEY else []
    derived = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    materials += [f"portal-audit-checkpoint:{m}" for m in derived]
    return [hashlib.sha256(m.encode()).digest() for m in dict.fromkeys(materials)]


def _canonical(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def sign(*, first_seq: int, seq: int, hash: str, time: str, digests: str) -> str:
    """The signed document (one line of JSON) for a checkpoint. No side effects."""
    body = {"v": _VERSION, "first_seq": first_seq, "seq": seq, "hash": hash, "time": time, "digests": digests}
    body["signature"] = hmac.new(_keys()[0], _canonical(body), hashlib.sha256).hexdigest()
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def parse(document: str, where: str) -> Checkpoint:
    """The checkpoint in ``document``. Raises CheckpointError unless a known key signed it."""
    try:
        body = json.loads(document)
        signature = body.pop("signature")
        checkpoint = Checkpoint(int(body["first_seq"]), int(body["seq"]), str(body["hash"]), str(body["time"]),
                                str(body["digests"]), where)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise CheckpointError(f"the checkpoint at {where} is unreadable ({error})") from None
    if not any(hmac.compare_digest(hmac.new(key, _canonical(body), hashlib.sha256).hexdigest(), str(signature))
               for key in _keys()):
        raise CheckpointError(f"the checkpoint at {where} does not carry a valid signature")
    if len(checkpoint.digests) != (checkpoint.seq - checkpoint.first_seq + 1) * DIGEST_CHARS:
        raise CheckpointError(f"the checkpoint at {where} has {len(checkpoint.digests)} digest characters "
                              f"for events #{checkpoint.first_seq}-#{checkpoint.seq}")
    return checkpoint


class FileStore:
    """The embedded default: one signed document per line, only ever opened for appending."""

    def __init__(self, path: str):
        self.path = Path(path)

    def _lines(self):
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, line.strip()

    def documents(self) -> list[tuple[str, str]]:
        """Every (where, document) in the file, in the order written. Raises CheckpointError when
        the file cannot be read."""
        try:
            return [(f"{self.path}:{number}", line) for number, line in self._lines()]
        except (OSError, UnicodeDecodeError) as error:
            raise CheckpointError(f"the checkpoint file {self.path} cannot be read ({error})") from None

    def has(self, seq: int) -> bool:
        marker = f'"seq":{seq},'
        return any(marker in line for _, line in self._lines())

    def write(self, seq: int, document: str) -> bool:
        """Append ``document`` (fsynced) unless a checkpoint for ``seq`` is already there."""
        if self.has(seq):
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(descriptor, (document + "\n").encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        return True


class S3Store:
    """An S3 bucket with Object Lock (COMPLIANCE, versioned) in the log-archive account: one
    object per checkpoint; every version is read back, so an overwrite or a delete marker hides nothing."""

    def __init__(self, bucket: str, prefix: str, account_id: str | None):
        self.bucket, self.prefix, self.account_id = bucket, prefix, account_id or None

    def key(self, seq: int) -> str:
        return f"{self.prefix}{seq:020d}.json"

    def documents(self) -> list[tuple[str, str]]:
        """Every version of every checkpoint object. Raises CheckpointError when S3 does not answer."""
        from portal import aws

        try:
            return aws.audit_checkpoint_documents(self.bucket, self.prefix, self.account_id)
        except aws.AWS_ERRORS as error:
            raise CheckpointError(f"the checkpoints in s3://{self.bucket}/{self.prefix} cannot be read ({error})") from None

    def has(self, seq: int) -> bool:
        from portal import aws

        return aws.audit_checkpoint_exists(self.bucket, self.key(seq), self.account_id)

    def write(self, seq: int, document: str) -> bool:
        """Put ``document`` under COMPLIANCE retention unless ``seq`` is already anchored."""
        from portal import aws

        if self.has(seq):
            return False
        aws.audit_checkpoint_put(self.bucket, self.key(seq), document, self.account_id,
                                 retain_days=settings.AUDIT_CHECKPOINT_RETENTION_DAYS)
        return True


def store() -> FileStore | S3Store:
    """The configured checkpoint store: S3 when AUDIT_CHECKPOINT_BUCKET is set, else the file."""
    if settings.AUDIT_CHECKPOINT_BUCKET:
        return S3Store(settings.AUDIT_CHECKPOINT_BUCKET, settings.AUDIT_CHECKPOINT_PREFIX,
                       settings.AUDIT_CHECKPOINT_ACCOUNT_ID)
    return FileStore(settings.AUDIT_CHECKPOINT_FILE)


def load() -> list[Checkpoint]:
    """Every checkpoint in the store, signatures checked, identical copies once, sorted by range.
    Reads the store only. Raises CheckpointError for a bad one."""
    seen, checkpoints = set(), []
    for where, document in store().documents():
        checkpoint = parse(document, where)
        identity = (checkpoint.first_seq, checkpoint.seq, checkpoint.hash, checkpoint.digests)
        if identity not in seen:
            seen.add(identity)
            checkpoints.append(checkpoint)
    return sorted(checkpoints, key=lambda c: (c.first_seq, c.seq))
