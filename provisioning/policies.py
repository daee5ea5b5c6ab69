"""Who may do what with provisioning objects, and the guardrails every request must pass.

Guardrails run on the server for pages and API alike (``check_request``); each problem is keyed
by the field (parameter key) it concerns, with a sentence that says what to change.
"""
import re
from decimal import Decimal, InvalidOperation

from portal.models import GlobalRole
from portal.permissions import ALL_TEAM_ROLES, Rule, register
from portal.policies import ADMIN, READ_ALL
from provisioning.models import (
    CatalogProduct, ParameterPreset, ProvisionedProduct, ProvisioningRequest, ReconcileRun,
)

EVERY_GLOBAL_ROLE = frozenset(GlobalRole.values)
LEAD = frozenset({"lead"})


def register_policies() -> None:
    # The catalog is global: every signed-in role may read it (which products a team may request
    # is the product policy's business); only platform admins curate it.
    register(CatalogProduct, team_path=None, rules={
        "view": Rule(EVERY_GLOBAL_ROLE, ALL_TEAM_ROLES), "change": Rule(ADMIN), "sync": Rule(ADMIN),
    })
    register(ParameterPreset, team_path=None, rules={"view": Rule(ADMIN), "change": Rule(ADMIN)})
    register(ProvisioningRequest, team_path="team", rules={
        "view": Rule(READ_ALL, ALL_TEAM_ROLES),
        "add": Rule(ADMIN, ALL_TEAM_ROLES),
        "change": Rule(ADMIN, ALL_TEAM_ROLES),      # cancel/update/terminate/retry: requester or lead (service)
        "approve": Rule(ADMIN, LEAD),
    })
    register(ProvisionedProduct, team_path="team", rules={"view": Rule(READ_ALL, ALL_TEAM_ROLES)})
    register(ReconcileRun, team_path=None, rules={"view": Rule(READ_ALL), "add": Rule(ADMIN)})


# -- presets --------------------------------------------------------------------------------
def presets_for(product, account) -> dict[str, dict[str, str]]:
    """{key: {mode: value}} for requests in this account (its team and environment); the most
    specific preset wins. EnvironmentName defaults to the account's environment unless a preset
    says otherwise."""
    environment = account.environment
    chosen: dict[tuple[str, str], ParameterPreset] = {}
    for preset in product.presets.all():
        if (preset.account_id not in (None, account.pk) or preset.team_id not in (None, account.team_id)
                or preset.environment not in ("", environment)):
            continue
        current = chosen.get((preset.key, preset.mode))
        if current is None or preset.specificity > current.specificity:
            chosen[(preset.key, preset.mode)] = preset
    # The reference templates' EnvironmentName defaults to the target account's environment.
    result: dict[str, dict[str, str]] = {"EnvironmentName": {"default": environment}} if environment in (
        "dev", "test", "prod") else {}
    for (key, mode), preset in chosen.items():
        result.setdefault(key, {})[mode] = preset.value
    return result


def allowed_values(parameter: dict, presets: dict) -> list[str]:
    """AllowedValues of the parameter, narrowed by an ``allowed`` preset."""
    values = list(parameter.get("ParameterConstraints", {}).get("AllowedValues") or [])
    narrowed = presets.get(parameter["ParameterKey"], {}).get("allowed")
    if narrowed is not None:
        wanted = [v.strip() for v in narrowed.split(",") if v.strip()]
        values = [v for v in values if v in wanted] if values else wanted
    return values


# -- parameter checks -------------------------------------------------------------------------
def parameter_problem(parameter: dict, value: str, allowed: list[str]) -> str | None:
    """Why ``value`` breaks the parameter's constraints (as CloudFormation would), else None."""
    constraints = parameter.get("ParameterConstraints", {}) or {}
    hint = constraints.get("ConstraintDescription")
    if allowed and value not in allowed:
        return f"Choose one of: {', '.join(allowed)}."
    if value == "" and "DefaultValue" in parameter and parameter["DefaultValue"] == "":
        return None
    is_list = parameter.get("ParameterType", "").startswith(("List<", "CommaDelimitedList"))
    items = value.split(",") if is_list else [value]
    pattern = constraints.get("AllowedPattern")
    if pattern and not all(re.fullmatch(pattern, item) for item in items):
        return hint or f"Must match the pattern {pattern}."
    if constraints.get("MinLength") and len(value) < int(constraints["MinLength"]):
        return hint or f"Use at least {constraints['MinLength']} characters."
    if constraints.get("MaxLength") and len(value) > int(constraints["MaxLength"]):
        return hint or f"Use at most {constraints['MaxLength']} characters."
    if parameter.get("ParameterType") == "Number" or constraints.get("MinValue") or constraints.get("MaxValue"):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return "Enter a number."
        if constraints.get("MinValue") and number < Decimal(constraints["MinValue"]):
            return hint or f"Enter a number of at least {constraints['MinValue']}."
        if constraints.get("MaxValue") and number > Decimal(constraints["MaxValue"]):
            return hint or f"Enter a number of at most {constraints['MaxValue']}."
    return None


def resolve_values(parameters: list[dict], presets: dict, given: dict) -> tuple[dict, dict, dict]:
    """(values, secret values, problems): hidden presets override input, then input, then preset
    defaults, then AWS defaults. A required parameter without a value is a problem."""
    values, secrets, problems = {}, {}, {}
    for parameter in parameters:
        key = parameter["ParameterKey"]
        rules = presets.get(key, {})
        if "hidden" in rules:
            value = rules["hidden"]
        elif given.get(key) not in (None, ""):
            value = str(given[key])
        elif "default" in rules:
            value = rules["default"]
        elif "DefaultValue" in parameter:
            value = parameter["DefaultValue"]
        else:
            problems[key] = "This value is required."
            continue
        problem = parameter_problem(parameter, value, allowed_values(parameter, presets))
        if problem and "hidden" in rules:
            problem = f"The platform's preset value is not valid ({problem}); ask a platform admin to fix it."
        if problem:
            problems[key] = problem
            continue
        (secrets if parameter.get("IsNoEcho") else values)[key] = value
    unknown = sorted(set(given) - {p["ParameterKey"] for p in parameters})
    if unknown:
        problems["parameters"] = f"Unknown parameters: {', '.join(unknown)}."
    return values, secrets, problems


def check_guardrails(*, account, values: dict) -> dict:
    """Platform guardrails beyond the template's own constraints: {field: reason}. (Cost is not a
    guardrail: an estimate over the team's budget sends the request to approval instead.)"""
    problems = {}
    if account.environment == "prod" and values.get("NetworkIsolation", "YES") != "YES":
        problems["NetworkIsolation"] = "Network isolation must be YES in production accounts."
    if account.environment == "prod" and values.get("AppNetworkAccessType") == "PublicInternetOnly":
        problems["AppNetworkAccessType"] = "Production domains must be VpcOnly."
    return problems
