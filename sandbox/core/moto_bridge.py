"""moto's server application, in-process: what the sandbox does not implement itself goes here.

moto keeps its state in module globals, so there is one bridge per process (``BRIDGE``). moto is
imported on first use, which keeps the sandbox's start fast. Requests carry
``x-moto-account-id`` so each caller lands in its own account's backend.
"""
from __future__ import annotations

import base64
import importlib
import io
import os
import threading
from dataclasses import dataclass
from urllib.parse import urlencode

from botocore.response import StreamingBody

from sandbox.core import protocols
from sandbox.core.errors import AwsError
from sandbox.core.protocols import ApiRequest, HttpResponse
from sandbox.core.registry import is_mutating_name

# Hop-by-hop or per-connection headers, not worth keeping in the journal.
_UNJOURNALED_HEADERS = {"host", "content-length", "connection", "accept-encoding", "user-agent",
                        "transfer-encoding", "expect", "amz-sdk-invocation-id", "amz-sdk-request"}
_FAKE_SIGNATURE = ("AWS4-HMAC-SHA256 Credential=sandbox/20250101/{region}/{service}/aws4_request, "
                   "SignedHeaders=host, Signature=0")


@dataclass
class RawCall:
    """One HTTP request as moto receives it: enough to run it again after a restart."""
    method: str
    path: str
    query_string: str
    headers: dict[str, str]
    body: bytes
    account_id: str
    label: str = ""                       # "s3:PutObject" when known, for the ledger
    mutating: bool = False

    def to_json(self) -> dict:
        return {"method": self.method, "path": self.path, "query_string": self.query_string,
                "headers": self.headers, "body": base64.b64encode(self.body).decode(),
                "account_id": self.account_id, "label": self.label}

    @classmethod
    def from_json(cls, data: dict) -> "RawCall":
        return cls(data["method"], data["path"], data["query_string"], dict(data["headers"]),
                   base64.b64decode(data["body"]), data["account_id"], data.get("label", ""), True)

    def environ(self) -> dict:
        from werkzeug.test import EnvironBuilder

        builder = EnvironBuilder(path=self.path, method=self.method, query_string=self.query_string,
                                 headers={**self.headers, "x-moto-account-id": self.account_id},
                                 data=self.body, base_url="http://localhost")
        try:
            return builder.get_environ()
        finally:
            builder.close()


class MotoBridge:
    """Forwards requests to moto and answers "does moto implement this operation?"."""

    def __init__(self):
        self._app = None
        self._lock = threading.Lock()

    @property
    def app(self):
        with self._lock:
            if self._app is None:
                # S3 as AWS has it without bucket policies (which moto does not evaluate): another
                # account's bucket answers 403 AccessDenied, not its contents.
                os.environ.setdefault("MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS", "false")
                from moto.server import DomainDispatcherApplication, create_backend_app
                self._app = DomainDispatcherApplication(create_backend_app)
            return self._app

    # -- capability -------------------------------------------------------------------------
    def implements(self, api: ApiRequest, environ: dict) -> bool:
        """True when moto has the operation (RPC protocols), or routes the request itself (REST)."""
        if api.protocol not in (protocols.JSON, protocols.CBOR, protocols.QUERY):
            return True
        if api.operation is None:
            return False
        backend = self._backend_name(api, environ)
        if backend is None:
            return False
        method = _snake_case(api.operation)
        return any(method in _attributes(cls) for cls in _response_classes(backend))

    def _backend_name(self, api: ApiRequest, environ: dict) -> str | None:
        app = self.app
        probe = dict(environ)
        if api.protocol == protocols.CBOR:   # moto only knows the JSON flavour of these services
            probe["HTTP_X_AMZ_TARGET"] = f"{protocols.service_model(api.service).metadata['targetPrefix']}.x"
        host = app.infer_service_region_host(probe, probe.get("PATH_INFO", ""))
        return app.get_backend_for_host(host) if host else None

    # -- running requests -------------------------------------------------------------------
    def run(self, call: RawCall) -> HttpResponse:
        """Run one request through moto and collect its answer."""
        from werkzeug.test import run_wsgi_app

        app_iter, status, headers = run_wsgi_app(self.app, call.environ())
        try:
            body = b"".join(app_iter)
        finally:
            if hasattr(app_iter, "close"):
                app_iter.close()
        status_code = int(status.split(" ", 1)[0])
        return HttpResponse(status_code, {k: v for k, v in headers.items()}, body)

    def call(self, service: str, operation: str, params: dict, *, account_id: str,
             region: str) -> tuple[dict, RawCall]:
        """Invoke a moto operation in-process with botocore's own serialiser and parser.

        Returns the parsed result and the raw call (for the journal); raises ``AwsError``.
        """
        from botocore.parsers import create_parser
        from botocore.serialize import create_serializer

        model = protocols.service_model(service)
        operation_model = model.operation_model(operation)
        protocol = model.resolved_protocol
        request = create_serializer(protocol, include_validation=True).serialize_to_request(
            params, operation_model)
        headers = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in request["headers"].items()}
        headers["Authorization"] = _FAKE_SIGNATURE.format(region=region, service=model.signing_name)
        body = request["body"]
        if isinstance(body, dict):   # query protocol: a form
            body = urlencode(body, doseq=True)
        body = body.encode() if isinstance(body, str) else (body or b"")
        if protocol == protocols.QUERY:
            headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
        # rest-xml (S3) puts sub-resources in the path ("/bucket?retention"): moto reads them from the query.
        path, _, inline_query = request["url_path"].partition("?")
        query = "&".join(part for part in (inline_query, urlencode(request["query_string"], doseq=True)) if part)
        raw = RawCall(request["method"], path, query, headers, body, account_id, f"{service}:{operation}",
                      is_mutating_name(operation))
        answer = self.run(raw)
        body = answer.body
        if operation_model.has_streaming_output and answer.status < 300:
            body = StreamingBody(io.BytesIO(answer.body), len(answer.body))
        parsed = create_parser(protocol).parse(
            {"status_code": answer.status, "headers": answer.headers, "body": body},
            operation_model.output_shape)
        if answer.status >= 300:
            raise _error_of(parsed, answer.status)
        parsed.pop("ResponseMetadata", None)
        return parsed, raw

    def reset(self) -> None:
        """Forget everything moto holds (all services, all accounts)."""
        if self._app is not None:
            self.run(RawCall("POST", "/moto-api/reset", "", {}, b"", "", "moto:reset"))


