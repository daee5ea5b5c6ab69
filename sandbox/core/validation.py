"""Server-side input validation from botocore's model: what AWS checks but botocore does not
(``max`` lengths and values, ``pattern``, ``enum``; AWS_API.md §0).

``input_violations`` lists every violation; ``check_input`` raises the AWS-style error
(``1 validation error detected: Value 'x' at 'accountName' failed to satisfy constraint: ...``).
Services whose validation error is not ``ValidationException`` map the violations themselves
(Organizations: ``InvalidInputException`` with a ``Reason``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from botocore.model import Shape

from sandbox.core.errors import AwsError
from sandbox.core.protocols import service_model

# Java's Unicode classes, approximated for Python's re (usable inside [...]; \w is a bit wider than \p{L}).
_JAVA_CLASSES = {r"\p{L}": r"\w", r"\p{N}": r"\d", r"\p{Z}": r"\s", r"\p{Alnum}": r"a-zA-Z0-9",
                 r"\p{Punct}": r"!-/:-@\[-`{-~", r"\p{Print}": r"\x20-\x7e", r"\p{Graph}": r"\x21-\x7e"}


@dataclass(frozen=True)
class Violation:
    path: str        # "accountName", "tags.1.member.key"
    kind: str        # "length_max" | "length_min" | "value_max" | "value_min" | "pattern" | "enum"
    constraint: str  # "Member must have length less than or equal to 50"
    value: object
    sensitive: bool

    @property
    def text(self) -> str:
        shown = "Value" if self.sensitive else f"Value '{self.value}'"
        return f"{shown} at '{self.path}' failed to satisfy constraint: {self.constraint}"


def validation_message(violations: list[Violation]) -> str:
    count = len(violations)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(v.text for v in violations)


def check_input(service: str, operation: str, params: dict, code: str = "ValidationException") -> None:
    """Raise ``AwsError(code, ...)`` listing every constraint ``params`` violate."""
    violations = input_violations(service, operation, params)
    if violations:
        raise AwsError(code, validation_message(violations))


def input_violations(service: str, operation: str, params: dict) -> list[Violation]:
    shape = service_model(service).operation_model(operation).input_shape
    found: list[Violation] = []
    if shape is not None:
        _walk(shape, params, "", found)
    return found


def _lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _walk(shape: Shape, value, path: str, found: list[Violation]) -> None:
    if value is None:
        return
    meta = shape.metadata
    sensitive = bool(meta.get("sensitive"))

    def add(kind: str, constraint: str) -> None:
        found.append(Violation(path, kind, constraint, value, sensitive))

    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                _walk(member, value[name], f"{path}.{_lower_camel(name)}" if path else _lower_camel(name), found)
        return
    if kind == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            add("length_max", f"Member must have length less than or equal to {meta['max']}")
        for index, item in enumerate(value, start=1):
            _walk(shape.member, item, f"{path}.{index}.member", found)
        return
    if kind == "map" and isinstance(value, dict):
        if "max" in meta and len(value) > meta["max"]:
            add("length_max", f"Member must have length less than or equal to {meta['max']}")
        for key, item in value.items():
            _walk(shape.key, key, f"{path}.key", found)
            _walk(shape.value, item, f"{path}.{key}", found)
        return
    if kind == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            add("length_max", f"Member must have length less than or equal to {meta['max']}")
        if "min" in meta and len(value) < meta["min"]:
            add("length_min", f"Member must have length greater than or equal to {meta['min']}")
        if shape.enum and value not in shape.enum:
            add("enum", f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
        pattern = _compiled(meta.get("pattern"))
        if pattern is not None and not pattern.fullmatch(value):
            add("pattern", f"Member must satisfy regular expression pattern: {meta['pattern']}")
        return
    if kind in ("integer", "long", "float", "double") and isinstance(value, (int, float)):
        if "max" in meta and value > meta["max"]:
            add("value_max", f"Member must have value less than or equal to {meta['max']}")
        if "min" in meta and value < meta["min"]:
            add("value_min", f"Member must have value greater than or equal to {meta['min']}")


@lru_cache(maxsize=None)
def _compiled(pattern: str | None) -> re.Pattern | None:
    """The model's (Java) pattern as a Python regex; None when it cannot be expressed."""
    if not pattern:
        return None
    translated = pattern
    for java, python in _JAVA_CLASSES.items():
        translated = translated.replace(java, python)
    try:
        return re.compile(translated, re.DOTALL)
    except re.error:
        return None
