"""AWS wire protocols: identify a request, parse its parameters, serialise results and errors.

Supported: ``json`` (1.1, ``X-Amz-Target``), ``smithy-rpc-v2-cbor`` (``/service/<Svc>/operation/<Op>``),
``query`` (``Action=``, XML answers) and ``rest-json``/``rest-xml`` routing by method + request URI.
Everything is driven by botocore's service models, so parameters arrive typed as botocore builds
them (timestamps as aware datetimes, blobs as bytes) and results are written with the output
shape's wire names and timestamp formats.

Serialisers write what the handler returned: members the shape does not know are passed through
unchanged (the fidelity checker flags them) instead of being silently dropped.
"""
from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from urllib.parse import unquote
from xml.sax.saxutils import escape

import botocore.session
import cbor2
from botocore.exceptions import UnknownServiceError
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.utils import parse_timestamp

from sandbox.core.errors import AwsError
from sandbox.core.registry import OPERATIONS

JSON = "json"
CBOR = "smithy-rpc-v2-cbor"
QUERY = "query"
REST_JSON = "rest-json"
REST_XML = "rest-xml"

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")
_CBOR_PATH = re.compile(r"^/service/([^/]+)/operation/([^/?]+)")
_SESSION = botocore.session.get_session()


# -- service models ---------------------------------------------------------------------------
@lru_cache(maxsize=None)
def service_model(service: str) -> ServiceModel | None:
    """botocore's model for ``service`` (a botocore service name), or None if botocore lacks it."""
    try:
        return _SESSION.get_service_model(service)
    except UnknownServiceError:
        return None


@lru_cache(maxsize=None)
def _services_by_target_prefix() -> dict[str, str]:
    """``targetPrefix`` -> service name over all of botocore's models. Slow (seconds): built only
    for a CBOR request whose service is neither registered nor named by its signing name."""
    index = {}
    for name in _SESSION.get_available_services():
        prefix = service_model(name).metadata.get("targetPrefix")
        if prefix:
            index.setdefault(prefix, name)
    return index


def _service_for(signing_name: str | None, target_prefix: str | None) -> str | None:
    """The botocore service a request is for. Usually its signing name ("organizations"); else a
    service the sandbox registers with that target prefix or signing name; else the signing name
    itself ("monitoring"), which is enough for moto to route the request."""
    if signing_name:
        model = service_model(signing_name)
        if model is not None and (target_prefix is None or model.metadata.get("targetPrefix") == target_prefix):
            return signing_name
    for name in sorted({service for service, _operation in OPERATIONS}):
        model = service_model(name)
        if model is None:
            continue
        if (model.metadata.get("targetPrefix") == target_prefix if target_prefix
                else model.signing_name == signing_name):
            return name
    return signing_name


# -- request identification -------------------------------------------------------------------
@dataclass
class ApiRequest:
    """What the front knows about an AWS request before running it."""
    service: str | None        # botocore service name ("organizations"), None if unknown
    region: str
    access_key: str | None
    protocol: str | None       # one of the constants above; None when botocore lacks the service
    operation: str | None      # "CreateAccount"; None when it could not be determined
    url_params: dict | None = None   # rest protocols: values of the request URI's labels

    @property
    def operation_model(self) -> OperationModel | None:
        model = service_model(self.service) if self.service else None
        if model is None or self.operation not in model.operation_names:
            return None
        return model.operation_model(self.operation)

    @property
    def label(self) -> str:
        return f"{self.service}:{self.operation}"


