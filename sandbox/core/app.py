"""The WSGI front: admin routes, caller identity, faults, and dispatch to the engine or to moto.

An AWS request goes: identify (service, region, operation, access key) -> caller account ->
scripted/random fault? -> the engine when the operation is registered, else moto when moto
implements it, else ``NotImplementedException`` (HTTP 501, in the protocol's error format).
One engine lock serialises handlers and moto calls alike.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import re
import traceback
from datetime import datetime
from urllib.parse import parse_qsl

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from sandbox.core import protocols
from sandbox.core.engine import Sandbox
from sandbox.core.errors import AwsError, internal_failure
from sandbox.core.moto_bridge import BRIDGE, cbor_to_json_call, json_answer_to_cbor, raw_call_from_environ
from sandbox.core.protocols import ApiRequest, HttpResponse
from sandbox.core.registry import OWNED_SERVICES
from sandbox.services.sts import resolve_caller

log = logging.getLogger("sandbox")

ADMIN_PREFIX = "/_sandbox/"


class SandboxApp:
    """WSGI application serving one ``Sandbox`` engine (plus the process's moto state)."""

    def __init__(self, engine: Sandbox):
        self.engine = engine

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path.startswith(ADMIN_PREFIX):
            response = self._admin(request)
        else:
            answer = self._aws(request)
            response = Response(answer.body, status=answer.status, headers=answer.headers)
        return response(environ, start_response)

    # -- AWS requests ---------------------------------------------------------------------------
    def _aws(self, request: Request) -> HttpResponse:
        body = request.get_data(cache=True)
        values = MultiDict(request.args)
        if request.mimetype == "application/x-www-form-urlencoded":
            values.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        api = protocols.identify(request.method, request.path, request.headers, values, request.args)
        try:
            caller = resolve_caller(self.engine, api.access_key)
            if caller.status != "ok":
                raise _credentials_error(caller.status, api.protocol)
            injected = self.engine.faults.before_call(api.service, api.operation)
            if injected is not None:
                return protocols.serialize_error(api, injected)
            answer = self._dispatch(request, api, values, body, caller.account_id)
        except AwsError as error:
            return protocols.serialize_error(api, error)
        except Exception:   # a bug in a handler or in moto: answer like AWS does, log the cause
            log.error("sandbox failure on %s\n%s", api.label, traceback.format_exc())
            return protocols.serialize_error(api, internal_failure())
        dropped = self.engine.faults.drops_response(api.service, api.operation)
        return protocols.serialize_error(api, dropped) if dropped is not None else answer

    def _dispatch(self, request: Request, api: ApiRequest, values, body: bytes, account_id: str) -> HttpResponse:
        if api.operation_model is not None and self.engine.implements(api.service, api.operation):
            params = protocols.parse_params(api, request.method, request.path, request.headers, values, body)
            result = self.engine.invoke(api.service, api.operation, params, account_id=account_id,
                                        region=api.region, access_key=api.access_key, source_ip=request.remote_addr)
            return protocols.serialize_result(api, result)
        if api.service not in OWNED_SERVICES and BRIDGE.implements(api, request.environ):
            return self._forward_to_moto(request, api, values, body, account_id)
        raise _not_implemented(api, request)

    def _forward_to_moto(self, request: Request, api: ApiRequest, values, body: bytes, account_id: str) -> HttpResponse:
        raw = raw_call_from_environ(request.environ, body, account_id, api)
        with self.engine.lock:
            try:
                if api.protocol == protocols.CBOR:
                    params = protocols.parse_params(api, request.method, request.path, request.headers, values, body)
                    raw = cbor_to_json_call(raw, api, params)
                    answer = json_answer_to_cbor(BRIDGE.run(raw), api)
                else:
                    answer = BRIDGE.run(raw)
            except NotImplementedError:
                raise _not_implemented(api, request) from None
            if _is_flask_error_page(answer):
                raise _not_implemented(api, request)
            if raw.mutating:
                self.engine.record_moto_call(raw, api.region, "ok" if answer.status < 300 else _error_code(answer),
                                             access_key=api.access_key, source_ip=request.remote_addr,
                                             request_parameters=_request_parameters(api, request, values, body))
        return answer

    # -- admin routes ---------------------------------------------------------------------------
    def _admin(self, request: Request) -> Response:
        if not _is_loopback(request.remote_addr):
            return _json({"message": "admin routes answer loopback clients only"}, 403)
        route = (request.method, request.path[len(ADMIN_PREFIX):].strip("/"))
        handler = {
            ("GET", "health"): self._health,
            ("GET", "config"): self._config_get,
            ("POST", "config"): self._config_post,
            ("GET", "faults"): self._faults_get,
            ("POST", "faults"): self._faults_post,
            ("DELETE", "faults"): self._faults_delete,
            ("GET", "ledger"): self._ledger,
            ("POST", "reset"): self._reset,
            ("GET", "clock"): self._clock_get,
            ("POST", "clock"): self._clock_post,
        }.get(route)
        if handler is None:
            return _json({"message": f"no admin route {request.method} {request.path}"}, 404)
        try:
            payload = request.get_json(silent=True) if request.method == "POST" else None
            return handler(request, payload or {})
        except (ValueError, TypeError) as error:
            return _json({"message": str(error)}, 400)

    def _health(self, request, payload):
        return _json({"status": "ok"})

    def _config_get(self, request, payload):
        return _json(self.engine.config.as_dict())

    def _config_post(self, request, payload):
        with self.engine.lock:
            self.engine.config.update(payload)
        return _json(self.engine.config.as_dict())

    def _faults_get(self, request, payload):
        return _json({"faults": self.engine.faults.pending()})

    def _faults_post(self, request, payload):
        return _json(self.engine.faults.add(payload), 201)

    def _faults_delete(self, request, payload):
        self.engine.faults.clear()
        return _json({"faults": []})

    def _ledger(self, request, payload):
        """Mutating calls, filtered by service, operation, account, key and since (a seq or ISO time)."""
        filters = {name: request.args[name] for name in ("service", "operation", "account", "key") if name in request.args}
        since = request.args.get("since")
        with self.engine.lock:
            entries = [entry for entry in self.engine.ledger
                       if all(str(entry.get(name)) == value for name, value in filters.items())
                       and _after(entry, since)]
        return _json({"entries": entries})

    def _reset(self, request, payload):
        self.engine.reset()
        return _json({"status": "reset"})

    def _clock_get(self, request, payload):
        return _json({"now": self.engine.now().isoformat()})

    def _clock_post(self, request, payload):
        self.engine.advance_clock(float(payload.get("advance_seconds", 0)))
        return _json({"now": self.engine.now().isoformat()})


def _request_parameters(api: ApiRequest, request: Request, values, body: bytes) -> dict | None:
    """The request members of a call moto answered, roughly as CloudTrail's requestParameters show them."""
    if api.protocol == protocols.QUERY:
        return {key: value for key, value in values.items() if key not in ("Action", "Version")}
    if api.protocol in (protocols.JSON, protocols.REST_JSON) and body:
        try:
            document = json.loads(body)
        except ValueError:
            return None
        return document if isinstance(document, dict) else None
    if api.service == "s3":
        bucket, _, key = request.path.lstrip("/").partition("/")
        return {"bucketName": bucket, **({"key": key} if key else {})}
    return None


def _not_implemented(api: ApiRequest, request: Request) -> AwsError:
    name = api.label if api.operation else f"{api.service or 'unknown'}:{request.method} {request.path}"
    return AwsError("NotImplementedException", f"The sandbox does not implement {name}.", status=501)


def _is_flask_error_page(answer: HttpResponse) -> bool:
    """moto's Flask app has no route (404) or failed (500): an HTML page, so moto lacks the operation.

    An empty body is a real answer: moto's HEAD errors (S3 HeadBucket/HeadObject 404 or 403)
    carry Flask's default text/html type but, like AWS's, no body.
    """
    return (answer.status >= 400 and "text/html" in answer.headers.get("Content-Type", "")
            and bool(answer.body.strip()))


def _credentials_error(status: str, protocol: str | None) -> AwsError:
    """AWS's answer to expired or unknown temporary credentials, as each protocol family spells it."""
    query = protocol == protocols.QUERY
    if status == "expired":
        return AwsError("ExpiredToken" if query else "ExpiredTokenException",
                        "The security token included in the request is expired", status=400)
    return AwsError("InvalidClientTokenId" if query else "UnrecognizedClientException",
                    "The security token included in the request is invalid.", status=403)


def _after(entry: dict, since: str | None) -> bool:
    if not since:
        return True
    if since.isdigit():
        return entry["seq"] > int(since)
    return datetime.fromisoformat(entry["time"]) >= datetime.fromisoformat(since)


def _error_code(answer: HttpResponse) -> str:
    """The error code of a moto answer, for the ledger (JSON ``__type``, XML ``<Code>``, else the status)."""
    header = answer.headers.get("x-amzn-ErrorType", "")
    if header:
        return header.split(":")[0]
    found = re.search(rb'"__type"\s*:\s*"(?:[^"#]*#)?([^"]+)"|<Code>([^<]+)</Code>', answer.body)
    return (found.group(1) or found.group(2)).decode() if found else f"HTTP{answer.status}"


def _is_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


def _json(document, status: int = 200) -> Response:
    return Response(json.dumps(document, default=str), status=status, mimetype="application/json")
