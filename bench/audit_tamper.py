"""Random tamperings of the audit log, of every kind, and whether ``audit_verify`` reports each one
at the first event that is missing or differs.

    .venv/bin/python bench/audit_tamper.py [--count 1000] [--events 60]

Builds a chain of ``--events`` events (the first 5/6 anchored by signed checkpoints), then for
each kind tampers ``--count`` times at random positions as the table owner would (triggers
disabled on PostgreSQL), verifies, and rolls the tampering back. Prints detected/total per kind.
Runs in a throw-away test database (DATABASE_URL's server, else embedded SQLite). tests/portal/
test_audit_anchor.py runs the same code with fewer tamperings.
"""
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # run as a script from anywhere
from bench.throwaway_db import throwaway_database

KINDS = ("truncate", "truncate_and_refill", "tail_delete_and_rewind", "recompute_from", "rewrite", "delete_one")


class _Undo(Exception):
    pass


def _owner_bypass():
    """Do what the tables' owner can: switch the append-only triggers off (this transaction only)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE portal_auditevent DISABLE TRIGGER USER")
            cursor.execute("ALTER TABLE portal_auditchainhead DISABLE TRIGGER USER")


def _set_head(seq: int, hash_: str) -> None:
    from portal.models import AuditChainHead

    AuditChainHead.objects.filter(id=1).update(last_seq=seq, last_hash=hash_)


def _recompute(start_seq: int) -> None:
    """Re-chain every event from ``start_seq`` on, as a forger who knows the hash function would."""
    from portal.audit import GENESIS_HASH, _event_hash
    from portal.models import AuditEvent

    previous = AuditEvent.objects.filter(seq=start_seq - 1).values_list("hash", flat=True).first() or GENESIS_HASH
    for event in AuditEvent.objects.filter(seq__gte=start_seq).order_by("seq"):
        event.prev_hash = previous
        event.hash = _event_hash(event)
        AuditEvent.objects.filter(pk=event.pk).update(prev_hash=event.prev_hash, hash=event.hash)
        previous = event.hash
    _set_head(*(AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first() or (0, GENESIS_HASH)))


def tamper(kind: str, position: int) -> int:
    """Apply one tampering of ``kind`` at event ``position``; return the event seq verification
    must name (the first one missing or different)."""
    from django.db import connection

    from portal.audit import GENESIS_HASH, audit_record
    from portal.models import AuditEvent
    from portal.permissions import SYSTEM

    _owner_bypass()
    if kind in ("truncate", "truncate_and_refill"):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE portal_auditevent")
        else:
            AuditEvent.objects.all().delete()
        _set_head(0, GENESIS_HASH)
        if kind == "truncate_and_refill":     # the application goes on writing a fresh chain
            for n in range(position):
                audit_record(actor=SYSTEM, action="forged.refill", target_type="t", target_id=str(n))
        return 1
    if kind == "tail_delete_and_rewind":
        AuditEvent.objects.filter(seq__gte=position).delete()
        _set_head(*(AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first() or (0, GENESIS_HASH)))
        return position
    if kind == "recompute_from":
        AuditEvent.objects.filter(seq=position).update(target_label=f"forged-{random.random()}")
        _recompute(position)
        return position
    if kind == "rewrite":
        AuditEvent.objects.filter(seq=position).update(action="forged.rewrite")
        return position
    if kind == "delete_one":
        AuditEvent.objects.filter(seq=position).delete()
        return position
    raise ValueError(kind)


def build_chain(events: int) -> int:
    """Write ``events`` audit events and anchor all but the last sixth; return the anchored count."""
    from django.db import transaction

    from portal.audit import audit_checkpoint, audit_record
    from portal.models import AuditEvent
    from portal.permissions import SYSTEM

    start = AuditEvent.objects.count()
    anchored_until = start + events - max(1, events // 6)
    for n in range(start, start + events):
        with transaction.atomic():
            audit_record(actor=SYSTEM, action="bench.event", target_type="thing", target_id=str(n),
                         after={"n": n, "note": "x" * (n % 7)})
        if n + 1 == anchored_until:
            audit_checkpoint()
    return anchored_until


def run(count: int, anchored: int, seed: int = 12) -> dict[str, tuple[int, int, list]]:
    """Tamper ``count`` times per kind at random anchored positions; verify each; undo it.
    Returns kind -> (detected at the right event, total, the first few misses)."""
    from django.db import transaction

    from portal.audit import audit_verify

    rng = random.Random(seed)
    assert audit_verify().intact, "the untouched chain must verify"
    outcome = {}
    for kind in KINDS:
        detected, misses = 0, []
        for _ in range(count):
            position = rng.randint(1, anchored)
            try:
                with transaction.atomic():
                    expected = tamper(kind, position)
                    result = audit_verify()
                    raise _Undo
            except _Undo:
                pass
            if not result.intact and result.broken_seq == expected:
                detected += 1
            elif len(misses) < 5:
                misses.append((position, result))
        outcome[kind] = (detected, count, misses)
    assert audit_verify().intact, "every tampering was undone"
    return outcome


def main(argv: list[str]) -> int:
    import argparse
    import time

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--events", type=int, default=60)
    args = parser.parse_args(argv)
    with throwaway_database() as connection:
        started = time.perf_counter()
        anchored = build_chain(args.events)
        outcome = run(args.count, anchored)
        for kind, (detected, total, misses) in outcome.items():
            print(f"{kind:24} {detected}/{total} detected at the first missing or different event"
                  + (f"  misses: {misses}" if misses else ""))
        detected = sum(d for d, _, _ in outcome.values())
        total = sum(t for _, t, _ in outcome.values())
        print(f"all kinds: {detected}/{total} = {100 * detected / total:.1f} % "
              f"({connection.vendor}, {args.events} events, {time.perf_counter() - started:.1f} s)")
        return 0 if detected == total else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