def identify(method: str, path: str, headers, form: dict, query: dict) -> ApiRequest:
    """Read service, region, caller key, protocol and operation from an HTTP request.

    ``headers`` is case-insensitive (werkzeug ``Headers``); ``form`` is the parsed
    url-encoded body and ``query`` the query string (both ``MultiDict``-like).
    """
    match = (_CREDENTIAL.search(headers.get("Authorization", ""))
             or _CREDENTIAL.search("Credential=" + query.get("X-Amz-Credential", "")))   # presigned URLs
    access_key, region, signing_name = (match.group(1), match.group(3), match.group(4)) if match else (None, "us-east-1", None)
    if match is None and query.get("AWSAccessKeyId") and query.get("Signature"):
        # S3 presigned URLs in signature version 2 (boto3's default for S3) name only the key
        access_key, signing_name = query.get("AWSAccessKeyId"), "s3"
    target = headers.get("X-Amz-Target")
    cbor_path = _CBOR_PATH.match(path)
    if headers.get("Smithy-Protocol") == "rpc-v2-cbor" and cbor_path:
        service = _service_for(signing_name, cbor_path.group(1))
        if service_model(service or "") is None:   # moto needs the model to get it as JSON
            service = _services_by_target_prefix().get(cbor_path.group(1), service)
        return ApiRequest(service, region, access_key, CBOR, cbor_path.group(2))
    if target and "." in target:
        prefix, operation = target.rsplit(".", 1)
        return ApiRequest(_service_for(signing_name, prefix), region, access_key, JSON, operation)
    action = form.get("Action") or query.get("Action")
    service = _service_for(signing_name, None)
    model = service_model(service) if service else None
    if action:
        return ApiRequest(service, region, access_key, QUERY, action)
    if model is None or model.protocol not in (REST_JSON, REST_XML):
        return ApiRequest(service, region, access_key, model.protocol if model else None, None)
    operation, url_params = _match_rest_route(model, method, path, query, headers)
    return ApiRequest(service, region, access_key, model.protocol, operation, url_params)


@lru_cache(maxsize=None)
def _rest_routes(service: str) -> list[tuple[int, str, str, re.Pattern, tuple[str, ...], tuple[str, ...], dict]]:
    """Per operation, most specific first: (specificity, method, name, path regex, required query
    keys, required headers, group -> label). S3's PutObject and CopyObject differ only by a header."""
    routes = []
    model = service_model(service)
    for name in model.operation_names:
        operation_model = model.operation_model(name)
        http = operation_model.http
        uri_path, _, uri_query = http["requestUri"].partition("?")
        labels, pattern, literal = {}, "", 0
        for piece in re.split(r"(\{[^}]+\})", uri_path):
            if piece.startswith("{"):
                label = piece[1:-1]
                greedy = label.endswith("+")
                label = label.rstrip("+")
                group = f"g{len(labels)}"
                labels[group] = label
                pattern += f"(?P<{group}>{'.+' if greedy else '[^/]+'})"
            else:
                pattern += re.escape(piece)
                literal += len(piece)
        required = tuple(part.split("=")[0] for part in uri_query.split("&") if part)
        shape = operation_model.input_shape
        headers = tuple(shape.members[member].serialization.get("name", member) for member in
                        (shape.required_members if shape is not None else [])
                        if shape.members[member].serialization.get("location") == "header")
        routes.append((literal + 100 * (len(required) + len(headers)), http["method"], name,
                       re.compile(f"^{pattern.rstrip('/')}/?$"), required, headers, labels))
    routes.sort(key=lambda route: -route[0])
    return routes


def _match_rest_route(model: ServiceModel, method: str, path: str, query, headers) -> tuple[str | None, dict | None]:
    for _score, route_method, name, regex, required, required_headers, labels in _rest_routes(model.service_name):
        if (route_method != method or any(key not in query for key in required)
                or any(header not in headers for header in required_headers)):
            continue
        found = regex.match(path)
        if found:
            return name, {labels[group]: unquote(value) for group, value in found.groupdict().items()}
    return None, None


# -- request parsing --------------------------------------------------------------------------
def _aware_timestamp(value) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        parsed = parse_timestamp(value)
    return parsed.astimezone(timezone.utc) if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def parse_params(api: ApiRequest, method: str, path: str, headers, values, body: bytes) -> dict:
    """The request's parameters as botocore would have built them; raises SerializationException."""
    operation_model = api.operation_model
    if operation_model is None or operation_model.input_shape is None:
        return {}
    shape = operation_model.input_shape
    try:
        if api.protocol == JSON:
            return _typed(shape, json.loads(body) if body else {}, base64.b64decode) or {}
        if api.protocol == CBOR:
            return _typed(shape, cbor2.loads(body) if body else {}, bytes) or {}
        return _parse_with_moto(api, operation_model, method, path, headers, values, body)
    except (ValueError, TypeError, AttributeError, KeyError, cbor2.CBORDecodeError) as error:
        raise AwsError("SerializationException", f"Could not parse the request: {error}") from error


