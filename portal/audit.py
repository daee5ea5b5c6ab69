"""The audit log: append-only, hash-chained events written in the caller's transaction.

Every service that changes something calls ``audit_record`` inside its ``transaction.atomic``
block, so the change and its audit event commit or roll back together.
"""
import hashlib
import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from portal.context import current_ip_address, current_request_id
from portal.models import AuditChainHead, AuditEvent

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


def audit_verify(batch_size: int = 2000) -> VerifyResult:
    """Recompute the chain from the first event; report the first event that does not fit."""
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    queryset = AuditEvent.objects.order_by("seq")
    for event in queryset.iterator(chunk_size=batch_size):
        if event.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, f"event #{expected_seq} is missing")
        if event.prev_hash != expected_prev:
            return VerifyResult(False, checked, event.seq, "its previous-hash does not match the event before it")
        if _event_hash(event) != event.hash:
            return VerifyResult(False, checked, event.seq, "its content does not match its hash")
        expected_prev, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = AuditChainHead.objects.filter(id=1).first()
    if head and head.last_seq != checked:
        return VerifyResult(False, checked, checked + 1, f"the chain head says {head.last_seq} events exist")
    return VerifyResult(True, checked)
