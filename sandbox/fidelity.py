"""A strict checker of raw AWS responses against botocore's output shapes.

botocore's parser keeps only what it knows and never checks enums, so a response can be wrong
and still parse. ``attach(client, violations)`` hooks the client's ``before-parse`` event and
walks the raw body (JSON 1.1, rest-json, smithy-rpc-v2-cbor, query XML) against the operation's
output shape, appending a message to ``violations`` for every unknown key, value outside its
enum, missing required member or value of the wrong type. Error responses are checked for a
code and, when the code is a modelled error shape, for unknown members. rest-xml (S3, answered
by moto) is not checked.
"""
from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from xml.etree import ElementTree

import cbor2
from botocore.model import OperationModel, Shape
from botocore.utils import parse_timestamp

_ERROR_ENVELOPE = {"__type", "message", "Message", "code", "Code"}
# Members botocore's model calls required that AWS itself leaves out, as its documentation shows:
# DescribeModelPackage of a versioned package has no ModelPackageName (SageMaker developer guide,
# "View the Details of a Model Version").
_AWS_OMITS = {("DescribeModelPackageOutput", "ModelPackageName")}


def attach(client, violations: list[str]) -> None:
    """Check every response ``client`` receives; problems are appended to ``violations``."""
    def check(operation_model: OperationModel, response_dict: dict, **_kwargs) -> None:
        violations.extend(check_response(operation_model, response_dict))

    client.meta.events.register("before-parse", check)


def check_response(operation_model: OperationModel, response_dict: dict) -> list[str]:
    """Problems of one raw response (``status_code``, ``headers``, ``body``) for ``operation_model``."""
    service = operation_model.service_model
    protocol = _answered_protocol(service.resolved_protocol, response_dict["headers"])
    label = f"{service.service_name}.{operation_model.name}"
    found: list[str] = []
    walker = _Walker(label, protocol, found)
    body = response_dict["body"] or b""
    try:
        if response_dict["status_code"] >= 300:
            walker.error(service, body, response_dict["headers"])
        elif protocol == "query":
            walker.query(operation_model, body)
        elif protocol in ("json", "rest-json", "smithy-rpc-v2-cbor"):
            walker.document(operation_model, body)
    except (ValueError, ElementTree.ParseError, cbor2.CBORDecodeError) as error:
        found.append(f"{label}: body is not valid {protocol}: {error}")
    return found


def _answered_protocol(requested: str, headers) -> str:
    """The protocol of the answer: servers may answer CBOR requests in CBOR only."""
    content_type = headers.get("content-type", "")
    return "smithy-rpc-v2-cbor" if "cbor" in content_type else requested