def _typed(shape: Shape, value, decode_blob):
    """A decoded JSON/CBOR value typed by ``shape``: timestamps -> aware datetimes, blobs -> bytes.

    Members the shape does not know are dropped, as AWS ignores them.
    """
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return value
        return {name: _typed(member, value[member.serialization.get("name", name)], decode_blob)
                for name, member in shape.members.items()
                if value.get(member.serialization.get("name", name)) is not None}
    if kind == "list":
        return [_typed(shape.member, item, decode_blob) for item in value]
    if kind == "map":
        return {key: _typed(shape.value, item, decode_blob) for key, item in value.items()}
    if kind == "timestamp":
        return _aware_timestamp(value)
    if kind == "blob":
        return decode_blob(value)
    if kind in ("integer", "long", "short", "byte"):
        return int(value)
    if kind in ("float", "double"):
        return float(value)
    return value


def _parse_with_moto(api: ApiRequest, operation_model: OperationModel, method, path, headers, values, body):
    """Query and REST requests: moto's request parsers (the inverse of botocore's serialisers)."""
    from moto.core import parse as moto_parse
    from moto.core.utils import get_service_model as moto_service_model   # shapes with moto's extras

    parser_class = {QUERY: moto_parse.QueryParser, REST_JSON: moto_parse.RestJSONParser,
                    REST_XML: moto_parse.RestXMLParser}[api.protocol]
    moto_operation = moto_service_model(api.service).operation_model(operation_model.name)
    parser = parser_class(moto_operation, timestamp_parser=_aware_timestamp)
    return parser.parse({"method": method, "values": values, "headers": headers, "body": body,
                         "url_path": path, "url_params": api.url_params or {}})


# -- response serialisation -------------------------------------------------------------------
@dataclass
class HttpResponse:
    status: int
    headers: dict
    body: bytes


def request_id() -> str:
    return str(uuid.uuid4())


def _epoch(value: datetime) -> float | int:
    seconds = value.timestamp()
    return int(seconds) if seconds == int(seconds) else round(seconds, 3)


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _as_datetime(value):
    """Timestamps may be given as datetimes or ISO strings (how state stores them)."""
    if isinstance(value, str):
        try:
            return _aware_timestamp(value)
        except (ValueError, TypeError):
            return value
    return value


def _format_timestamp(value: datetime, fmt: str):
    if fmt == "unixTimestamp":
        return _epoch(value)
    if fmt == "rfc822":
        from email.utils import format_datetime
        return format_datetime(value.astimezone(timezone.utc), usegmt=True)
    return _iso(value)


def _passthrough(value):
    """A value outside the model, kept as close to what the handler gave as JSON allows."""
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _passthrough(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_passthrough(v) for v in value]
    return value


def _to_document(shape: Shape | None, value, *, binary: bool, default_ts: str):
    """Python value -> JSON/CBOR-ready value following ``shape``."""
    if value is None:
        return None
    if shape is None:
        return value if binary and isinstance(value, (bytes, datetime)) else _passthrough(value)
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        if shape.is_document_type:
            return _passthrough(value)
        out = {}
        for key, item in value.items():
            if item is None:
                continue
            member = shape.members.get(key)
            wire = member.serialization.get("name", key) if member is not None else key
            out[wire] = _to_document(member, item, binary=binary, default_ts=default_ts)
        return out
    if kind == "list" and isinstance(value, (list, tuple)):
        return [_to_document(shape.member, item, binary=binary, default_ts=default_ts) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _to_document(shape.value, v, binary=binary, default_ts=default_ts) for k, v in value.items()}
    if kind == "timestamp":
        value = _as_datetime(value)
        if isinstance(value, datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=timezone.utc)
            return value if binary else _format_timestamp(value, shape.serialization.get("timestampFormat", default_ts))
    if kind == "blob" and isinstance(value, (bytes, bytearray)):
        return bytes(value) if binary else base64.b64encode(value).decode()
    if kind in ("float", "double") and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value if binary else _passthrough(value)