def raw_call_from_environ(environ: dict, body: bytes, account_id: str, api: ApiRequest) -> RawCall:
    """The journal form of a live request (its body already read)."""
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").title()
        elif key in ("CONTENT_TYPE",):
            name = "Content-Type"
        else:
            continue
        if name.lower() not in _UNJOURNALED_HEADERS and name.lower() != "x-moto-account-id":
            headers[name] = value
    mutating = (is_mutating_name(api.operation) if api.protocol in (protocols.JSON, protocols.CBOR, protocols.QUERY)
                else environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD", "OPTIONS"))
    return RawCall(environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/"),
                   environ.get("QUERY_STRING", ""), headers, body, account_id,
                   api.label if api.operation else f"{api.service}:{environ.get('REQUEST_METHOD')}", mutating)


def cbor_to_json_call(call: RawCall, api: ApiRequest, params: dict) -> RawCall:
    """moto speaks only JSON 1.1 for CBOR services: re-encode a CBOR request for it."""
    from botocore.serialize import create_serializer

    request = create_serializer(protocols.JSON, include_validation=False).serialize_to_request(
        params, api.operation_model)
    headers = {k: v for k, v in call.headers.items() if k.lower() not in ("smithy-protocol", "content-type", "accept")}
    headers.update({k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in request["headers"].items()})
    return RawCall("POST", "/", "", headers, request["body"] or b"{}", call.account_id, call.label, call.mutating)


def json_answer_to_cbor(answer: HttpResponse, api: ApiRequest) -> HttpResponse:
    """moto's JSON answer to a transcoded CBOR request, re-encoded as CBOR."""
    from botocore.parsers import create_parser

    operation_model = api.operation_model
    parsed = create_parser(protocols.JSON).parse(
        {"status_code": answer.status, "headers": answer.headers, "body": answer.body},
        operation_model.output_shape)
    if answer.status >= 300:
        return protocols.serialize_error(api, _error_of(parsed, answer.status))
    parsed.pop("ResponseMetadata", None)
    return protocols.serialize_result(api, parsed)


def _error_of(parsed: dict, status: int) -> AwsError:
    """The AwsError a botocore-parsed moto error answer stands for."""
    error = parsed.get("Error", {})
    return AwsError(error.get("Code") or "InternalFailure", error.get("Message", ""), status=status)


def _attributes(cls) -> set[str]:
    names = set()
    for klass in cls.__mro__:
        names.update(vars(klass))
    return names


def _response_classes(backend: str) -> list[type]:
    """moto's response classes serving ``backend`` (read from its urls module)."""
    from moto.backends import ALT_SERVICE_NAMES

    try:
        urls = importlib.import_module(f"moto.{ALT_SERVICE_NAMES.get(backend, backend)}.urls")
    except ImportError:
        return []
    return [handler.__self__ for handler in urls.url_paths.values() if isinstance(getattr(handler, "__self__", None), type)]


def _snake_case(name: str) -> str:
    from moto.core.utils import camelcase_to_underscores
    return camelcase_to_underscores(name)


BRIDGE = MotoBridge()