class _Walker:
    def __init__(self, label: str, protocol: str, found: list[str]):
        self.label = label
        self.protocol = protocol
        self.found = found

    def problem(self, path: str, text: str) -> None:
        self.found.append(f"{self.label}: {path or '<root>'}: {text}")

    # -- documents (JSON, CBOR) -------------------------------------------------------------------
    def decode(self, body: bytes):
        if not body:
            return {}
        return cbor2.loads(body) if self.protocol == "smithy-rpc-v2-cbor" else json.loads(body)

    def document(self, operation_model: OperationModel, body: bytes) -> None:
        shape = operation_model.output_shape
        value = self.decode(body)
        if shape is None:
            if value not in ({}, None):
                self.problem("", f"operation has no output but the body is {value!r}")
            return
        payload = shape.serialization.get("payload")
        if payload:
            member = shape.members[payload]
            if member.type_name == "structure":
                self.value(member, value, payload)
            return
        body_shape_members = {name: member for name, member in shape.members.items()
                              if "location" not in member.serialization}
        self.structure(shape, value, "", body_shape_members)

    def structure(self, shape: Shape, value, path: str, members: dict | None = None) -> None:
        if not isinstance(value, dict):
            self.problem(path, f"expected an object for {shape.name}, got {type(value).__name__}")
            return
        if shape.is_document_type:
            return
        members = shape.members if members is None else members
        by_wire = {member.serialization.get("name", name): (name, member) for name, member in members.items()}
        for key, item in value.items():
            if key not in by_wire:
                self.problem(_join(path, key), f"unknown key (not a member of {shape.name})")
                continue
            name, member = by_wire[key]
            if item is None:
                continue
            self.value(member, item, _join(path, key))
        for required in shape.required_members:
            wire = shape.members[required].serialization.get("name", required)
            if required in members and value.get(wire) is None and (shape.name, required) not in _AWS_OMITS:
                self.problem(_join(path, wire), f"required member of {shape.name} is missing")
        if shape.is_tagged_union and len([v for v in value.values() if v is not None]) != 1:
            self.problem(path, f"union {shape.name} must have exactly one member set")

    def value(self, shape: Shape, value, path: str) -> None:
        kind = shape.type_name
        if kind == "structure":
            self.structure(shape, value, path)
        elif kind == "list":
            if not isinstance(value, list):
                self.problem(path, f"expected a list, got {type(value).__name__}")
                return
            for index, item in enumerate(value):
                self.value(shape.member, item, f"{path}[{index}]")
        elif kind == "map":
            if not isinstance(value, dict):
                self.problem(path, f"expected a map, got {type(value).__name__}")
                return
            for key, item in value.items():
                self.scalar(shape.key, key, f"{path}<key>")
                self.value(shape.value, item, f"{path}[{key!r}]")
        else:
            self.scalar(shape, value, path)

    def scalar(self, shape: Shape, value, path: str) -> None:
        kind = shape.type_name
        if kind == "string":
            if not isinstance(value, str):
                self.problem(path, f"expected a string, got {type(value).__name__}")
            elif shape.enum and value not in shape.enum:
                self.problem(path, f"{value!r} is not a valid {shape.name} (one of {list(shape.enum)})")
        elif kind in ("integer", "long", "short", "byte"):
            if isinstance(value, bool) or not isinstance(value, int):
                self.problem(path, f"expected an integer, got {value!r}")
        elif kind in ("float", "double"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.problem(path, f"expected a number, got {value!r}")
        elif kind == "boolean":
            if not isinstance(value, bool):
                self.problem(path, f"expected a boolean, got {value!r}")
        elif kind == "timestamp":
            self.timestamp(shape, value, path)
        elif kind == "blob":
            self.blob(value, path)

    def timestamp(self, shape: Shape, value, path: str) -> None:
        if self.protocol == "smithy-rpc-v2-cbor":
            if not isinstance(value, (datetime, int, float)) or isinstance(value, bool):
                self.problem(path, f"expected a CBOR timestamp (tag 1), got {value!r}")
            return
        fmt = shape.serialization.get("timestampFormat", "unixTimestamp")
        if fmt == "unixTimestamp":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.problem(path, f"expected epoch seconds, got {value!r}")
        elif not isinstance(value, str) or not _parses_as_time(value):
            self.problem(path, f"expected a {fmt} timestamp string, got {value!r}")

    def blob(self, value, path: str) -> None:
        if self.protocol == "smithy-rpc-v2-cbor":
            if not isinstance(value, bytes):
                self.problem(path, f"expected CBOR bytes, got {type(value).__name__}")
            return
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError):
            self.problem(path, "expected base64 text")

    # -- query XML ------------------------------------------------------------------------------
    def query(self, operation_model: OperationModel, body: bytes) -> None:
        root = ElementTree.fromstring(body)
        expected_root = f"{operation_model.name}Response"
        if _local(root.tag) != expected_root:
            self.problem("", f"root element is {_local(root.tag)}, expected {expected_root}")
            return
        shape = operation_model.output_shape
        wrapper = shape.serialization.get("resultWrapper") if shape is not None else None
        for child in root:
            if _local(child.tag) == "ResponseMetadata":
                continue
            if shape is None or _local(child.tag) != wrapper:
                self.problem(_local(child.tag), "unknown element")
                continue
            self.xml_structure(shape, child, "")

    def xml_structure(self, shape: Shape, element, path: str) -> None:
        by_wire = {member.serialization.get("name", name): (name, member) for name, member in shape.members.items()}
        seen = set()
        for child in element:
            key = _local(child.tag)
            if key not in by_wire:
                self.problem(_join(path, key), f"unknown element (not a member of {shape.name})")
                continue
            seen.add(key)
            self.xml_value(by_wire[key][1], child, _join(path, key))
        for required in shape.required_members:
            wire = shape.members[required].serialization.get("name", required)
            if wire not in seen:
                self.problem(_join(path, wire), f"required member of {shape.name} is missing")

    def xml_value(self, shape: Shape, element, path: str) -> None:
        kind = shape.type_name
        if kind == "structure":
            self.xml_structure(shape, element, path)
        elif kind == "list":
            member_name = shape.member.serialization.get("name", "member")
            for index, child in enumerate(element):
                if _local(child.tag) != member_name:
                    self.problem(f"{path}[{index}]", f"list items must be <{member_name}>, got <{_local(child.tag)}>")
                    continue
                self.xml_value(shape.member, child, f"{path}[{index}]")
        elif kind == "map":
            for index, entry in enumerate(element):
                for part in entry:
                    part_shape = shape.key if _local(part.tag) == "key" else shape.value
                    self.xml_value(part_shape, part, f"{path}[{index}].{_local(part.tag)}")
        else:
            self.xml_scalar(shape, element.text or "", path)

    def xml_scalar(self, shape: Shape, text: str, path: str) -> None:
        kind = shape.type_name
        if kind == "string" and shape.enum and text not in shape.enum:
            self.problem(path, f"{text!r} is not a valid {shape.name} (one of {list(shape.enum)})")
        elif kind in ("integer", "long", "short", "byte") and not text.lstrip("-").isdigit():
            self.problem(path, f"expected an integer, got {text!r}")
        elif kind == "boolean" and text not in ("true", "false"):
            self.problem(path, f"expected true or false, got {text!r}")
        elif kind == "timestamp" and not _parses_as_time(text):
            self.problem(path, f"expected a timestamp, got {text!r}")
        elif kind in ("float", "double"):
            try:
                float(text)
            except ValueError:
                self.problem(path, f"expected a number, got {text!r}")

    # -- errors ---------------------------------------------------------------------------------
    def error(self, service_model, body: bytes, headers) -> None:
        if self.protocol == "query":
            root = ElementTree.fromstring(body)
            code = root.find(".//{*}Code")
            if code is None or not (code.text or "").strip():
                self.problem("Error.Code", "error response without a code")
            return
        if self.protocol == "rest-xml":
            return
        document = self.decode(body)
        if not isinstance(document, dict):
            self.problem("", f"error body is not an object: {document!r}")
            return
        code = document.get("__type") or document.get("code") or headers.get("x-amzn-errortype", "")
        code = code.split(":")[0].rsplit("#", 1)[-1]
        if not code:
            self.problem("__type", "error response without a code")
            return
        if code in service_model.shape_names:
            shape = service_model.shape_for(code)
            members = {name for name in shape.members} | {m.serialization.get("name", n) for n, m in shape.members.items()}
            for key in document:
                if key not in members and key not in _ERROR_ENVELOPE:
                    self.problem(key, f"unknown member of error {code}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parses_as_time(text: str) -> bool:
    try:
        parse_timestamp(text)
        return True
    except (ValueError, TypeError):
        return False
