"""The usage ledger Cost Explorer reads: the seeded history plus the meters of live resources.

A ``Series`` is one billing line (account, region, service, usage type, operation and
cost-allocation tags) with its daily amounts on the ledger's day axis. Amounts are integers in
units of 1e-10 (USD, or hours for usage), so sums are exact: a grouped report adds up to the
ungrouped total to the last digit, as Cost Explorer's does.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

AMOUNT_SCALE = 10 ** 10
# The cost-allocation tags activated in the management account: only these reach Cost Explorer.
COST_ALLOCATION_TAG_KEYS = ("team", "environment", "project", "model", "domain", "portal-request")
AWS_SELLER = "Amazon Web Services, Inc."

# The operation Cost Explorer reports for a meter's usage, by service.
_METER_OPERATIONS = {
    "Amazon SageMaker": "RunInstance",
    "Amazon Elastic Compute Cloud - Compute": "RunInstances",
    "Amazon Simple Storage Service": "StandardStorage",
    "AWS Glue": "Jobrun",
}


@dataclass(frozen=True)
class Line:
    """What Cost Explorer can filter and group one cost line by."""
    account: str
    region: str
    service: str
    usage_type: str
    operation: str
    tags: tuple[tuple[str, str], ...] = ()   # sorted (key, value) of cost-allocation tags

    def tag(self, key: str) -> str:
        """The line's value for a cost-allocation tag; "" when untagged (Cost Explorer's ``key$``)."""
        for tag_key, value in self.tags:
            if tag_key == key:
                return value
        return ""

    def dimension(self, key: str) -> str | None:
        """The line's value for a Cost Explorer dimension; None when the line has none."""
        if key == "LINKED_ACCOUNT":
            return self.account
        if key == "SERVICE":
            return self.service
        if key == "REGION":
            return self.region
        if key == "USAGE_TYPE":
            return self.usage_type
        if key == "OPERATION":
            return self.operation
        if key == "INSTANCE_TYPE":
            _, found, instance_type = self.usage_type.partition("BoxUsage:")
            return instance_type if found else "NoInstanceType"
        return _CONSTANT_DIMENSIONS.get(key)


_CONSTANT_DIMENSIONS = {
    "RECORD_TYPE": "Usage", "PURCHASE_TYPE": "On Demand Instances", "LEGAL_ENTITY_NAME": AWS_SELLER,
    "INVOICING_ENTITY": AWS_SELLER, "BILLING_ENTITY": "AWS", "AZ": "NoAZ", "PLATFORM": "NoPlatform",
    "TENANCY": "NoTenancy",
}


def cost_allocation_tags(tags: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The activated cost-allocation tags among a resource's tags, as a ``Line.tags`` tuple."""
    return tuple(sorted((key, value) for key, value in tags.items() if key in COST_ALLOCATION_TAG_KEYS))


@dataclass
class Series:
    """One line's daily amounts: ``unblended[i]`` is day ``ledger.start + i``."""
    line: Line
    unblended: list[int]
    amortized: list[int]          # the same list as ``unblended`` when nothing is amortized
    usage: list[int]              # hours
    normalization_factor: int = 0  # normalized units per usage hour (EC2 instances only)
    metered: bool = False          # from a live resource's meter, not the seeded history


@dataclass
class Ledger:
    """Every series on one day axis, from ``start`` to ``today`` (whose data is still partial)."""
    start: date
    today: date
    series: list[Series]

    def index(self, day: date) -> int:
        """The axis position of ``day``, clipped to the axis (days after today have no data)."""
        return max(0, min((day - self.start).days, self.days))

    @property
    def days(self) -> int:
        return (self.today - self.start).days + 1


def meter_series(meters: dict, start: date, today: date, now: datetime) -> list[Series]:
    """Series for ``ctx.meter_start`` meters: cost accrues by the second into the days a meter ran.

    Cost Explorer lags: only hours completed before ``now`` are in. Meters that share a line (same
    account, service, usage type and tags) are summed into one series.
    """
    days = (today - start).days + 1
    accrued_until = now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    axis_start = datetime(start.year, start.month, start.day, tzinfo=timezone.utc)
    by_line: dict[Line, Series] = {}
    for meter in meters.values():
        began = datetime.fromisoformat(meter["start"])
        ended = min(datetime.fromisoformat(meter["end"]), accrued_until) if meter["end"] else accrued_until
        began = max(began, axis_start)
        if ended <= began:
            continue
        line = Line(meter["account"], meter["region"], meter["service"], meter["usage_type"],
                    _METER_OPERATIONS.get(meter["service"], "Unknown"), cost_allocation_tags(meter["tags"]))
        series = by_line.get(line)
        if series is None:
            cost = [0] * days
            series = by_line[line] = Series(line, cost, cost, [0] * days, metered=True)
        day_index = (began - axis_start).days
        while day_index < days:
            day_begins = axis_start + timedelta(days=day_index)
            overlap = (min(ended, day_begins + timedelta(days=1)) - max(began, day_begins)).total_seconds()
            if overlap <= 0:
                break
            series.unblended[day_index] += round(meter["hourly_usd"] * overlap / 3600 * AMOUNT_SCALE)
            series.usage[day_index] += round(overlap / 3600 * AMOUNT_SCALE)
            day_index += 1
    return list(by_line.values())