def _json_bytes(document) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def _cbor_bytes(document) -> bytes:
    return cbor2.dumps(document, datetime_as_timestamp=True, timezone=timezone.utc)


def serialize_result(api: ApiRequest, result: dict) -> HttpResponse:
    """A successful answer for ``result`` in the request's protocol."""
    operation_model = api.operation_model
    shape = operation_model.output_shape if operation_model is not None else None
    rid = request_id()
    if api.protocol == QUERY:
        return HttpResponse(200, {"Content-Type": "text/xml", "x-amzn-RequestId": rid},
                            _query_result_xml(api, shape, result or {}, rid))
    if api.protocol == CBOR:
        document = _to_document(shape, result or {}, binary=True, default_ts="unixTimestamp") or {}
        return HttpResponse(200, {"Content-Type": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor",
                                  "x-amzn-RequestId": rid}, _cbor_bytes(document))
    if api.protocol == REST_JSON:
        return _rest_json_result(operation_model, shape, result or {}, rid)
    if api.protocol == REST_XML:
        return _rest_xml_result(api, operation_model, shape, result or {}, rid)
    document = _to_document(shape, result or {}, binary=False, default_ts="unixTimestamp") or {}
    return HttpResponse(200, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": rid},
                        _json_bytes(document))


def _rest_json_result(operation_model: OperationModel, shape: Shape | None, result: dict, rid: str) -> HttpResponse:
    status = operation_model.http.get("responseCode", 200)
    headers = {"Content-Type": "application/json", "x-amzn-RequestId": rid}
    body_values = dict(result)
    members = shape.members if shape is not None else {}
    for name, member in members.items():
        location = member.serialization.get("location")
        if name not in body_values or location is None:
            continue
        value = body_values.pop(name)
        if location == "statusCode":
            status = int(value)
        elif location == "header":
            headers[member.serialization.get("name", name)] = str(value)
        elif location == "headers":
            prefix = member.serialization.get("name", "")
            headers.update({prefix + key: str(item) for key, item in value.items()})
    payload = shape.serialization.get("payload") if shape is not None else None
    if payload:
        value = body_values.get(payload)
        member = members[payload]
        if member.type_name in ("blob", "string"):
            raw = value if isinstance(value, bytes) else (value or "").encode()
            return HttpResponse(status, headers, raw)
        document = _to_document(member, value or {}, binary=False, default_ts="unixTimestamp")
    else:
        document = _to_document(shape, body_values, binary=False, default_ts="unixTimestamp") or {}
    return HttpResponse(status, headers, _json_bytes(document))


def _rest_xml_result(api: ApiRequest, operation_model: OperationModel, shape: Shape | None, result: dict,
                     rid: str) -> HttpResponse:
    """rest-xml (S3): header members as headers; the payload structure, or the body members, as XML."""
    status = operation_model.http.get("responseCode", 200)
    headers = {"Content-Type": "application/xml", "x-amzn-RequestId": rid}
    body_values = dict(result)
    members = shape.members if shape is not None else {}
    for name, member in members.items():
        if name in body_values and member.serialization.get("location") == "header":
            headers[member.serialization.get("name", name)] = str(body_values.pop(name))
    namespace = service_model(api.service).metadata.get("xmlNamespace", "")
    namespace = namespace.get("uri", "") if isinstance(namespace, dict) else namespace
    payload = shape.serialization.get("payload") if shape is not None else None
    if payload:
        if body_values.get(payload) is None:
            return HttpResponse(status, headers, b"")
        member = members[payload]
        root = member.serialization.get("name", member.name)
        inner = "".join(_xml_members(member, body_values[payload]))
    elif any(name in body_values for name in members):
        root = shape.serialization.get("name", shape.name)
        inner = "".join(_xml_members(shape, {k: v for k, v in body_values.items() if k in members}))
    else:
        return HttpResponse(status, headers, b"")
    return HttpResponse(status, headers, f'<{root} xmlns="{namespace}">{inner}</{root}>'.encode())


