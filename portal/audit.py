"""The audit log: append-only, hash-chained events written in the caller's transaction.

Every service that changes something calls ``audit_record`` inside its ``transaction.atomic``
block, so the change and its audit event commit or roll back together. ``audit_checkpoint``
anchors the chain outside the database (signed checkpoints, ``portal.audit_anchor``) and
``audit_verify`` checks the database against the chain and those checkpoints.
"""
import hashlib
import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal import audit_anchor
from portal.context import current_ip_address, current_request_id
from portal.models import AuditChainHead, AuditCheckpoint, AuditEvent

GENESIS_HASH = "0" * 64


def _normalise(value):
    """The JSON form the database will hand back, so hashes verify after a round trip."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True))


def _event_hash(event: AuditEvent) -> str:
    payload = {
        "seq": event.seq, "occurred_at": event.occurred_at.isoformat(), "actor_id": event.actor_id,
        "actor_label": event.actor_label, "action": event.action, "target_type": event.target_type,
        "target_id": event.target_id, "target_label": event.target_label, "team_id": event.team_id,
        "before": event.before, "after": event.after, "ip_address": event.ip_address,
        "request_id": event.request_id, "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _locked_chain_head() -> AuditChainHead:
    """The chain head, locked for this transaction (created race-free if a flush removed it)."""
    try:
        return AuditChainHead.objects.select_for_update().get(id=1)
    except AuditChainHead.DoesNotExist:
        AuditChainHead.objects.bulk_create([AuditChainHead(id=1)], ignore_conflicts=True)
        return AuditChainHead.objects.select_for_update().get(id=1)


def audit_record(*, actor, action: str, target=None, target_type: str = "", target_id: str = "",
                 target_label: str = "", team=None, before: dict | None = None,
                 after: dict | None = None) -> AuditEvent:
    """Append one event to the chain. Must run inside the caller's atomic block.

    Locks the chain head row, so concurrent writers queue and the chain stays linear.
    ``actor`` is a user, or ``SYSTEM``/None for work no person started. ``target`` fills type/id/label.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must be called inside the service's transaction.atomic block")
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
        target_label = target_label or str(target)[:200]
    person = actor if actor is not None and actor.is_authenticated and actor.pk is not None else None
    head = _locked_chain_head()
    event = AuditEvent(
        seq=head.last_seq + 1, occurred_at=timezone.now(), actor=person,
        actor_label=person.get_username() if person else "system",
        action=action, target_type=target_type, target_id=target_id, target_label=target_label,
        team=team, before=_normalise(before), after=_normalise(after),
        ip_address=current_ip_address(), request_id=current_request_id(), prev_hash=head.last_hash,
    )
    event.hash = _event_hash(event)
    event.save(force_insert=True)
    head.last_seq, head.last_hash = event.seq, event.hash
    head.save(update_fields=["last_seq", "last_hash"])
    return event


@dataclass
class VerifyResult:
    intact: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""
    anchored: int = 0                  # events covered by signed checkpoints
    last_checkpoint: str = ""          # the newest checkpoint's label


def _verify_against(checkpoints: list[audit_anchor.Checkpoint], batch_size: int) -> VerifyResult:
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    anchored = max((c.seq for c in checkpoints), default=0)
    pending, active = list(reversed(checkpoints)), []     # pending: by first_seq, popped from the end

    def broken(seq, reason):
        return VerifyResult(False, checked, seq, reason, anchored)

    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=batch_size):
        if event.seq != expected_seq:
            return broken(expected_seq, f"event #{expected_seq} is missing")
        if event.prev_hash != expected_prev:
            return broken(event.seq, "its previous-hash does not match the event before it")
        if _event_hash(event) != event.hash:
            return broken(event.seq, "its content does not match its hash")
        if active or pending:
            while pending and pending[-1].first_seq <= event.seq:
                active.append(pending.pop())
            active = [c for c in active if c.seq >= event.seq]
            for checkpoint in active:
                if checkpoint.digest(event.seq) != event.hash[:audit_anchor.DIGEST_CHARS] or (
                        checkpoint.seq == event.seq and checkpoint.hash != event.hash):
                    return broken(event.seq, f"it differs from what {checkpoint.label()} anchored "
                                             "(rewritten with its hashes recomputed, or replaced by a new chain)")
        expected_prev, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    if checked < anchored:
        holder = next((c for c in checkpoints if c.first_seq <= checked + 1 <= c.seq),
                      max(checkpoints, key=lambda c: c.seq))
        return broken(checked + 1, f"event #{checked + 1} is missing; {holder.label()} anchored it "
                                   f"(events #{checked + 1}-#{anchored} were removed)")
    head = AuditChainHead.objects.filter(id=1).first()
    if head and head.last_seq != checked:
        return broken(checked + 1, f"the chain head says {head.last_seq} events exist")
    last = max(checkpoints, key=lambda c: c.seq).label() if checkpoints else ""
    return VerifyResult(True, checked, anchored=anchored, last_checkpoint=last)


def audit_verify(batch_size: int = 2000) -> VerifyResult:
    """Recompute the chain from the first event and compare it with every signed checkpoint in
    the store; report the first event that is missing or differs. Reads only."""
    try:
        checkpoints = audit_anchor.load()
    except audit_anchor.CheckpointError as error:
        return VerifyResult(False, 0, None, str(error))
    return _verify_against(checkpoints, batch_size)


def _claim_checkpoints() -> None:
    """Claim checkpoints for the events not yet covered, each at most AUDIT_CHECKPOINT_MAX_EVENTS
    long, after checking that those events still chain. One transaction; another run that claimed
    the same range first makes this one a no-op."""
    now = timezone.now()
    with transaction.atomic():
        last = AuditCheckpoint.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        previous = AuditEvent.objects.filter(seq=last).first() if last else None
        expected_prev = previous.hash if previous else GENESIS_HASH
        head_seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        while last < head_seq:
            end = min(head_seq, last + settings.AUDIT_CHECKPOINT_MAX_EVENTS)
            events = list(AuditEvent.objects.filter(seq__gt=last, seq__lte=end).order_by("seq"))
            for offset, event in enumerate(events, start=last + 1):
                if event.seq != offset or event.prev_hash != expected_prev or _event_hash(event) != event.hash:
                    raise RuntimeError(f"audit event #{offset} does not chain; run audit_verify (nothing anchored)")
                expected_prev = event.hash
            if len(events) != end - last:
                raise RuntimeError(f"audit event #{last + len(events) + 1} is missing; run audit_verify")
            document = audit_anchor.sign(
                first_seq=last + 1, seq=end, hash=events[-1].hash, time=now.isoformat(),
                digests="".join(e.hash[:audit_anchor.DIGEST_CHARS] for e in events))
            AuditCheckpoint.objects.create(first_seq=last + 1, seq=end, document=document, created_at=now)
            last = end


def audit_checkpoint() -> int:
    """Anchor the chain: claim checkpoints for new events (committed first), then write every
    claimed, not yet anchored checkpoint to the store and mark it anchored. Idempotent: a
    sequence the store already holds is not written again. Returns the checkpoints written.
    Must run outside any transaction: the store is written only after the claim commits."""
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_checkpoint writes to the store after commit: call it outside transaction.atomic")
    try:
        _claim_checkpoints()
    except IntegrityError:
        pass    # a concurrent run claimed the same range; it is written below or by that run
    target, written = audit_anchor.store(), 0
    for checkpoint in AuditCheckpoint.objects.filter(anchored_at__isnull=True).order_by("seq"):
        written += target.write(checkpoint.seq, checkpoint.document)
        AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(anchored_at=timezone.now())
    return written
