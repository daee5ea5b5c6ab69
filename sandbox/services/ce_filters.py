"""Cost Explorer filter expressions and group definitions, checked as AWS does (AWS_API.md §10.2).

``compile_filter`` validates an ``Expression`` and turns it into a predicate over ledger lines;
``compile_group_by`` validates ``GroupBy`` and returns the function giving a line's group keys.
"""
from __future__ import annotations

from typing import Callable

from sandbox.core.errors import validation
from sandbox.services.ce_ledger import Line

ROOT_OPERATORS = ("And", "Or", "Not", "Dimensions", "Tags", "CostCategories", "ProductAttributes")
# Match options each leaf accepts (GetCostAndUsage's documented sets; defaults EQUALS + CASE_SENSITIVE).
LEAF_MATCH_OPTIONS = {
    "Dimensions": {"EQUALS", "CASE_SENSITIVE"},
    "Tags": {"EQUALS", "ABSENT", "CASE_SENSITIVE"},
    "CostCategories": {"EQUALS", "ABSENT", "CASE_SENSITIVE"},
    "ProductAttributes": {"EQUALS", "ABSENT", "CASE_SENSITIVE"},
}
# Dimensions only cost category rules may use.
COST_CATEGORY_ONLY_DIMENSIONS = {"LINKED_ACCOUNT_NAME", "SERVICE_CODE"}
GROUP_BY_DIMENSIONS = ("AZ", "INSTANCE_TYPE", "LEGAL_ENTITY_NAME", "INVOICING_ENTITY", "LINKED_ACCOUNT",
                       "OPERATION", "PLATFORM", "PURCHASE_TYPE", "REGION", "SERVICE", "TENANCY",
                       "RECORD_TYPE", "USAGE_TYPE")
GROUP_BY_TYPES = ("DIMENSION", "TAG", "COST_CATEGORY", "PRODUCT_ATTRIBUTE")
MAX_GROUP_BY = 2

Predicate = Callable[[Line], bool]


def compile_filter(expression: dict | None, *, dimensions: set[str] | None = None) -> Predicate | None:
    """Validate ``expression`` and return a predicate over lines (None: no filter).

    ``dimensions`` restricts the dimension keys allowed (GetCostForecast's subset). Raises
    ValidationException on malformed expressions, as Cost Explorer does.
    """
    if expression is None:
        return None
    predicate = _compile(expression, dimensions)
    _check_service_scope(expression, inside_not=False)
    return predicate


def _compile(expression: dict, dimensions: set[str] | None) -> Predicate:
    roots = [name for name in ROOT_OPERATORS if expression.get(name) not in (None, [], {})]
    if len(roots) > 1:
        raise validation("Expression has more than one roots. Only one root operator is allowed for each "
                         "expression: And, Or, Not, Dimensions, Tags, CostCategories")
    if not roots:
        raise validation("Expression has no root. Exactly one root operator is required for each "
                         "expression: And, Or, Not, Dimensions, Tags, CostCategories")
    root = roots[0]
    operand = expression[root]
    if root in ("And", "Or"):
        parts = [_compile(part, dimensions) for part in operand]
        if root == "And":
            return lambda line: all(part(line) for part in parts)
        return lambda line: any(part(line) for part in parts)
    if root == "Not":
        inner = _compile(operand, dimensions)
        return lambda line: not inner(line)
    return _compile_leaf(root, operand, dimensions)


