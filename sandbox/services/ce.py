"""AWS Cost Explorer (``ce``): GetCostAndUsage, GetCostForecast, GetTags, GetDimensionValues.

Every answer is computed from the usage ledger (``ce_ledger``): the seeded history of the
organization (``ce_history``, a pure function of the seed day, cached per process) plus the meters
that provisioned resources start with ``ctx.meter_start``. The only state is the seed day
(``history_anchor``). Like Cost Explorer, data lags: today holds only the completed hours of
meters, the last two days and the current month are ``Estimated``; the management account sees
every account, a member account only itself. Input rules follow AWS_API.md §10.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
import operator
import re
from collections import OrderedDict
from datetime import date, timedelta
from statistics import NormalDist

from sandbox.core import org_layout
from sandbox.core.engine import params_hash
from sandbox.core.errors import AwsError, validation
from sandbox.core.registry import operation, seeder
from sandbox.services.ce_filters import compile_filter, compile_group_by
from sandbox.services.ce_history import history_start, seeded_history
from sandbox.services.ce_ledger import (AMOUNT_SCALE, Ledger, Line, Series, cost_allocation_tags,
                                        meter_series)

# Metric names as Cost Explorer spells them in responses -> (ledger field, unit). Requests may
# also use the enum spelling (UNBLENDED_COST) or any case.
METRICS = {
    "AmortizedCost": ("amortized", "USD"), "BlendedCost": ("unblended", "USD"),
    "NetAmortizedCost": ("amortized", "USD"), "NetUnblendedCost": ("unblended", "USD"),
    "NormalizedUsageAmount": ("normalized", "N/A"), "UnblendedCost": ("unblended", "USD"),
    "UsageQuantity": ("usage", "Hrs"),
}
_METRIC_BY_FOLDED_NAME = {name.lower(): name for name in METRICS}
FORECAST_METRICS = {"AMORTIZED_COST": "amortized", "BLENDED_COST": "unblended", "NET_AMORTIZED_COST": "amortized",
                    "NET_UNBLENDED_COST": "unblended", "UNBLENDED_COST": "unblended"}
FORECAST_DIMENSIONS = {"AZ", "INSTANCE_TYPE", "LINKED_ACCOUNT", "OPERATION", "PURCHASE_TYPE", "REGION", "SERVICE",
                       "USAGE_TYPE", "USAGE_TYPE_GROUP", "RECORD_TYPE", "OPERATING_SYSTEM", "TENANCY", "SCOPE",
                       "PLATFORM", "SUBSCRIPTION_ID", "LEGAL_ENTITY_NAME", "DEPLOYMENT_OPTION", "DATABASE_ENGINE",
                       "INSTANCE_TYPE_FAMILY", "BILLING_ENTITY", "RESERVATION_ID", "SAVINGS_PLAN_ARN"}
DIMENSIONS = ("AZ", "INSTANCE_TYPE", "LINKED_ACCOUNT", "PAYER_ACCOUNT", "LINKED_ACCOUNT_NAME", "OPERATION",
              "PURCHASE_TYPE", "REGION", "SERVICE", "SERVICE_CODE", "USAGE_TYPE", "USAGE_TYPE_GROUP", "RECORD_TYPE",
              "OPERATING_SYSTEM", "TENANCY", "SCOPE", "PLATFORM", "SUBSCRIPTION_ID", "LEGAL_ENTITY_NAME",
              "DEPLOYMENT_OPTION", "DATABASE_ENGINE", "CACHE_ENGINE", "INSTANCE_TYPE_FAMILY", "BILLING_ENTITY",
              "RESERVATION_ID", "RESOURCE_ID", "RIGHTSIZING_TYPE", "SAVINGS_PLANS_TYPE", "SAVINGS_PLAN_ARN",
              "PAYMENT_OPTION", "AGREEMENT_END_DATE_TIME_AFTER", "AGREEMENT_END_DATE_TIME_BEFORE",
              "INVOICING_ENTITY", "ANOMALY_TOTAL_IMPACT_ABSOLUTE", "ANOMALY_TOTAL_IMPACT_PERCENTAGE",
              "PRODUCT_ATTRIBUTE")

GROUPS_PER_PAGE = 300        # (period, group) entries per GetCostAndUsage page
VALUES_PER_PAGE = 1000       # GetTags / GetDimensionValues entries per page
MAX_SORTED_RESULTS = 1000
ESTIMATED_DAYS = 2           # the last days before today whose cost is not final
FORECAST_LOOKBACK_DAYS = 56
FORECAST_MIN_DAYS_WITH_DATA = 14
FORECAST_MONTHLY_DRIFT = 0.03  # one-sigma uncertainty of the cost level, per month of horizon
DEFAULT_PREDICTION_INTERVAL = 80
REPORTS_KEPT = 8             # computed GetCostAndUsage reports kept per process, so pages don't recompute
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}:\d{2}Z)?$")
_BILLING_VIEW = re.compile(r"^arn:aws[a-z-]*:(billing)::[0-9]{12}:billingview/[-a-zA-Z0-9/:_+=.-@]{1,43}$")


@seeder(order=50)
def seed_history_anchor(ctx) -> None:
    """Fix the seed day the cost history is drawn around (the only Cost Explorer state)."""
    ctx.state["history_anchor"] = ctx.now().date().isoformat()


# -- the ledger ------------------------------------------------------------------------------
def _ledger(ctx) -> Ledger:
    now = ctx.now()
    today = now.date()
    anchor = date.fromisoformat(ctx.state.get("history_anchor", today.isoformat()))
    start = history_start(anchor)
    meters = ctx.service_state("meters")
    return Ledger(start, today, [*seeded_history(anchor, today), *meter_series(meters, start, today, now)])


def _visible(ctx, ledger: Ledger, predicate) -> list[Series]:
    """The series the caller may see (management: all; member: its own) that match the filter."""
    own_only = ctx.account_id != org_layout.MANAGEMENT_ACCOUNT_ID
    return [series for series in ledger.series
            if (not own_only or series.line.account == ctx.account_id)
            and (predicate is None or predicate(series.line))]


def _field(series: Series, field: str) -> list[int]:
    if field == "normalized":
        return [hours * series.normalization_factor for hours in series.usage]
    return getattr(series, field)


def _has_cost(series: Series, first: int, last: int) -> bool:
    return any(series.unblended[first:last]) or any(series.usage[first:last])


# -- input rules -----------------------------------------------------------------------------
def _first_of_next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last_day = (_first_of_next_month(date(year, month + 1, 1)) - timedelta(days=1)).day
    return date(year, month + 1, min(day.day, last_day))


def _parse_day(value, member: str) -> tuple[date, bool]:
    """(day, has a time part) of a ``YearMonthDay`` string."""
    match = _DATE.match(value or "")
    if not match:
        raise validation(f"Invalid {member} '{value}': expected the format YYYY-MM-DD.")
    try:
        return date.fromisoformat(match.group(1)), bool(match.group(2))
    except ValueError:
        raise validation(f"Invalid {member} '{value}': not a calendar date.") from None


def _history_period(ctx, period: dict) -> tuple[date, date]:
    """Validate a TimePeriod over cost data: Start < End, Start <= today, End <= the first of next
    month, and no further back than the 13 months before the current month."""
    start, start_has_time = _parse_day(period.get("Start"), "start date")
    end, end_has_time = _parse_day(period.get("End"), "end date")
    if start_has_time or end_has_time:
        raise validation("Hourly timePeriod is not supported for this request")
    if start >= end:
        raise validation("Start date (and hour) should be before end date (and hour)")
    today = ctx.now().date()
    if start > today:
        raise validation(f"Start date {start.isoformat()} is after the current date {today.isoformat()}.")
    if end > _first_of_next_month(today):
        raise validation("end date past the beginning of next month")
    oldest = history_start(today)
    if start < oldest:
        if start.day != 1:
            raise validation("To retrieve data beyond the past 14 months, your start date needs to be the "
                             "first day of the month.")
        raise AwsError("DataUnavailableException",
                       f"Data before {oldest.isoformat()} is unavailable: Cost Explorer keeps the current month "
                       "and the previous 13 months. Enable multi-year data in Cost Management preferences "
                       "for older monthly data.")
    return start, end


def _check_billing_view(ctx, params: dict) -> None:
    arn = params.get("BillingViewArn")
    if arn is None:
        return
    if not _BILLING_VIEW.match(arn):
        raise validation(f"Invalid BillingViewArn: {arn}")
    if arn.split(":")[4] != ctx.account_id or not arn.endswith(":billingview/primary"):
        raise AwsError("ResourceNotFoundException", f"Billing view {arn} not found.")


def _metric_names(requested: list | None) -> list[str]:
    """The requested metrics in Cost Explorer's spelling, de-duplicated, in request order."""
    if not requested:
        raise validation("Metrics must contain at least one of: " + ", ".join(METRICS))
    names = []
    for raw in requested:
        name = _METRIC_BY_FOLDED_NAME.get(str(raw).replace("_", "").lower())
        if name is None:
            raise validation(f"Unsupported metric {raw!r}. Valid values are: {', '.join(METRICS)}")
        if name not in names:
            names.append(name)
    return names


