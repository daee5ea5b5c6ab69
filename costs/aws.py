"""Cost Explorer and SageMaker calls (the only boto3 use of the costs app). Small functions, plain
data out.

Cost Explorer bills every request ($0.01, each page included), so every call goes through a
``RequestBudget`` that counts requests and refuses to exceed the sync's allowance. SageMaker is
read for the usage report (endpoints by instance type), in each team account.
"""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from botocore.exceptions import ClientError

from portal.aws import AWS_ERRORS, client  # noqa: F401  (AWS_ERRORS: what these calls can raise, for services)

METRICS = ("UnblendedCost", "AmortizedCost")
FORECAST_METRICS = {"unblended": "UNBLENDED_COST", "amortized": "AMORTIZED_COST"}
GROUPINGS = {
    "team_service": [{"Type": "TAG", "Key": "team"}, {"Type": "DIMENSION", "Key": "SERVICE"}],
    "account_service": [{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}, {"Type": "DIMENSION", "Key": "SERVICE"}],
    "team_project": [{"Type": "TAG", "Key": "team"}, {"Type": "TAG", "Key": "project"}],
    "team_model": [{"Type": "TAG", "Key": "team"}, {"Type": "TAG", "Key": "model"}],
    "team_domain": [{"Type": "TAG", "Key": "team"}, {"Type": "TAG", "Key": "domain"}],
    "team_request": [{"Type": "TAG", "Key": "team"}, {"Type": "TAG", "Key": "portal-request"}],
}
TAG_GROUPINGS = ("team_project", "team_model", "team_domain", "team_request")


class RequestBudgetExceeded(Exception):
    """The sync would make more Cost Explorer requests than it may."""


@dataclass
class RequestBudget:
    limit: int
    made: int = 0

    @property
    def left(self) -> int:
        return self.limit - self.made

    def spend(self) -> None:
        if self.made >= self.limit:
            raise RequestBudgetExceeded(
                f"Stopped after {self.made} Cost Explorer requests (the limit per sync is {self.limit}).")
        self.made += 1


def _tag_value(key: str) -> str:
    """``team$fraud-detection`` -> ``fraud-detection``; ``team$`` (untagged) -> ``""``."""
    return key.split("$", 1)[1] if "$" in key else key


def cost_and_usage(*, start: date, end: date, grouping: str, budget: RequestBudget) -> list[dict]:
    """Daily UnblendedCost and AmortizedCost for [start, end) grouped by ``grouping`` (a GROUPINGS
    key), following NextPageToken. Rows: day, keys (tag values stripped of ``key$``), unblended,
    amortized (Decimal), estimated. Raises RequestBudgetExceeded when the pages outrun ``budget``
    (the requests already made stay counted on it)."""
    ce = client("ce")
    group_by = GROUPINGS[grouping]
    params = {"TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()}, "Granularity": "DAILY",
              "Metrics": list(METRICS), "GroupBy": group_by}
    rows = []
    while True:
        budget.spend()
        response = ce.get_cost_and_usage(**params)
        for result in response.get("ResultsByTime", []):
            day = date.fromisoformat(result["TimePeriod"]["Start"][:10])
            for group in result.get("Groups", []):
                keys = [_tag_value(key) if spec["Type"] == "TAG" else key
                        for key, spec in zip(group["Keys"], group_by)]
                metrics = group.get("Metrics", {})
                rows.append({"day": day, "keys": keys, "estimated": bool(result.get("Estimated")),
                             "unblended": Decimal(metrics.get("UnblendedCost", {}).get("Amount", "0")),
                             "amortized": Decimal(metrics.get("AmortizedCost", {}).get("Amount", "0"))})
        token = response.get("NextPageToken")
        if not token:
            return rows
        params["NextPageToken"] = token


def cost_forecast(*, start: date, end: date, metric: str, budget: RequestBudget) -> dict | None:
    """Cost Explorer's forecast of ``metric`` (unblended|amortized) for [start, end), one MONTHLY
    total: {mean, lower, upper} as Decimal; None when Cost Explorer has too little history."""
    budget.spend()
    try:
        response = client("ce").get_cost_forecast(
            TimePeriod={"Start": start.isoformat(), "End": end.isoformat()}, Metric=FORECAST_METRICS[metric],
            Granularity="MONTHLY", PredictionIntervalLevel=80)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "DataUnavailableException":
            return None
        raise
    results = response.get("ForecastResultsByTime", [])
    lower = sum((Decimal(r.get("PredictionIntervalLowerBound", "0")) for r in results), Decimal(0))
    upper = sum((Decimal(r.get("PredictionIntervalUpperBound", "0")) for r in results), Decimal(0))
    return {"mean": Decimal(response["Total"]["Amount"]), "lower": lower, "upper": upper}


def endpoint_variants(account_id: str) -> list[dict]:
    """Every SageMaker endpoint of ``account_id`` (home region) with its production variants:
    rows of endpoint_name, variant_name, status, instance_type ("" when serverless) and
    instance_count. ListEndpoints pages, then DescribeEndpoint and DescribeEndpointConfig per
    endpoint (the instance type is only in the configuration)."""
    sagemaker = client("sagemaker", account_id)
    rows = []
    for page in sagemaker.get_paginator("list_endpoints").paginate():
        for summary in page.get("Endpoints", []):
            try:
                endpoint = sagemaker.describe_endpoint(EndpointName=summary["EndpointName"])
                config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "ValidationException":
                    continue     # deleted between the list and the describe
                raise
            current = {v["VariantName"]: v for v in endpoint.get("ProductionVariants", [])}
            for variant in config.get("ProductionVariants", []):
                live = current.get(variant["VariantName"], {})
                rows.append({"endpoint_name": endpoint["EndpointName"], "variant_name": variant["VariantName"],
                             "status": endpoint.get("EndpointStatus", ""),
                             "instance_type": variant.get("InstanceType", ""),
                             "instance_count": live.get("CurrentInstanceCount",
                                                        variant.get("InitialInstanceCount", 0)) or 0})
    return rows
