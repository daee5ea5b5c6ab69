"""How long ``audit_verify`` takes for a large audit log anchored by signed checkpoints.

    .venv/bin/python bench/audit_verify.py [--events 1000000]

Writes ``--events`` chained events straight into a throw-away test database (bulk inserts with the
same hashes ``audit_record`` computes; DATABASE_URL's server, else embedded SQLite), anchors them
with ``audit_checkpoint`` (checkpoints of AUDIT_CHECKPOINT_MAX_EVENTS events in a temporary file),
then times ``audit_verify`` and prints events per second.
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # run as a script from anywhere
from bench.throwaway_db import throwaway_database


def fill(events: int, batch: int = 5000) -> None:
    """Bulk-insert ``events`` chained events and move the chain head to the last one."""
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from portal.audit import GENESIS_HASH, _event_hash
    from portal.models import AuditChainHead, AuditEvent

    previous, start = GENESIS_HASH, timezone.now() - timedelta(days=365)
    for first in range(1, events + 1, batch):
        rows = []
        for seq in range(first, min(events, first + batch - 1) + 1):
            event = AuditEvent(seq=seq, occurred_at=start + timedelta(seconds=seq), actor_label="bench",
                               action="bench.event", target_type="thing", target_id=str(seq % 977),
                               target_label=f"thing {seq % 977}", before=None,
                               after={"n": seq, "state": "AVAILABLE"}, request_id=f"req-{seq}", prev_hash=previous)
            event.hash = previous = _event_hash(event)
            rows.append(event)
        with transaction.atomic():
            AuditEvent.objects.bulk_create(rows)
    with transaction.atomic():
        AuditChainHead.objects.update_or_create(id=1, defaults={"last_seq": events, "last_hash": previous})


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    with throwaway_database() as connection:
        from portal.audit import audit_checkpoint, audit_verify

        if connection.vendor == "postgresql":   # bench only: the head trigger wants one step at a time
            with connection.cursor() as cursor:
                cursor.execute("ALTER TABLE portal_auditchainhead DISABLE TRIGGER USER")
        started = time.perf_counter()
        fill(args.events)
        filled = time.perf_counter()
        checkpoints = audit_checkpoint()
        anchored = time.perf_counter()
        result = audit_verify()
        verified = time.perf_counter()
        assert result.intact and result.checked == result.anchored == args.events, result
        print(f"{connection.vendor}: wrote {args.events:,} events in {filled - started:.1f} s; "
              f"{checkpoints} checkpoints in {anchored - filled:.1f} s")
        print(f"audit_verify: {args.events:,} events checked against {checkpoints} checkpoints in "
              f"{verified - anchored:.1f} s ({args.events / (verified - anchored):,.0f} events/s)")
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