def _sort_definition(params: dict) -> tuple[str, bool] | None:
    """(ledger field, descending) of the first ``SortBy``; SortBy excludes paging and SearchString."""
    sort_by = params.get("SortBy")
    if not sort_by:
        return None
    if params.get("NextPageToken") or params.get("SearchString"):
        raise validation("When you use SortBy, NextPageToken and SearchString aren't supported.")
    key = sort_by[0].get("Key")
    if key not in METRICS:
        raise validation(f"Invalid SortBy key {key!r}. Valid values are: {', '.join(METRICS)}")
    order = sort_by[0].get("SortOrder", "ASCENDING")
    if order not in ("ASCENDING", "DESCENDING"):
        raise validation(f"Invalid SortOrder {order!r}. Valid values are: ASCENDING, DESCENDING")
    return METRICS[key][0], order == "DESCENDING"


def _max_sorted_results(params: dict) -> int:
    max_results = params.get("MaxResults", MAX_SORTED_RESULTS)
    if not 1 <= max_results <= MAX_SORTED_RESULTS:
        raise validation(f"MaxResults must be between 1 and {MAX_SORTED_RESULTS}.")
    return max_results


# -- paging ----------------------------------------------------------------------------------
def _request_fingerprint(ctx, params: dict) -> str:
    return params_hash({"account": ctx.account_id, "operation": ctx.operation,
                        **{k: v for k, v in params.items() if k != "NextPageToken"}})


