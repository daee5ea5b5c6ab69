"""Card content: the SageMaker content JSON (AWS_API.md §6.2) <-> the portal's form fields, and a
readable diff between two versions. Pure Python."""
from decimal import Decimal, InvalidOperation

# (section, key, label): flat form field name = f"{section}__{key}"
TEXT_FIELDS = [
    ("model_overview", "model_name", "Model name", 1024),
    ("model_overview", "model_description", "Model description", 1024),
    ("model_overview", "model_owner", "Model owner", 1024),
    ("model_overview", "model_creator", "Model creator", 1024),
    ("model_overview", "problem_type", "Problem type", 1024),
    ("model_overview", "algorithm_type", "Algorithm type", 1024),
    ("intended_uses", "purpose_of_model", "Purpose of the model", 2048),
    ("intended_uses", "intended_uses", "Intended uses", 2048),
    ("intended_uses", "factors_affecting_model_efficiency", "Factors affecting model efficiency", 2048),
    ("intended_uses", "explanations_for_risk_rating", "Explanation of the risk rating", 2048),
    ("business_details", "business_problem", "Business problem", 2048),
    ("business_details", "business_stakeholders", "Business stakeholders", 2048),
    ("business_details", "line_of_business", "Line of business", 2048),
    ("training_details", "training_observations", "Training observations", 1024),
    ("additional_information", "ethical_considerations", "Ethical considerations", 2048),
    ("additional_information", "caveats_and_recommendations", "Caveats and recommendations", 2048),
]
SECTIONS = [
    ("model_overview", "Model overview"), ("intended_uses", "Intended uses"),
    ("business_details", "Business details"), ("training_details", "Training details"),
    ("evaluation_details", "Evaluation details"), ("additional_information", "Additional information"),
]
RISK_RATINGS = ["High", "Medium", "Low", "Unknown"]
MAX_TRAINING_METRICS = 50


def parse_metrics(text: str, *, limit: int) -> tuple[list[dict], list[str]]:
    """'name = value' lines -> [{name, value}], and the errors (which line, what to fix)."""
    metrics, errors = [], []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            errors.append(f"Line {number}: write one metric per line as 'name = number'.")
            continue
        if len(name) > 255:
            errors.append(f"Line {number}: a metric name has at most 255 characters.")
            continue
        try:
            number_value = Decimal(value)
            if not number_value.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            errors.append(f"Line {number}: '{value}' is not a number (e.g. 0.93).")
            continue
        metrics.append({"name": name, "value": float(number_value)})
    if len(metrics) > limit:
        errors.append(f"At most {limit} metrics; you gave {len(metrics)}.")
    return metrics, errors


def metrics_text(metrics) -> str:
    return "\n".join(f"{m.get('name')} = {m.get('value')}" for m in metrics or [] if isinstance(m, dict))


def build_content(data: dict, *, base: dict | None = None) -> dict:
    """Cleaned form data -> SageMaker content. Sections the form does not edit (model package
    details, hyper-parameters, evaluation metadata, …) are carried over from ``base``."""
    content = {key: value for key, value in (base or {}).items()}
    for section in ("model_overview", "intended_uses", "business_details", "training_details",
                    "additional_information"):
        content[section] = dict(content.get(section) or {})
    for section, key, _label, _max in TEXT_FIELDS:
        value = (data.get(f"{section}__{key}") or "").strip()
        if value:
            content[section][key] = value
        else:
            content[section].pop(key, None)
    if data.get("intended_uses__risk_rating"):
        content["intended_uses"]["risk_rating"] = data["intended_uses__risk_rating"]
    job = dict(content["training_details"].get("training_job_details") or {})
    if data.get("training_metrics"):
        job["training_metrics"] = data["training_metrics"]
    else:
        job.pop("training_metrics", None)
    if job:
        content["training_details"]["training_job_details"] = job
    else:
        content["training_details"].pop("training_job_details", None)
    evaluations = [dict(item) for item in content.get("evaluation_details") or [] if isinstance(item, dict)]
    name = (data.get("evaluation_name") or "").strip()
    if name:
        first = evaluations[0] if evaluations else {}
        first["name"] = name
        observation = (data.get("evaluation_observation") or "").strip()
        if observation:
            first["evaluation_observation"] = observation
        else:
            first.pop("evaluation_observation", None)
        metrics = data.get("evaluation_metrics") or []
        first["metric_groups"] = [{"name": "metrics", "metric_data": [
            {"name": m["name"], "type": "number", "value": m["value"]} for m in metrics]}] if metrics else []
        if not first["metric_groups"]:
            first.pop("metric_groups")
        evaluations = [first, *evaluations[1:]]
    elif evaluations:
        evaluations = evaluations[1:]
    if evaluations:
        content["evaluation_details"] = evaluations
    else:
        content.pop("evaluation_details", None)
    return {key: value for key, value in content.items() if value not in ({}, [], None)}


