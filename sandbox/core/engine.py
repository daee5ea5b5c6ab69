"""The sandbox engine: state, clock, ledger and dispatch to registered handlers, without HTTP.

``Sandbox.invoke`` is what the HTTP front calls after parsing a request, and what tests and
handlers (through ``ctx.call``) use directly. Every invocation runs under one lock, so a handler
sees and changes state atomically; idempotency therefore needs no further locking.
"""
from __future__ import annotations

import copy
import hashlib
import importlib
import json
import os
import pkgutil
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sandbox.core.errors import AwsError
from sandbox.core.faults import Faults
from sandbox.core.registry import OPERATIONS, SEEDERS

DEFAULT_REGION = "us-east-1"


def _jsonable(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def params_hash(params: dict) -> str:
    return hashlib.sha256(json.dumps(_jsonable(params), sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Config:
    """Durations and fault rates; changed from the environment and the admin route."""
    provision_seconds: float = 8.0        # Service Catalog record: CREATED -> IN_PROGRESS -> done
    account_seconds: float = 20.0         # Organizations CreateAccount / Account Factory
    domain_seconds: float = 5.0           # SageMaker domain/user profile/project Pending -> InService
    endpoint_seconds: float = -1.0        # SageMaker endpoint Creating/Updating/Deleting; < 0: domain_seconds
    export_seconds: float = 2.0           # model card export job
    throttle_rate: float = 0.0            # share of calls answered with a throttling error
    error_5xx_rate: float = 0.0           # share of calls answered with an internal error
    max_concurrent_account_operations: int = 5   # Organizations CreateAccount requests in flight
    max_accounts: int = 50                # accounts per organization (AWS default 10, raised here)
    event_webhook_url: str = ""
    event_webhook_header: str = "X-Portal-Event-Secret"
    event_webhook_secret: str = ""

    @classmethod
    def from_env(cls, environ=None) -> "Config":
        """Defaults overridden by ``SANDBOX_<FIELD>`` variables (``SANDBOX_5XX_RATE`` for error_5xx_rate)."""
        environ = os.environ if environ is None else environ
        config = cls()
        for name in config.as_dict():
            variable = "SANDBOX_5XX_RATE" if name == "error_5xx_rate" else f"SANDBOX_{name.upper()}"
            if environ.get(variable, "") != "":
                config.update({name: environ[variable]})
        return config

    def update(self, values: dict) -> None:
        for name, value in values.items():
            if not hasattr(self, name):
                raise ValueError(f"unknown sandbox setting {name!r}")
            current = getattr(self, name)
            setattr(self, name, type(current)(value))

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Context:
    """What a handler sees: the calling account and region, the state and the engine's helpers."""
    sandbox: "Sandbox"
    account_id: str
    region: str
    service: str
    operation: str
    access_key: str | None = None    # the caller's access key id (None for internal and test calls)
    source_ip: str | None = None     # the HTTP client's address (None for internal and test calls)
    notes: dict = field(default_factory=dict)
    changed: bool = False            # a read that advanced time-based state sets this (persisted)

    def mark_changed(self) -> None:
        """Say that this (read) call changed state, e.g. settled due records, so it is persisted."""
        self.changed = True

    @property
    def state(self) -> dict:
        """This service's state for all accounts: a JSON-serialisable dict the handler shapes."""
        return self.sandbox.state.setdefault(self.service, {})

    def service_state(self, service: str) -> dict:
        return self.sandbox.state.setdefault(service, {})

    @property
    def config(self) -> Config:
        return self.sandbox.config

    def now(self) -> datetime:
        return self.sandbox.now()

    def new_id(self, prefix: str, length: int = 13, alphabet: str = "0123456789abcdefghijklmnopqrstuvwxyz") -> str:
        """A deterministic id (same seed + same call sequence -> same ids), e.g. ``pp-x1y2...``."""
        return self.sandbox.new_id(prefix, length, alphabet)

    def call(self, service: str, operation: str, params: dict, *, account_id: str | None = None,
             region: str | None = None) -> dict:
        """Invoke another registered operation in-process (no faults, not ledgered)."""
        return self.sandbox.invoke(service, operation, params, account_id=account_id or self.account_id,
                                   region=region or self.region, internal=True, access_key=self.access_key)

    def call_moto(self, service: str, operation: str, params: dict, *, account_id: str | None = None,
                  region: str | None = None) -> dict:
        """Invoke an operation moto implements (e.g. S3 PutObject), in-process, in the caller's
        account by default. Mutating calls are journaled, so they survive a restart. Raises AwsError."""
        return self.sandbox.call_moto(service, operation, params, account_id=account_id or self.account_id,
                                      region=region or self.region)

    def take_fault(self, kind: str, service: str | None = None, subject: str | None = None) -> dict | None:
        """Consume one scripted fault of ``kind`` (e.g. "record_failure") aimed at this call.

        Matches faults for ``service`` (default: this handler's) and this operation, whose
        ``subject`` (if the fault names one) equals ``subject``. Returns the fault
        (``code``, ``message``, ...) or None; each hit uses up one of its ``count``.
        """
        return self.sandbox.faults.take(kind, service or self.service, self.operation, subject)

    def ledger_note(self, *, key: str | None = None, effect: bool | None = None, **extra) -> None:
        """Annotate this call's ledger entry: its idempotency/natural key and whether it changed state."""
        if key is not None:
            self.notes["key"] = key
        if effect is not None:
            self.notes["effect"] = effect
        self.notes.update(extra)

    def meter_start(self, resource_arn: str, *, service_name: str, usage_type: str, hourly_usd: float,
                    tags: dict[str, str], account_id: str | None = None, region: str | None = None) -> None:
        """Start accruing cost for a resource (Cost Explorer reads the meters). Idempotent per ARN."""
        meters = self.sandbox.state.setdefault("meters", {})
        if resource_arn not in meters:
            meters[resource_arn] = {
                "account": account_id or self.account_id, "region": region or self.region,
                "service": service_name, "usage_type": usage_type, "hourly_usd": hourly_usd,
                "tags": dict(tags), "start": self.now().isoformat(), "end": None,
            }

    def meter_stop(self, resource_arn: str) -> None:
        meter = self.sandbox.state.setdefault("meters", {}).get(resource_arn)
        if meter and meter["end"] is None:
            meter["end"] = self.now().isoformat()

    def emit_event(self, *, source: str, detail_type: str, detail: dict, resources: list[str]) -> None:
        """Queue an EventBridge-format event for delivery to the configured webhook after this call."""
        self.sandbox.queue_event(self, source=source, detail_type=detail_type, detail=detail,
                                 resources=resources)


class Sandbox:
    """State and dispatch. One instance per running sandbox (HTTP server or test)."""

    def __init__(self, config: Config | None = None, seed: bool = True):
        load_services()
        self.config = config or Config()
        self.lock = threading.RLock()
        self.state: dict = {}
        self.ledger: list[dict] = []
        self.pending_events: list[dict] = []
        self.clock_offset = timedelta(0)
        self.moto_journal: list[dict] = []   # mutating calls moto answered, replayed at start
        self.faults = Faults(self.config)
        self.on_change = None     # callback(sandbox) after each mutating call (persistence)
        self.on_events = None     # callback(list[event]) after a call that emitted events
        if seed:
            self.reseed()

    # -- clock and ids -------------------------------------------------------------------
    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.clock_offset

    def new_id(self, prefix: str, length: int, alphabet: str) -> str:
        counter = self.state.setdefault("_ids", {"n": 0})
        counter["n"] += 1
        digest = hashlib.sha256(f"{prefix}:{counter['n']}".encode()).digest()
        body = "".join(alphabet[b % len(alphabet)] for b in digest)
        while len(body) < length:
            body += body
        return prefix + body[:length]

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox clock forward (asynchronous work appears to progress)."""
        with self.lock:
            self.clock_offset += timedelta(seconds=seconds)
            self._changed()

    # -- seeding -------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything, moto's state included, and build the boot seed again."""
        with self.lock:
            from sandbox.core.moto_bridge import BRIDGE
            BRIDGE.reset()
            self.clock_offset = timedelta(0)
            self.faults.clear()
            self.reseed()
            self._changed()

    def reseed(self) -> None:
        """Replace the sandbox's own state (not moto's) with the deterministic boot seed."""
        with self.lock:
            self.state = {}
            self.ledger = []
            self.moto_journal = []
            for _order, _name, fn in SEEDERS:
                fn(Context(self, account_id="", region=DEFAULT_REGION, service=_service_of(fn),
                           operation="seed"))

    # -- dispatch ------------------------------------------------------------------------
    def implements(self, service: str, operation: str) -> bool:
        return (service, operation) in OPERATIONS

    def invoke(self, service: str, operation: str, params: dict, *, account_id: str,
               region: str = DEFAULT_REGION, internal: bool = False, access_key: str | None = None,
               source_ip: str | None = None) -> dict:
        op = OPERATIONS.get((service, operation))
        if op is None:
            raise AwsError("NotImplementedException",
                           f"The sandbox does not implement {service}:{operation}.", status=501)
        with self.lock:
            ctx = Context(self, account_id=account_id, region=region, service=service, operation=operation,
                          access_key=access_key, source_ip=source_ip)
            snapshot = copy.deepcopy(self.state) if op.mutating and not internal else None
            queued_before = len(self.pending_events)
            try:
                result = op.handler(ctx, params)
            except AwsError as error:
                del self.pending_events[queued_before:]   # a failed call emits nothing
                if snapshot is not None:
                    self.state = snapshot   # a failed call leaves nothing half-done
                    self._record(op, ctx, params, outcome=error.code, message=error.message)
                raise
            except Exception:
                del self.pending_events[queued_before:]
                if snapshot is not None:
                    self.state = snapshot
                raise
            if op.mutating and not internal:
                self._record(op, ctx, params, outcome="ok", result=result)
                self._changed()
            elif ctx.changed and not internal:
                self._changed()
            events, self.pending_events = (self.pending_events, []) if not internal else ([], self.pending_events)
        if events and self.on_events:
            self.on_events(events)
        return result

    def call_moto(self, service: str, operation: str, params: dict, *, account_id: str, region: str) -> dict:
        """See ``Context.call_moto``."""
        from sandbox.core.moto_bridge import BRIDGE

        with self.lock:
            result, raw = BRIDGE.call(service, operation, params, account_id=account_id, region=region)
            if raw.mutating:
                self.journal_moto(raw)
            return result

    def journal_moto(self, raw) -> None:
        """Keep a mutating call moto answered successfully, to replay it into moto at the next start."""
        with self.lock:
            self.moto_journal.append(raw.to_json())
            self._changed()

    def record_moto_call(self, raw, region: str, outcome: str, *, access_key: str | None = None,
                         source_ip: str | None = None, request_parameters: dict | None = None) -> None:
        """Ledger a mutating HTTP call moto answered ("ok" or its error code); journal it if it succeeded."""
        with self.lock:
            service, _, operation = raw.label.partition(":")
            params = {"path": raw.path, "query": raw.query_string, "body": raw.body}
            trail = trail_record(self, raw.account_id, access_key, source_ip, request_parameters, None, outcome, None)
            self._append_ledger(service, operation, raw.account_id, region, None, params, outcome, outcome == "ok",
                                {"trail": trail})
            if outcome == "ok":
                self.moto_journal.append(raw.to_json())
            self._changed()

    def _changed(self) -> None:
        if self.on_change:
            self.on_change(self)

    def _record(self, op, ctx: Context, params: dict, outcome: str, result: dict | None = None,
                message: str | None = None) -> None:
        key = ctx.notes.pop("key", None)
        if key is None and op.key is not None:
            key = op.key(params)
        effect = ctx.notes.pop("effect", outcome == "ok")
        trail = trail_record(self, ctx.account_id, ctx.access_key, ctx.source_ip, params, result, outcome, message)
        self._append_ledger(op.service, op.name, ctx.account_id, ctx.region, key, params, outcome, effect,
                            {**ctx.notes, "trail": trail})

    def _append_ledger(self, service, operation, account_id, region, key, params, outcome, effect, extra):
        self.ledger.append({
            "seq": len(self.ledger) + 1, "time": self.now().isoformat(), "service": service,
            "operation": operation, "account": account_id, "region": region, "key": key,
            "params_hash": params_hash(params), "outcome": outcome, "effect": effect, **extra,
        })

    def queue_event(self, ctx: Context, *, source, detail_type, detail, resources) -> None:
        self.pending_events.append({
            "version": "0", "id": self.new_id("", 32, "0123456789abcdef"), "detail-type": detail_type,
            "source": source, "account": ctx.account_id,
            "time": self.now().strftime("%Y-%m-%dT%H:%M:%SZ"), "region": ctx.region,
            "resources": resources, "detail": _jsonable(detail),
        })


# Members CloudTrail never shows in requestParameters/responseElements (secrets).
_REDACTED = {"SecretAccessKey", "SessionToken", "Password", "Body", "Content", "PolicyDocument"}
_TRAIL_STRING_LIMIT = 256


def _trail_value(value, depth: int = 0):
    """A small JSON copy of request/response members for the CloudTrail record: secrets and blobs
    dropped, long strings cut, nesting capped (the ledger is persisted after every call)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    if isinstance(value, str):
        return value if len(value) <= _TRAIL_STRING_LIMIT else value[:_TRAIL_STRING_LIMIT] + "..."
    if depth >= 4:
        return None if isinstance(value, (dict, list, tuple)) else value
    if isinstance(value, dict):
        return {str(k): _trail_value(v, depth + 1) for k, v in value.items()
                if k not in _REDACTED and not isinstance(v, bytes)}
    if isinstance(value, (list, tuple)):
        return [_trail_value(v, depth + 1) for v in list(value)[:20]]
    return value


def trail_record(sandbox: "Sandbox", account_id: str, access_key: str | None, source_ip: str | None,
                 request: dict | None, response: dict | None, outcome: str, message: str | None) -> dict:
    """What CloudTrail needs of one ledgered call, fixed at call time: who called (resolved from the
    access key now, as AWS records it), from where, and the request and response members."""
    from sandbox.services.sts import resolve_caller   # services import the engine's modules, not reverse

    caller = resolve_caller(sandbox, access_key) if access_key else None
    if caller is None:
        identity = {"type": "Root", "arn": f"arn:aws:iam::{account_id}:root", "account": account_id,
                    "principal": account_id}
    elif caller.session is not None:
        session = caller.session
        identity = {"type": "AssumedRole", "arn": caller.arn, "account": caller.account_id,
                    "principal": caller.user_id, "role_arn": session["RoleArn"],
                    "session_name": session["SessionName"], "issued": session.get("Issued")}
    elif ":user/" in caller.arn:
        identity = {"type": "IAMUser", "arn": caller.arn, "account": caller.account_id,
                    "principal": caller.user_id, "user_name": caller.arn.rsplit("/", 1)[-1]}
    else:
        identity = {"type": "Root", "arn": caller.arn, "account": caller.account_id, "principal": caller.user_id}
    return {
        "identity": identity, "access_key": access_key, "source_ip": source_ip or "AWS Internal",
        "request": _trail_value(request) if request is not None else None,
        "response": _trail_value(response) if (response is not None and outcome == "ok") else None,
        "error_message": message if outcome != "ok" else None,
    }


def load_services() -> None:
    """Import every module of ``sandbox.services`` (importing registers operations and seeders)."""
    import sandbox.services

    for module in pkgutil.iter_modules(sandbox.services.__path__):
        importlib.import_module(f"sandbox.services.{module.name}")


def _service_of(fn) -> str:
    """Seeder module ``sandbox.services.sagemaker_cards`` seeds service ``sagemaker``."""
    return fn.__module__.rsplit(".", 1)[-1].split("_")[0]