def _page_offset(ctx, params: dict) -> int:
    """Where the page starts: 0, or the offset in a token issued for these very parameters."""
    token = params.get("NextPageToken")
    if not token:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        fingerprint, offset = decoded["request"], int(decoded["offset"])
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise AwsError("InvalidNextTokenException", "The pagination token is invalid.") from None
    if fingerprint != _request_fingerprint(ctx, params):
        raise AwsError("RequestChangedException", "Your request parameters changed between pages. Try again "
                                                  "with the old parameters or without a pagination token.")
    return offset


def _next_token(ctx, params: dict, offset: int) -> str:
    document = {"request": _request_fingerprint(ctx, params), "offset": offset}
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()


def _value_page(ctx, params: dict, values: list) -> tuple[list, dict]:
    """One page of a GetTags/GetDimensionValues list, and the page members of the response."""
    offset = _page_offset(ctx, params)
    if offset > len(values):
        raise AwsError("InvalidNextTokenException", "The pagination token is invalid.")
    page = values[offset:offset + VALUES_PER_PAGE]
    members = {"ReturnSize": len(page), "TotalSize": len(values)}
    if offset + len(page) < len(values):
        members["NextPageToken"] = _next_token(ctx, params, offset + len(page))
    return page, members


# -- formatting ------------------------------------------------------------------------------
def _amount(units: int) -> str:
    """An exact ledger amount (1e-10 units) as Cost Explorer's decimal string."""
    whole, fraction = divmod(abs(units), AMOUNT_SCALE)
    text = f"{whole}.{fraction:010d}".rstrip("0").rstrip(".")
    return f"-{text}" if units < 0 else text


def _usd(value: float) -> str:
    return _amount(round(value * AMOUNT_SCALE))