def _compile_leaf(kind: str, leaf: dict, dimensions: set[str] | None) -> Predicate:
    options = set(leaf.get("MatchOptions") or ["EQUALS"])
    unsupported = options - LEAF_MATCH_OPTIONS[kind]
    if unsupported:
        raise validation(f"MatchOptions {sorted(unsupported)} are not supported for {kind}. Supported "
                         f"MatchOptions: {sorted(LEAF_MATCH_OPTIONS[kind])}")
    key = leaf.get("Key")
    if not key:
        raise validation(f"{kind} expression requires a Key.")
    values = set(leaf.get("Values") or [])
    absent = "ABSENT" in options
    if kind != "Dimensions" and not values and not absent:
        raise validation(f"{kind} expression for key {key} requires Values or the ABSENT match option.")
    if kind == "Dimensions":
        if not values:
            raise validation(f"Dimension {key} requires at least one value.")
        if key in COST_CATEGORY_ONLY_DIMENSIONS or (dimensions is not None and key not in dimensions):
            raise validation(f"Dimension {key} is not allowed in this filter.")
        return lambda line: line.dimension(key) in values
    if kind == "Tags":
        # An untagged line has the tag value "" (its group is "key$"), which ABSENT also matches.
        return lambda line: (value := line.tag(key)) in values or (absent and value == "")
    if kind == "CostCategories":
        # No cost category is defined: every line's value is absent.
        return lambda line: absent or "" in values
    # Product attributes exist only for Amazon Bedrock, which the ledger has no cost of.
    return lambda line: False


def _mentions_service(expression: dict) -> bool:
    if (expression.get("Dimensions") or {}).get("Key") == "SERVICE":
        return True
    parts = (expression.get("And") or []) + (expression.get("Or") or [])
    if expression.get("Not"):
        parts.append(expression["Not"])
    return any(_mentions_service(part) for part in parts)


def _check_service_scope(expression: dict, *, inside_not: bool) -> None:
    """A SERVICE filter must apply to the whole request: And-ed, in every Or branch, never in Not."""
    if (expression.get("Dimensions") or {}).get("Key") == "SERVICE" and inside_not:
        raise validation("A SERVICE filter must apply to the whole request; a SERVICE filter inside Not "
                         "doesn't meet this requirement.")
    branches = expression.get("Or") or []
    if branches and any(map(_mentions_service, branches)) and not all(map(_mentions_service, branches)):
        raise validation("A SERVICE filter must apply to the whole request: include it in every branch of "
                         "an Or.")
    for part in (expression.get("And") or []) + branches:
        _check_service_scope(part, inside_not=inside_not)
    if expression.get("Not"):
        _check_service_scope(expression["Not"], inside_not=True)


def compile_group_by(group_by: list[dict] | None) -> tuple[list[dict], Callable[[Line], tuple[str | None, ...]]]:
    """Validate ``GroupBy`` (at most two, known types and dimension keys, no duplicates).

    Returns the definitions to echo as ``GroupDefinitions`` and a function giving a line's keys:
    the raw value for a DIMENSION, ``key$value`` for a TAG or COST_CATEGORY (``key$`` when absent).
    A line whose keys contain None belongs to no group (PRODUCT_ATTRIBUTE: only Bedrock has any).
    """
    group_by = list(group_by or [])
    if len(group_by) > MAX_GROUP_BY:
        raise validation(f"You can group by at most {MAX_GROUP_BY} different groups; "
                         f"{len(group_by)} were specified.")
    seen = set()
    definitions, key_functions = [], []
    for definition in group_by:
        kind, key = definition.get("Type"), definition.get("Key")
        if kind not in GROUP_BY_TYPES:
            raise validation(f"Group Definition Type {kind!r} is not valid. Valid values: {', '.join(GROUP_BY_TYPES)}")
        if not key:
            raise validation("Group Definition Key is required.")
        if kind == "DIMENSION" and key not in GROUP_BY_DIMENSIONS:
            raise validation(f"Group Definition dimension {key!r} is not valid. Valid values: "
                             f"{', '.join(GROUP_BY_DIMENSIONS)}")
        if (kind, key) in seen:
            raise validation(f"Group Definition {kind} {key} is specified more than once.")
        seen.add((kind, key))
        definitions.append({"Type": kind, "Key": key})
        key_functions.append(_group_key_function(kind, key))
    return definitions, lambda line: tuple(function(line) for function in key_functions)


def _group_key_function(kind: str, key: str) -> Callable[[Line], str | None]:
    if kind == "DIMENSION":
        return lambda line: line.dimension(key)
    if kind == "TAG":
        return lambda line: f"{key}${line.tag(key)}"
    if kind == "COST_CATEGORY":
        return lambda line: f"{key}$"
    return lambda line: None