def form_initial(content: dict) -> dict:
    """SageMaker content -> the form's initial values."""
    initial = {}
    for section, key, _label, _max in TEXT_FIELDS:
        value = (content.get(section) or {}).get(key)
        if value is not None:
            initial[f"{section}__{key}"] = value
    initial["intended_uses__risk_rating"] = (content.get("intended_uses") or {}).get("risk_rating", "Unknown")
    job = (content.get("training_details") or {}).get("training_job_details") or {}
    initial["training_metrics"] = metrics_text(job.get("training_metrics"))
    evaluations = content.get("evaluation_details") or []
    if evaluations and isinstance(evaluations[0], dict):
        first = evaluations[0]
        initial["evaluation_name"] = first.get("name", "")
        initial["evaluation_observation"] = first.get("evaluation_observation", "")
        data = [m for group in first.get("metric_groups") or [] for m in group.get("metric_data") or []]
        initial["evaluation_metrics"] = metrics_text(data)
    return initial


def flatten(value, prefix: str = "") -> dict[str, str]:
    """Nested content -> {"section › field": text} for diffs and read-only display."""
    rows = {}
    if isinstance(value, dict):
        for key, inner in value.items():
            rows.update(flatten(inner, f"{prefix} › {key}" if prefix else key))
    elif isinstance(value, list):
        if all(not isinstance(item, (dict, list)) for item in value):
            rows[prefix] = ", ".join(str(item) for item in value)
        else:
            for index, inner in enumerate(value, start=1):
                label = inner.get("name") if isinstance(inner, dict) and inner.get("name") else str(index)
                rows.update(flatten(inner, f"{prefix} › {label}"))
    else:
        rows[prefix] = "" if value is None else str(value)
    return rows


def diff(before: dict, after: dict) -> list[dict]:
    """Readable changes from ``before`` to ``after``: [{field, change, before, after}] in field order."""
    old, new = flatten(before or {}), flatten(after or {})
    changes = []
    for field in sorted(set(old) | set(new)):
        if old.get(field) == new.get(field):
            continue
        change = "added" if field not in old else "removed" if field not in new else "changed"
        changes.append({"field": field.replace("_", " "), "change": change,
                        "before": old.get(field, ""), "after": new.get(field, "")})
    return changes


def prefill_from_version(version) -> dict:
    """Initial form values from a registry version: model overview, training and evaluation metrics."""
    metrics = []
    for name, value in sorted((version.metrics or {}).items()):   # jsonb does not keep key order
        try:
            metrics.append({"name": str(name), "value": float(Decimal(str(value)))})
        except (InvalidOperation, ValueError):
            continue
    group = version.group.name
    return {
        "model_overview__model_name": group,
        "model_overview__model_description": version.description,
        "training_metrics": metrics_text(metrics),
        "evaluation_name": f"{group}-v{version.version}-evaluation"[:63],
        "evaluation_metrics": metrics_text(metrics),
        "intended_uses__risk_rating": "Unknown",
    }