def _metric_values(sums: dict[str, int], metrics: list[str]) -> dict:
    return {name: {"Amount": _amount(sums[METRICS[name][0]]), "Unit": METRICS[name][1]} for name in metrics}


def _account_name(ctx, account_id: str) -> str:
    """A linked account's name: the seeded layout's, else the Organizations state's, else its id."""
    seeded = org_layout.ACCOUNTS_BY_ID.get(account_id)
    if seeded:
        return seeded.name
    created = ctx.service_state("organizations").get("accounts", {}).get(account_id)
    return created["Name"] if created else account_id


# -- GetCostAndUsage -------------------------------------------------------------------------
def _periods(start: date, end: date, granularity: str) -> list[tuple[date, date]]:
    periods, current = [], start
    while current < end:
        following = current + timedelta(days=1) if granularity == "DAILY" else _first_of_next_month(current)
        periods.append((current, min(following, end)))
        current = periods[-1][1]
    return periods


def _period_sums(ledger: Ledger, selected: list[Series], key_of, periods, fields: set[str]) -> list[dict]:
    """Per period: {group keys: {field: sum}} over the groups that have cost or usage in it."""
    first, last = ledger.index(periods[0][0]), ledger.index(periods[-1][1])
    daily: dict[tuple, dict[str, list[int]]] = {}
    for series in selected:
        keys = key_of(series.line)
        if None in keys or not _has_cost(series, first, last):
            continue
        group = daily.setdefault(keys, {field: [0] * (last - first) for field in fields})
        for field in fields:
            group[field] = list(map(operator.add, group[field], _field(series, field)[first:last]))
    bounds = [(ledger.index(period_start) - first, ledger.index(period_end) - first)
              for period_start, period_end in periods]
    results: list[dict] = [{} for _ in periods]
    for keys, group in daily.items():
        columns = {field: [sum(values[begin:finish]) for begin, finish in bounds] for field, values in group.items()}
        for index, (unblended, usage) in enumerate(zip(columns["unblended"], columns["usage"])):
            if unblended or usage:
                results[index][keys] = {field: column[index] for field, column in columns.items()}
    return results


_reports: OrderedDict[tuple, list[dict]] = OrderedDict()


def _report(ctx, params: dict, compute) -> list[dict]:
    """``compute()``, remembered for the same request over the same ledger (seed day, clock hour
    and meters), so fetching the next page does not recompute the report."""
    now = ctx.now()
    key = (_request_fingerprint(ctx, params), ctx.state.get("history_anchor"), now.date(), now.hour,
           params_hash(ctx.service_state("meters")))
    if key not in _reports:
        _reports[key] = compute()
        while len(_reports) > REPORTS_KEPT:
            _reports.popitem(last=False)
    _reports.move_to_end(key)
    return _reports[key]


def _estimated(period_end: date, today: date) -> bool:
    """Cost Explorer marks the open month and the last days (still being billed) as estimated."""
    return period_end > today.replace(day=1) or period_end > today - timedelta(days=ESTIMATED_DAYS)