def _xml_value(shape: Shape | None, name: str, value) -> str:
    """One XML element ``name`` for ``value`` (query protocol rules: lists as <member>, maps as <entry>)."""
    if value is None:
        return ""
    kind = shape.type_name if shape is not None else None
    if kind == "structure" or (shape is None and isinstance(value, dict)):
        inner = "".join(_xml_members(shape, value))
        return f"<{name}>{inner}</{name}>"
    if kind == "list" or (shape is None and isinstance(value, (list, tuple))):
        member_shape = shape.member if shape is not None else None
        member_name = member_shape.serialization.get("name", "member") if member_shape is not None else "member"
        items = "".join(_xml_value(member_shape, member_name, item) for item in value)
        return items if shape is not None and shape.serialization.get("flattened") else f"<{name}>{items}</{name}>"
    if kind == "map":
        entries = "".join(f"<entry>{_xml_value(shape.key, 'key', k)}{_xml_value(shape.value, 'value', v)}</entry>"
                          for k, v in value.items())
        return f"<{name}>{entries}</{name}>"
    if kind == "timestamp":
        value = _as_datetime(value)
        if isinstance(value, datetime):
            value = _format_timestamp(value, shape.serialization.get("timestampFormat", "iso8601"))
    elif kind == "blob" and isinstance(value, (bytes, bytearray)):
        value = base64.b64encode(value).decode()
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, datetime):
        value = _iso(value)
    return f"<{name}>{escape(str(value))}</{name}>"


def _xml_members(shape: Shape | None, value: dict):
    members = shape.members if shape is not None else {}
    for key, item in value.items():
        member = members.get(key)
        wire = member.serialization.get("name", key) if member is not None else key
        yield _xml_value(member, wire, item)


def _query_result_xml(api: ApiRequest, shape: Shape | None, result: dict, rid: str) -> bytes:
    namespace = service_model(api.service).metadata.get("xmlNamespace", "")
    wrapper = shape.serialization.get("resultWrapper", f"{api.operation}Result") if shape is not None else None
    inner = f"<{wrapper}>{''.join(_xml_members(shape, result))}</{wrapper}>" if wrapper else ""
    return (f'<{api.operation}Response xmlns="{namespace}">{inner}'
            f"<ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata>"
            f"</{api.operation}Response>").encode()


def _message_key(service: str | None, code: str) -> str:
    """The error shape's own spelling of its message member ("Message" or "message")."""
    model = service_model(service) if service else None
    if model is not None and code in model.shape_names:
        members = model.shape_for(code).members
        for candidate in ("message", "Message"):
            if candidate in members:
                return candidate
    return "message"


def serialize_error(api: ApiRequest | None, error: AwsError) -> HttpResponse:
    """An error answer botocore turns into the modelled exception with ``Error.Code == error.code``."""
    rid = request_id()
    protocol = api.protocol if api is not None else JSON
    service = api.service if api is not None else None
    if protocol == QUERY:
        namespace = service_model(service).metadata.get("xmlNamespace", "") if service_model(service) else ""
        fault = "Sender" if error.status < 500 else "Receiver"
        extra = "".join(_xml_value(None, key, value) for key, value in error.extra.items())
        body = (f'<ErrorResponse xmlns="{namespace}"><Error><Type>{fault}</Type><Code>{escape(error.code)}</Code>'
                f"<Message>{escape(error.message)}</Message>{extra}</Error><RequestId>{rid}</RequestId>"
                f"</ErrorResponse>").encode()
        return HttpResponse(error.status, {"Content-Type": "text/xml", "x-amzn-RequestId": rid}, body)
    document = {_message_key(service, error.code): error.message, **_passthrough(error.extra)}
    headers = {"x-amzn-RequestId": rid, "x-amzn-ErrorType": error.code}
    if protocol == CBOR:
        headers.update({"Content-Type": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor"})
        return HttpResponse(error.status, headers, _cbor_bytes({"__type": error.code, **document}))
    if protocol == REST_XML:
        body = (f"<Error><Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
                f"<RequestId>{rid}</RequestId></Error>").encode()
        return HttpResponse(error.status, {"Content-Type": "application/xml", "x-amzn-RequestId": rid}, body)
    if protocol == REST_JSON:
        headers["Content-Type"] = "application/json"
        return HttpResponse(error.status, headers, _json_bytes(document))
    headers["Content-Type"] = "application/x-amz-json-1.1"
    return HttpResponse(error.status, headers, _json_bytes({"__type": error.code, **document}))
