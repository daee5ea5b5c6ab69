"""The state file (``SANDBOX_STATE_FILE``): the sandbox survives restarts.

After every mutating call the engine's state, ledger, clock offset and the journal of mutating
calls moto answered are written atomically (temporary file + rename). At start the file is
loaded if present and the journal replayed into moto (moto has no save/load of its own);
otherwise the deterministic seed is built and written.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import timedelta

from sandbox.core.engine import Sandbox

FORMAT_VERSION = 1
log = logging.getLogger("sandbox.persistence")


def attach_state_file(engine: Sandbox, path: str) -> None:
    """Restore ``engine`` from ``path`` (or seed it) and save it there after each change.
    An empty ``path`` means in-memory only: the engine is just seeded."""
    if not path:
        engine.reseed()
        return
    if os.path.exists(path):
        load(engine, path)
    else:
        engine.reseed()
        save(engine, path)
    engine.on_change = lambda changed: save(changed, path)


def save(engine: Sandbox, path: str) -> None:
    """Write the engine's durable state to ``path`` atomically."""
    with engine.lock:
        document = {
            "version": FORMAT_VERSION, "state": engine.state, "ledger": engine.ledger,
            "clock_offset_seconds": engine.clock_offset.total_seconds(), "moto_journal": engine.moto_journal,
        }
        directory = os.path.dirname(os.path.abspath(path))
        handle, temporary = tempfile.mkstemp(prefix=".sandbox-state-", dir=directory)
        try:
            with os.fdopen(handle, "w") as stream:
                json.dump(document, stream, separators=(",", ":"))
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise


def load(engine: Sandbox, path: str) -> None:
    """Replace the engine's state with the file's and replay moto's journal."""
    from sandbox.core.moto_bridge import BRIDGE, RawCall

    with open(path) as stream:
        document = json.load(stream)
    if document.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path}: unsupported sandbox state format {document.get('version')!r}")
    with engine.lock:
        engine.state = document["state"]
        engine.ledger = document["ledger"]
        engine.clock_offset = timedelta(seconds=document["clock_offset_seconds"])
        engine.moto_journal = document["moto_journal"]
        for entry in engine.moto_journal:
            answer = BRIDGE.run(RawCall.from_json(entry))
            if answer.status >= 300:
                log.warning("replaying %s into moto failed with HTTP %s", entry.get("label"), answer.status)