@operation("ce", "GetCostAndUsage")
def get_cost_and_usage(ctx, params):
    """Cost and usage from the ledger by period, optionally filtered and grouped (read-only).

    Grouped results come in pages of GROUPS_PER_PAGE (period, group) entries; ``Total`` is empty
    when grouping, as in Cost Explorer.
    """
    granularity = params.get("Granularity")
    if granularity not in ("DAILY", "MONTHLY", "HOURLY"):
        raise validation(f"Invalid Granularity {granularity!r}. Valid values are: DAILY, MONTHLY, HOURLY")
    if granularity == "HOURLY":
        raise validation("Hourly granularity is not enabled for this account. Enable hourly granularity in "
                         "Cost Management preferences to query HOURLY data (last 14 days only).")
    start, end = _history_period(ctx, params.get("TimePeriod") or {})
    metrics = _metric_names(params.get("Metrics"))
    definitions, key_of = compile_group_by(params.get("GroupBy"))
    predicate = compile_filter(params.get("Filter"))
    _check_billing_view(ctx, params)
    offset = _page_offset(ctx, params)

    periods = _periods(start, end, granularity)
    fields = {"unblended", "usage"} | {METRICS[name][0] for name in metrics}

    def compute() -> list[dict]:
        ledger = _ledger(ctx)
        return _period_sums(ledger, _visible(ctx, ledger, predicate), key_of, periods, fields)

    sums = _report(ctx, params, compute)
    today = ctx.now().date()
    if not definitions:
        zero = dict.fromkeys(fields, 0)
        return {"ResultsByTime": [
            {"TimePeriod": {"Start": p_start.isoformat(), "End": p_end.isoformat()},
             "Total": _metric_values(period_sums.get((), zero), metrics), "Groups": [],
             "Estimated": _estimated(p_end, today)}
            for (p_start, p_end), period_sums in zip(periods, sums)], "DimensionValueAttributes": []}

    # Pages hold (period, group) entries; a period without groups still takes one slot, so every
    # period appears on some page.
    entries = [(index, keys) for index, period_sums in enumerate(sums) for keys in (sorted(period_sums) or [None])]
    if offset > len(entries):
        raise AwsError("InvalidNextTokenException", "The pagination token is invalid.")
    page = entries[offset:offset + GROUPS_PER_PAGE]
    results: dict[int, dict] = {}
    for index, keys in page:
        result = results.setdefault(index, {
            "TimePeriod": {"Start": periods[index][0].isoformat(), "End": periods[index][1].isoformat()},
            "Total": {}, "Groups": [], "Estimated": _estimated(periods[index][1], today)})
        if keys is not None:
            result["Groups"].append({"Keys": list(keys), "Metrics": _metric_values(sums[index][keys], metrics)})
    response = {"GroupDefinitions": definitions, "ResultsByTime": list(results.values()),
                "DimensionValueAttributes": _linked_account_attributes(ctx, definitions, page)}
    if offset + len(page) < len(entries):
        response["NextPageToken"] = _next_token(ctx, params, offset + len(page))
    return response


def _linked_account_attributes(ctx, definitions: list[dict], page: list) -> list[dict]:
    """Account names for the LINKED_ACCOUNT keys on this page."""
    positions = [i for i, d in enumerate(definitions) if d == {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}]
    accounts = sorted({keys[position] for _index, keys in page if keys for position in positions})
    return [{"Value": account, "Attributes": {"description": _account_name(ctx, account)}} for account in accounts]


# -- GetTags / GetDimensionValues ------------------------------------------------------------
def _values_with_cost(ctx, params: dict, values_of) -> list[str]:
    """The distinct values (``values_of(line)`` -> iterable) of the visible, filtered series with
    cost in the TimePeriod: sorted, or in ``SortBy`` order (then at most ``MaxResults``)."""
    start, end = _history_period(ctx, params.get("TimePeriod") or {})
    predicate = compile_filter(params.get("Filter"))
    sort = _sort_definition(params)
    _check_billing_view(ctx, params)
    ledger = _ledger(ctx)
    first, last = ledger.index(start), ledger.index(end)
    members: dict[str, list[Series]] = {}
    for series in _visible(ctx, ledger, predicate):
        if _has_cost(series, first, last):
            for value in values_of(series.line):
                members.setdefault(value, []).append(series)
    if not sort:
        return sorted(members)
    field, descending = sort
    totals = {value: sum(sum(_field(series, field)[first:last]) for series in group)
              for value, group in members.items()}
    ordered = sorted(sorted(members), key=totals.__getitem__, reverse=descending)
    return ordered[:_max_sorted_results(params)]


def _matches_search(search: str | None, *texts: str) -> bool:
    return not search or any(search.lower() in text.lower() for text in texts)


@operation("ce", "GetTags")
def get_tags(ctx, params):
    """Cost-allocation tag keys with cost in the period (no TagKey), or one key's values ("" for the
    cost without the tag). Read-only."""
    tag_key = params.get("TagKey")
    if tag_key:
        values = _values_with_cost(ctx, params, lambda line: [line.tag(tag_key)])
    else:
        values = _values_with_cost(ctx, params, lambda line: [key for key, value in line.tags if value])
    search = params.get("SearchString")
    page, members = _value_page(ctx, params, [value for value in values if _matches_search(search, value)])
    return {"Tags": page, **members}


