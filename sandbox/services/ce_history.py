"""The seeded cost history of the organization: a pure function of the anchor date, never stored.

Every account of ``org_layout`` gets billing lines (service x usage type x tags) whose daily cost
has the shape of a real ML platform's bill: a weekday/weekend rhythm, ~4 %/month growth, teams of
different sizes (fraud-detection the biggest), prod > test > dev, an untagged share (~7 %: the
shared accounts and KMS in team accounts), savings-plan smoothing of the amortized cost of prod
SageMaker hosting, and one anomaly: credit-risk-dev's SageMaker training ran at ~5x its weekday
cost for the three days around 40 days before the anchor, whatever weekdays those were. The
anchor is the day the sandbox was seeded, so a day's cost never changes while the sandbox lives;
the history covers the 13 months before the anchor's month and every day since, up to yesterday.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from sandbox.core import org_layout
from sandbox.services.ce_ledger import AMOUNT_SCALE, Line, Series, cost_allocation_tags

SAGEMAKER = "Amazon SageMaker"
S3 = "Amazon Simple Storage Service"
EC2 = "Amazon Elastic Compute Cloud - Compute"
GLUE = "AWS Glue"
CLOUDWATCH = "AmazonCloudWatch"
KMS = "AWS Key Management Service"
ECR = "Amazon EC2 Container Registry (ECR)"

HISTORY_MONTHS = 13
MONTHLY_GROWTH = 1.04
SAVINGS_PLAN_RATE = 0.8            # amortized share of on-demand cost under the savings plan
ANOMALY = {"account": org_layout.team_account("credit-risk", "dev"), "usage_type": "USE1-Train:ml.p3.2xlarge",
           "days_before_anchor": (41, 40, 39), "factor": 5.0, "jitter": 0.05}
TEAM_SCALE = {"fraud-detection": 1.0, "credit-risk": 0.62, "marketing-ml": 0.38}


@dataclass(frozen=True)
class LineSpec:
    """One billing line of an account profile; ``daily_usd`` is the weekday cost at the anchor."""
    service: str
    usage_type: str
    operation: str
    daily_usd: float
    hourly_price: float            # usage hours = cost / price
    weekend: float = 1.0           # weekend cost relative to a weekday
    jitter: float = 0.08           # day-to-day noise, +/- share
    tagged: bool = True            # carries the account's team and environment tags
    savings_plan: bool = False
    region: str = "us-east-1"
    normalization_factor: int = 0


def _sagemaker(kind: str, instance: str, daily_usd: float, price: float, **shape) -> LineSpec:
    return LineSpec(SAGEMAKER, f"USE1-{kind}:{instance}", "RunInstance", daily_usd, price, **shape)


def _s3(daily_usd: float, region_prefix: str = "", region: str = "us-east-1", **shape) -> LineSpec:
    return LineSpec(S3, f"{region_prefix}TimedStorage-ByteHrs", "StandardStorage", daily_usd, 0.0315,
                    region=region, **shape)


def _ec2(daily_usd: float, weekend: float) -> LineSpec:
    return LineSpec(EC2, "BoxUsage:m5.large", "RunInstances", daily_usd, 0.096, weekend,
                    normalization_factor=4)


def _glue(daily_usd: float, weekend: float, **shape) -> LineSpec:
    return LineSpec(GLUE, "USE1-ETL-DPU-Hour", "Jobrun", daily_usd, 0.44, weekend, **shape)


def _cloudwatch(daily_usd: float, **shape) -> LineSpec:
    return LineSpec(CLOUDWATCH, "CW:MetricMonitorUsage", "MetricStorage", daily_usd, 0.0004, 0.95, **shape)


def _kms(daily_usd: float) -> LineSpec:
    return LineSpec(KMS, "us-east-1-KMS-Keys", "CreateKey", daily_usd, 0.00137, jitter=0.0, tagged=False)


def _ecr(daily_usd: float, **shape) -> LineSpec:
    return LineSpec(ECR, "USE1-TimedStorage-ByteHrs", "StorageUsage", daily_usd, 0.000137, jitter=0.02, **shape)


# Team accounts by environment, at fraud-detection's size (TEAM_SCALE scales the other teams).
ENVIRONMENT_PROFILES = {
    "prod": (
        _sagemaker("Host", "ml.m5.xlarge", 430, 0.23, weekend=0.97, savings_plan=True),
        _sagemaker("Processing", "ml.m5.large", 45, 0.115, weekend=0.55),
        _s3(35), _ec2(30, weekend=0.8), _glue(25, weekend=0.7), _cloudwatch(14), _kms(3), _ecr(4),
    ),
    "test": (
        _sagemaker("Host", "ml.m5.xlarge", 140, 0.23, weekend=0.9),
        _sagemaker("Processing", "ml.m5.large", 25, 0.115, weekend=0.4),
        _sagemaker("Train", "ml.p3.2xlarge", 35, 3.825, weekend=0.5, jitter=0.25),
        _s3(15), _ec2(14, weekend=0.6), _glue(10, weekend=0.6), _cloudwatch(8), _kms(2), _ecr(2),
    ),
    "dev": (
        _sagemaker("Train", "ml.p3.2xlarge", 120, 3.825, weekend=0.35, jitter=0.3),
        _sagemaker("Notebook", "ml.t3.medium", 40, 0.05, weekend=0.15, jitter=0.15),
        _sagemaker("Processing", "ml.m5.large", 20, 0.115, weekend=0.4),
        _s3(18), _ec2(12, weekend=0.5), _glue(14, weekend=0.5), _cloudwatch(5), _kms(2), _ecr(3),
    ),
}
# The organization's own accounts, by name: untagged cost.
SHARED_PROFILES = {
    "ml-platform-management": (_cloudwatch(2, tagged=False), _s3(1.5, tagged=False), _kms(1)),
    "log-archive": (_s3(7, tagged=False, jitter=0.02),),
    "security-tooling": (_cloudwatch(4, tagged=False), _s3(2, tagged=False), _kms(1)),
    "shared-services": (
        _ecr(14, tagged=False), _s3(22, tagged=False),
        _sagemaker("Processing", "ml.m5.large", 10, 0.115, weekend=0.5, tagged=False),
        _cloudwatch(4, tagged=False), _kms(2),
    ),
    "data-lake": (
        _glue(45, weekend=0.8, tagged=False), _s3(20, tagged=False),
        _s3(6, "USW2-", "us-west-2", tagged=False, jitter=0.02), _cloudwatch(3, tagged=False), _kms(2),
    ),
}


def history_start(day: date) -> date:
    """The first of the month 13 months before ``day``'s: where the history drawn around ``day``
    begins, and the oldest day Cost Explorer keeps on ``day``."""
    months = day.year * 12 + day.month - 1 - HISTORY_MONTHS
    return date(months // 12, months % 12 + 1, 1)


def _account_lines(account: org_layout.SeedAccount) -> list[tuple[LineSpec, Line, float]]:
    """(spec, line, size factor) for each billing line of a seeded account."""
    if account.team:
        specs, scale = ENVIRONMENT_PROFILES[account.environment], TEAM_SCALE.get(account.team, 0.3)
        tags = cost_allocation_tags({"team": account.team, "environment": account.environment})
    else:
        specs, scale, tags = SHARED_PROFILES.get(account.name, ()), 1.0, ()
    return [(spec, Line(account.id, spec.region, spec.service, spec.usage_type, spec.operation,
                        tags if spec.tagged else ()), scale) for spec in specs]


@lru_cache(maxsize=4)
def seeded_history(anchor: date, today: date) -> tuple[Series, ...]:
    """Daily series from ``history_start(anchor)`` to ``today`` (today and later hold no cost yet).

    Pure and cached per process: the same anchor always yields the same amounts.
    """
    start = history_start(anchor)
    days = (today - start).days + 1
    lines = [entry for account in org_layout.ACCOUNTS for entry in _account_lines(account)]
    columns = [([0] * days, [0] * days, [0] * days) for _ in lines]
    for index in range(min(days, (today - start).days)):
        day = start + timedelta(days=index)
        days_from_anchor = (day - anchor).days
        growth = MONTHLY_GROWTH ** (days_from_anchor / 30.4375)
        weekend = day.weekday() >= 5
        noise = random.Random(day.toordinal())
        for (spec, line, scale), (unblended, amortized, usage) in zip(lines, columns):
            trend = spec.daily_usd * scale * growth
            rhythm, jitter = (spec.weekend if weekend else 1.0), spec.jitter
            if (line.account == ANOMALY["account"] and line.usage_type == ANOMALY["usage_type"]
                    and -days_from_anchor in ANOMALY["days_before_anchor"]):
                rhythm, jitter = ANOMALY["factor"], ANOMALY["jitter"]   # a runaway job runs flat out, weekends too
            cost = trend * rhythm * (1 + jitter * (2 * noise.random() - 1))
            unblended[index] = round(cost * AMOUNT_SCALE)
            amortized[index] = round(trend * SAVINGS_PLAN_RATE * AMOUNT_SCALE) if spec.savings_plan \
                else unblended[index]
            usage[index] = round(cost / spec.hourly_price * AMOUNT_SCALE)
    return tuple(
        Series(line, unblended, amortized if spec.savings_plan else unblended, usage, spec.normalization_factor)
        for (spec, line, _scale), (unblended, amortized, usage) in zip(lines, columns))