@operation("ce", "GetDimensionValues")
def get_dimension_values(ctx, params):
    """The values of a dimension with cost in the period; LINKED_ACCOUNT values carry the account
    name as ``description``. Read-only."""
    dimension = params.get("Dimension")
    if dimension not in DIMENSIONS:
        raise validation(f"Invalid Dimension {dimension!r}. Valid values are: {', '.join(DIMENSIONS)}")
    if dimension in ("LINKED_ACCOUNT_NAME", "SERVICE_CODE"):
        raise validation(f"Dimension {dimension} can only be used in cost category rules.")
    context = params.get("Context", "COST_AND_USAGE")
    if context not in ("COST_AND_USAGE", "RESERVATIONS", "SAVINGS_PLANS"):
        raise validation(f"Invalid Context {context!r}. Valid values are: COST_AND_USAGE, RESERVATIONS, "
                         "SAVINGS_PLANS")
    if params.get("DimensionKey") and dimension != "PRODUCT_ATTRIBUTE":
        raise validation("DimensionKey can be specified only when Dimension is PRODUCT_ATTRIBUTE.")
    if params.get("SortBy") and context != "COST_AND_USAGE":
        raise validation("SortBy is supported only in the COST_AND_USAGE context.")
    # No reservations or savings plans exist, and product attributes exist only for Bedrock.
    has_values = context == "COST_AND_USAGE" and dimension != "PRODUCT_ATTRIBUTE"
    values = _values_with_cost(ctx, params, lambda line: [
        value for value in [line.dimension(dimension)] if value is not None and has_values])
    search = params.get("SearchString")
    described = [(value, _value_attributes(ctx, dimension, value)) for value in values]
    matching = [(value, attributes) for value, attributes in described
                if _matches_search(search, value, *attributes.values())]
    page, members = _value_page(ctx, params, matching)
    return {"DimensionValues": [{"Value": value, "Attributes": attributes} for value, attributes in page],
            **members}


def _value_attributes(ctx, dimension: str, value: str) -> dict[str, str]:
    if dimension == "LINKED_ACCOUNT":
        return {"description": _account_name(ctx, value)}
    if dimension == "USAGE_TYPE":
        return {"unit": METRICS["UsageQuantity"][1]}
    return {}


# -- GetCostForecast -------------------------------------------------------------------------
def _forecast_period(ctx, period: dict, granularity: str) -> tuple[date, date]:
    """Validate a forecast TimePeriod: today <= Start < End, within 3 months (DAILY) or 18 (MONTHLY)."""
    start, start_has_time = _parse_day(period.get("Start"), "start date")
    end, end_has_time = _parse_day(period.get("End"), "end date")
    if start_has_time or end_has_time:
        raise validation("Hourly timePeriod is not supported for this request")
    if start >= end:
        raise validation(f"Requested Start: {start.isoformat()} must be before requested End: {end.isoformat()}")
    today = ctx.now().date()
    if start < today:
        raise validation(f"Start date {start.isoformat()} must be equal to or later than the current date "
                         f"{today.isoformat()}.")
    horizon_months = 3 if granularity == "DAILY" else 18
    if end > _add_months(today, horizon_months):
        raise validation(f"End date {end.isoformat()} is too far in the future: {granularity} forecasts cover at "
                         f"most {horizon_months} months.")
    return start, end


def _active_meter_daily_usd(ctx, predicate) -> float:
    """The daily run rate of the meters still running that the caller sees and the filter keeps."""
    own_only = ctx.account_id != org_layout.MANAGEMENT_ACCOUNT_ID
    total = 0.0
    for meter in ctx.service_state("meters").values():
        line = Line(meter["account"], meter["region"], meter["service"], meter["usage_type"], "",
                    cost_allocation_tags(meter["tags"]))
        if meter["end"] is None and (not own_only or line.account == ctx.account_id) \
                and (predicate is None or predicate(line)):
            total += meter["hourly_usd"] * 24
    return total


def _trend_model(daily: list[float], first_day: date):
    """Fit weekday factors and a linear trend to daily costs; return (mean(day), residual sigma)."""
    overall = sum(daily) / len(daily)
    weekday_factor = {}
    for weekday in range(7):
        values = [v for i, v in enumerate(daily) if (first_day + timedelta(days=i)).weekday() == weekday]
        weekday_factor[weekday] = (sum(values) / len(values) / overall) if overall and values else 1.0
    adjusted = [v / (weekday_factor[(first_day + timedelta(days=i)).weekday()] or 1.0) for i, v in enumerate(daily)]
    count = len(adjusted)
    mean_x, mean_y = (count - 1) / 2, sum(adjusted) / count
    spread_x = sum((i - mean_x) ** 2 for i in range(count))
    slope = sum((i - mean_x) * (y - mean_y) for i, y in enumerate(adjusted)) / spread_x
    intercept = mean_y - slope * mean_x

    def mean(day: date) -> float:
        return max(0.0, (intercept + slope * (day - first_day).days) * weekday_factor[day.weekday()])

    sigma = math.sqrt(sum((v - mean(first_day + timedelta(days=i))) ** 2 for i, v in enumerate(daily)) / count)
    return mean, sigma


@operation("ce", "GetCostForecast")
def get_cost_forecast(ctx, params):
    """Forecast cost from the last 8 weeks of history (weekday rhythm + linear trend) plus the run
    rate of meters still running, with a prediction interval. Read-only."""
    granularity = params.get("Granularity")
    if granularity not in ("DAILY", "MONTHLY"):
        raise validation(f"Invalid Granularity {granularity!r}: GetCostForecast supports only DAILY and MONTHLY.")
    metric = params.get("Metric")
    if metric not in FORECAST_METRICS:
        usage_metric = metric in ("USAGE_QUANTITY", "NORMALIZED_USAGE_AMOUNT")
        hint = " Use GetUsageForecast for usage metrics." if usage_metric else ""
        raise validation(f"Invalid Metric {metric!r}. Valid values for GetCostForecast are: "
                         f"{', '.join(FORECAST_METRICS)}.{hint}")
    start, end = _forecast_period(ctx, params.get("TimePeriod") or {}, granularity)
    level = params.get("PredictionIntervalLevel", DEFAULT_PREDICTION_INTERVAL)
    if not 51 <= level <= 99:
        raise validation("PredictionIntervalLevel must be between 51 and 99.")
    predicate = compile_filter(params.get("Filter"), dimensions=FORECAST_DIMENSIONS)
    _check_billing_view(ctx, params)

    ledger = _ledger(ctx)
    today = ledger.today
    lookback_start = today - timedelta(days=FORECAST_LOOKBACK_DAYS)
    first, last = ledger.index(lookback_start), ledger.index(today)
    field = FORECAST_METRICS[metric]
    history, observed = [0] * (last - first), [0] * (last - first)
    for series in _visible(ctx, ledger, predicate):
        values = _field(series, field)[first:last]
        observed = list(map(operator.add, observed, values))
        if not series.metered:
            history = list(map(operator.add, history, values))
    if sum(1 for units in observed if units) < FORECAST_MIN_DAYS_WITH_DATA:
        raise AwsError("DataUnavailableException", "Insufficient amount of historical data to generate a forecast: "
                                                   f"at least {FORECAST_MIN_DAYS_WITH_DATA} days of cost are needed.")
    mean_of, sigma = _trend_model([units / AMOUNT_SCALE for units in history], lookback_start)
    meters_per_day = _active_meter_daily_usd(ctx, predicate)
    z = NormalDist().inv_cdf(0.5 + level / 200)
    results, total = [], 0.0
    for period_start, period_end in _periods(start, end, granularity):
        days = [period_start + timedelta(days=i) for i in range((period_end - period_start).days)]
        mean = sum(mean_of(day) + meters_per_day for day in days)
        horizon = (period_start - today).days + len(days) / 2
        spread = z * (sigma * math.sqrt(len(days)) + mean * FORECAST_MONTHLY_DRIFT * horizon / 30.44)
        total += mean
        results.append({"TimePeriod": {"Start": period_start.isoformat(), "End": period_end.isoformat()},
                        "MeanValue": _usd(mean), "PredictionIntervalLowerBound": _usd(max(0.0, mean - spread)),
                        "PredictionIntervalUpperBound": _usd(mean + spread)})
    return {"Total": {"Amount": _usd(total), "Unit": "USD"}, "ForecastResultsByTime": results}
