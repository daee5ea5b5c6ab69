"""Cost Explorer in the sandbox: input rules, the seeded history's shape, meters, paging, forecast."""
import statistics
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

import sandbox.services.ce as ce
from sandbox.services.ce_history import seeded_history
from sandbox.core import org_layout
from sandbox.core.registry import operation
from tests.sandbox.helpers import service_caller

MANAGEMENT = org_layout.MANAGEMENT_ACCOUNT_ID
FRAUD_DEV = org_layout.team_account("fraud-detection", "dev")
CREDIT_DEV = org_layout.team_account("credit-risk", "dev")
TEAM_BY_SERVICE = [{"Type": "TAG", "Key": "team"}, {"Type": "DIMENSION", "Key": "SERVICE"}]


@operation("cetest", "StartMeter")
def _start_meter(ctx, params):
    """A stand-in for a provisioning module: start a meter as a provisioned resource would."""
    ctx.meter_start(params["Arn"], service_name="Amazon SageMaker", usage_type="USE1-Host:ml.g5.xlarge",
                    hourly_usd=params["HourlyUsd"], tags=params["Tags"], account_id=params["Account"])
    return {}


@operation("cetest", "StopMeter")
def _stop_meter(ctx, params):
    ctx.meter_stop(params["Arn"])
    return {}


call, error_of = service_caller("ce", MANAGEMENT)

# Cost data is drawn around the day: every test runs at each boundary day, never at today's date.
pytestmark = pytest.mark.usefixtures("boundary_clock")


def today(engine) -> date:
    return engine.now().date()


def period(start: date, end: date) -> dict:
    return {"Start": start.isoformat(), "End": end.isoformat()}


def all_pages(engine, **params) -> list[dict]:
    pages = [call(engine, "GetCostAndUsage", **params)]
    while "NextPageToken" in pages[-1]:
        pages.append(call(engine, "GetCostAndUsage", **params, NextPageToken=pages[-1]["NextPageToken"]))
    return pages


def grouped(pages: list[dict], metric="UnblendedCost") -> dict[tuple, Decimal]:
    """{(period start, *keys): amount} over every page, failing on a group seen twice."""
    found = {}
    for page in pages:
        for result in page["ResultsByTime"]:
            for group in result["Groups"]:
                key = (result["TimePeriod"]["Start"], *group["Keys"])
                assert key not in found, f"group {key} came back twice"
                found[key] = Decimal(group["Metrics"][metric]["Amount"])
    return found


def daily_totals(engine, start: date, end: date, account=MANAGEMENT, **params) -> dict[str, Decimal]:
    result = call(engine, "GetCostAndUsage", account, TimePeriod=period(start, end), Granularity="DAILY",
                  Metrics=["UnblendedCost"], **params)
    return {r["TimePeriod"]["Start"]: Decimal(r["Total"]["UnblendedCost"]["Amount"]) for r in result["ResultsByTime"]}


def set_clock(engine, moment: datetime) -> None:
    engine.clock_offset = moment - datetime.now(timezone.utc)


# -- input rules -------------------------------------------------------------------------------
def test_three_group_bys_are_refused(engine):
    day = today(engine)
    error = error_of(engine, "GetCostAndUsage", TimePeriod=period(day - timedelta(days=7), day),
                     Granularity="DAILY", Metrics=["UnblendedCost"],
                     GroupBy=TEAM_BY_SERVICE + [{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}])
    assert error.code == "ValidationException"


@pytest.mark.parametrize("group_by", [
    [{"Type": "DIMENSION", "Key": "CHARGE_TYPE"}],
    [{"Type": "TAGS", "Key": "team"}],
    [{"Type": "TAG", "Key": "team"}, {"Type": "TAG", "Key": "team"}],
])
def test_bad_group_definitions_are_refused(engine, group_by):
    day = today(engine)
    error = error_of(engine, "GetCostAndUsage", TimePeriod=period(day - timedelta(days=7), day),
                     Granularity="DAILY", Metrics=["UnblendedCost"], GroupBy=group_by)
    assert error.code == "ValidationException"


@pytest.mark.parametrize("metrics", [["UnblendedCosts"], ["Cost"], []])
def test_unknown_or_missing_metrics_are_refused(engine, metrics):
    day = today(engine)
    error = error_of(engine, "GetCostAndUsage", TimePeriod=period(day - timedelta(days=7), day),
                     Granularity="DAILY", Metrics=metrics)
    assert error.code == "ValidationException"


def test_metric_names_are_accepted_in_either_spelling_and_answered_in_aws_spelling(engine):
    day = today(engine)
    result = call(engine, "GetCostAndUsage", TimePeriod=period(day - timedelta(days=7), day), Granularity="MONTHLY",
                  Metrics=["UNBLENDED_COST", "AmortizedCost", "usagequantity", "UnblendedCost"])
    total = result["ResultsByTime"][0]["Total"]
    assert list(total) == ["UnblendedCost", "AmortizedCost", "UsageQuantity"]
    assert total["UnblendedCost"]["Unit"] == "USD" and total["UsageQuantity"]["Unit"] == "Hrs"


def _time_period_error(engine, start, end, granularity="DAILY"):
    return error_of(engine, "GetCostAndUsage", TimePeriod={"Start": start, "End": end}, Granularity=granularity,
                    Metrics=["UnblendedCost"])


def test_bad_dates_are_refused(engine):
    day = today(engine)
    yesterday, last_week = (day - timedelta(days=1)).isoformat(), (day - timedelta(days=7)).isoformat()
    assert _time_period_error(engine, "2026/01/01", yesterday).code == "ValidationException"
    assert _time_period_error(engine, "2026-02-30", yesterday).code == "ValidationException"
    start_after_end = _time_period_error(engine, yesterday, last_week)
    assert start_after_end.message == "Start date (and hour) should be before end date (and hour)"
    assert _time_period_error(engine, yesterday, yesterday).code == "ValidationException"
    tomorrow = (day + timedelta(days=1)).isoformat()
    assert _time_period_error(engine, tomorrow, (day + timedelta(days=2)).isoformat()).code == "ValidationException"
    far_end = (ce._first_of_next_month(day) + timedelta(days=1)).isoformat()
    assert _time_period_error(engine, yesterday, far_end).message == "end date past the beginning of next month"
    assert _time_period_error(engine, yesterday + "T00:00:00Z", day.isoformat()).code == "ValidationException"


def test_history_reaches_back_13_months_plus_the_current_one(engine):
    day = today(engine)
    oldest = ce.history_start(day)
    months = call(engine, "GetCostAndUsage", TimePeriod=period(oldest, day + timedelta(days=1)),
                  Granularity="MONTHLY", Metrics=["UnblendedCost"])["ResultsByTime"]
    amounts = [Decimal(m["Total"]["UnblendedCost"]["Amount"]) for m in months]
    assert len(months) == 14 and all(amount > 0 for amount in amounts[:13])
    assert (amounts[13] > 0) == (day.day > 1)         # on the 1st, the month has no complete hour of cost yet
    too_old = ce._add_months(oldest, -1)
    assert _time_period_error(engine, too_old.isoformat(), oldest.isoformat()).code == "DataUnavailableException"
    mid_month = (too_old + timedelta(days=3)).isoformat()
    assert _time_period_error(engine, mid_month, oldest.isoformat()).code == "ValidationException"


def test_hourly_granularity_needs_opt_in(engine):
    day = today(engine)
    error = _time_period_error(engine, (day - timedelta(days=2)).isoformat(), day.isoformat(), granularity="HOURLY")
    assert error.code == "ValidationException" and "Hourly granularity is not enabled" in error.message


@pytest.mark.parametrize("expression", [
    {"Tags": {"Key": "team", "Values": ["credit-risk"]}, "Dimensions": {"Key": "REGION", "Values": ["us-east-1"]}},
    {},
    {"Not": {"Dimensions": {"Key": "SERVICE", "Values": ["Amazon SageMaker"]}}},
    {"Or": [{"Dimensions": {"Key": "SERVICE", "Values": ["AWS Glue"]}}, {"Tags": {"Key": "team", "Values": ["x"]}}]},
    {"Dimensions": {"Key": "REGION", "Values": ["us-east-1"], "MatchOptions": ["ABSENT"]}},
    {"Tags": {"Key": "team", "Values": ["x"], "MatchOptions": ["STARTS_WITH"]}},
    {"Dimensions": {"Key": "LINKED_ACCOUNT_NAME", "Values": ["data-lake"]}},
])
def test_malformed_filters_are_refused(engine, expression):
    day = today(engine)
    error = error_of(engine, "GetCostAndUsage", TimePeriod=period(day - timedelta(days=7), day), Granularity="DAILY",
                     Metrics=["UnblendedCost"], Filter=expression)
    assert error.code == "ValidationException"


def test_two_roots_get_the_aws_message(engine):
    day = today(engine)
    error = error_of(engine, "GetCostAndUsage", TimePeriod=period(day - timedelta(days=7), day), Granularity="DAILY",
                     Metrics=["UnblendedCost"], Filter={"And": [{"Tags": {"Key": "team", "Values": ["a"]}}],
                                                        "Tags": {"Key": "team", "Values": ["b"]}})
    assert error.message.startswith("Expression has more than one roots.")


# -- grouping, totals, filters -----------------------------------------------------------------
def test_grouping_by_team_tag_gives_team_keys_and_the_untagged_group(engine):
    this_month = today(engine).replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    result = call(engine, "GetCostAndUsage", TimePeriod=period(last_month, this_month),
                  Granularity="MONTHLY", Metrics=["UnblendedCost"], GroupBy=[{"Type": "TAG", "Key": "team"}])
    assert result["GroupDefinitions"] == [{"Type": "TAG", "Key": "team"}]
    month = result["ResultsByTime"][0]
    assert month["Total"] == {}
    amounts = {group["Keys"][0]: Decimal(group["Metrics"]["UnblendedCost"]["Amount"]) for group in month["Groups"]}
    assert set(amounts) == {"team$fraud-detection", "team$credit-risk", "team$marketing-ml", "team$"}
    assert amounts["team$fraud-detection"] > amounts["team$credit-risk"] > amounts["team$marketing-ml"]
    untagged_share = amounts["team$"] / sum(amounts.values())
    assert Decimal("0.05") <= untagged_share <= Decimal("0.08")


def test_groups_add_up_to_the_ungrouped_total_to_the_cent(engine):
    day = today(engine)
    params = {"TimePeriod": period(ce.history_start(day), day), "Granularity": "MONTHLY",
              "Metrics": ["UnblendedCost", "AmortizedCost"]}
    totals = call(engine, "GetCostAndUsage", **params)["ResultsByTime"]
    for metric in ("UnblendedCost", "AmortizedCost"):
        groups = grouped(all_pages(engine, **params, GroupBy=TEAM_BY_SERVICE), metric)
        for result in totals:
            start = result["TimePeriod"]["Start"]
            summed = sum(amount for key, amount in groups.items() if key[0] == start)
            assert summed == Decimal(result["Total"][metric]["Amount"])


def test_filters_select_lines_and_values_are_or_ed(engine):
    day = today(engine)
    window = {"TimePeriod": period(day - timedelta(days=30), day), "Granularity": "MONTHLY",
              "Metrics": ["UnblendedCost"]}

    def total(expression):
        results = call(engine, "GetCostAndUsage", **window, Filter=expression)["ResultsByTime"]
        return sum(Decimal(r["Total"]["UnblendedCost"]["Amount"]) for r in results)

    by_team = {team: total({"Tags": {"Key": "team", "Values": [team]}}) for team in org_layout.TEAMS}
    untagged = total({"Tags": {"Key": "team", "MatchOptions": ["ABSENT"]}})
    everything = total({"Not": {"Tags": {"Key": "team", "Values": ["nobody"]}}})
    assert sum(by_team.values()) + untagged == everything
    assert total({"Tags": {"Key": "team", "Values": ["credit-risk", "marketing-ml"]}}) == \
        by_team["credit-risk"] + by_team["marketing-ml"]
    sagemaker_fraud = total({"And": [{"Tags": {"Key": "team", "Values": ["fraud-detection"]}},
                                     {"Dimensions": {"Key": "SERVICE", "Values": ["Amazon SageMaker"]}}]})
    assert by_team["fraud-detection"] * Decimal("0.6") < sagemaker_fraud < by_team["fraud-detection"]


def test_a_member_account_sees_only_its_own_cost(engine):
    day = today(engine)
    result = call(engine, "GetCostAndUsage", FRAUD_DEV, TimePeriod=period(day - timedelta(days=14), day),
                  Granularity="MONTHLY", Metrics=["UnblendedCost"],
                  GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}])
    keys = {group["Keys"][0] for r in result["ResultsByTime"] for group in r["Groups"]}
    assert keys == {FRAUD_DEV}
    assert result["DimensionValueAttributes"] == [
        {"Value": FRAUD_DEV, "Attributes": {"description": "fraud-detection-dev"}}]


def test_recent_days_and_the_open_month_are_estimated(engine):
    day = today(engine)
    daily = call(engine, "GetCostAndUsage", TimePeriod=period(day - timedelta(days=40), day + timedelta(days=1)),
                 Granularity="DAILY", Metrics=["UnblendedCost"])["ResultsByTime"]
    estimated = {r["TimePeriod"]["Start"] for r in daily if r["Estimated"]}
    for back in (0, 1, 2):
        assert (day - timedelta(days=back)).isoformat() in estimated
    assert (day - timedelta(days=35)).isoformat() not in estimated
    assert all(r["Estimated"] for r in daily if r["TimePeriod"]["Start"] >= day.replace(day=1).isoformat())
    assert daily[-1]["Total"]["UnblendedCost"]["Amount"] == "0"    # today: only completed meter hours
    monthly = call(engine, "GetCostAndUsage", TimePeriod=period(ce.history_start(day), day + timedelta(days=1)),
                   Granularity="MONTHLY", Metrics=["UnblendedCost"])["ResultsByTime"]
    assert [r["Estimated"] for r in monthly[:-2]] == [False] * 12 and monthly[-1]["Estimated"]


# -- the history's shape ---------------------------------------------------------------------------
def test_the_credit_risk_dev_training_anomaly_stands_out(engine):
    anchor = date.fromisoformat(engine.state["ce"]["history_anchor"])
    start = anchor - timedelta(days=70)
    days = daily_totals(engine, start, anchor - timedelta(days=10), Filter={"And": [
        {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": [CREDIT_DEV]}},
        {"Dimensions": {"Key": "SERVICE", "Values": ["Amazon SageMaker"]}}]})
    top_three = sorted(days, key=days.get, reverse=True)[:3]
    assert sorted(top_three) == [(anchor - timedelta(days=back)).isoformat() for back in (41, 40, 39)]
    typical = statistics.median(days.values())
    assert all(days[day] > 2 * typical for day in top_three)


def test_weekends_are_cheaper_cost_grows_and_prod_costs_most(engine):
    day = today(engine)
    days = daily_totals(engine, day - timedelta(days=56), day - timedelta(days=1))
    weekday = statistics.mean(v for d, v in days.items() if date.fromisoformat(d).weekday() < 5)
    weekend = statistics.mean(v for d, v in days.items() if date.fromisoformat(d).weekday() >= 5)
    assert weekend < weekday * Decimal("0.9")
    months = call(engine, "GetCostAndUsage", TimePeriod=period(ce.history_start(day), day.replace(day=1)),
                  Granularity="MONTHLY", Metrics=["UnblendedCost"])["ResultsByTime"]
    per_day = [Decimal(m["Total"]["UnblendedCost"]["Amount"]) /
               (date.fromisoformat(m["TimePeriod"]["End"]) - date.fromisoformat(m["TimePeriod"]["Start"])).days
               for m in months]
    assert per_day[-1] > per_day[0] * Decimal("1.4")
    by_environment = {env: sum(daily_totals(engine, day - timedelta(days=28), day,
                                            Filter={"Tags": {"Key": "environment", "Values": [env]}}).values())
                      for env in ("prod", "test", "dev")}
    assert by_environment["prod"] > by_environment["test"] > by_environment["dev"]


def test_amortized_cost_is_smoothed_only_in_prod(engine):
    day = today(engine)
    window = {"TimePeriod": period(day - timedelta(days=28), day - timedelta(days=1)), "Granularity": "DAILY",
              "Metrics": ["UnblendedCost", "AmortizedCost"], "GroupBy": [{"Type": "TAG", "Key": "environment"}],
              "Filter": {"Dimensions": {"Key": "USAGE_TYPE", "Values": ["USE1-Host:ml.m5.xlarge"]}}}
    series = {}
    for result in call(engine, "GetCostAndUsage", **window)["ResultsByTime"]:
        for group in result["Groups"]:
            for metric, value in group["Metrics"].items():
                series.setdefault((group["Keys"][0], metric), []).append(Decimal(value["Amount"]))
    assert series[("environment$test", "AmortizedCost")] == series[("environment$test", "UnblendedCost")]
    prod_amortized = series[("environment$prod", "AmortizedCost")]
    prod_unblended = series[("environment$prod", "UnblendedCost")]
    assert sum(prod_amortized) < sum(prod_unblended)
    assert statistics.pstdev(prod_amortized) < statistics.pstdev(prod_unblended) / 3


# -- paging -------------------------------------------------------------------------------------------
def test_paging_returns_every_group_exactly_once(engine):
    day = today(engine)
    params = {"TimePeriod": period(ce.history_start(day), day + timedelta(days=1)), "Granularity": "MONTHLY",
              "Metrics": ["UnblendedCost"], "GroupBy": TEAM_BY_SERVICE}
    pages = all_pages(engine, **params)
    assert len(pages) >= 2
    assert all(len([g for r in page["ResultsByTime"] for g in r["Groups"]]) <= ce.GROUPS_PER_PAGE for page in pages)
    groups = grouped(pages)
    months = {r["TimePeriod"]["Start"] for page in pages for r in page["ResultsByTime"]}
    assert len(months) == 14
    assert ("%s" % ce.history_start(day).isoformat(), "team$fraud-detection", "Amazon SageMaker") in groups
    assert sum(1 for key in groups if key[1] == "team$") >= 14


def test_changing_parameters_between_pages_is_refused(engine):
    day = today(engine)
    params = {"TimePeriod": period(ce.history_start(day), day), "Granularity": "MONTHLY",
              "Metrics": ["UnblendedCost"], "GroupBy": TEAM_BY_SERVICE}
    token = call(engine, "GetCostAndUsage", **params)["NextPageToken"]
    changed = error_of(engine, "GetCostAndUsage", **{**params, "Metrics": ["AmortizedCost"]}, NextPageToken=token)
    assert changed.code == "RequestChangedException"
    garbage = error_of(engine, "GetCostAndUsage", **params, NextPageToken="not-a-token")
    assert garbage.code == "InvalidNextTokenException"


# -- meters ----------------------------------------------------------------------------------------
def test_a_meter_accrues_on_the_days_it_ran_with_its_tags(engine):
    day = today(engine)
    tags = {"team": "fraud-detection", "environment": "dev", "project": "churn", "portal-request": "req-1",
            "Name": "not-a-cost-allocation-tag"}
    set_clock(engine, datetime(day.year, day.month, day.day, 20, tzinfo=timezone.utc) - timedelta(days=3))
    engine.invoke("cetest", "StartMeter", {"Arn": "arn:aws:sagemaker:us-east-1:333333333311:endpoint/churn",
                                           "HourlyUsd": 1.5, "Tags": tags, "Account": FRAUD_DEV},
                  account_id=FRAUD_DEV)
    set_clock(engine, datetime(day.year, day.month, day.day, 6, 30, tzinfo=timezone.utc) - timedelta(days=1))
    engine.invoke("cetest", "StopMeter", {"Arn": "arn:aws:sagemaker:us-east-1:333333333311:endpoint/churn"},
                  account_id=FRAUD_DEV)
    set_clock(engine, datetime(day.year, day.month, day.day, 12, 40, tzinfo=timezone.utc))

    result = call(engine, "GetCostAndUsage", TimePeriod=period(day - timedelta(days=4), day + timedelta(days=1)),
                  Granularity="DAILY", Metrics=["UnblendedCost", "UsageQuantity"],
                  GroupBy=[{"Type": "TAG", "Key": "project"}, {"Type": "TAG", "Key": "portal-request"}],
                  Filter={"Tags": {"Key": "project", "Values": ["churn"]}})
    by_day = {r["TimePeriod"]["Start"]: r["Groups"] for r in result["ResultsByTime"]}
    expected_hours = {day - timedelta(days=4): None, day - timedelta(days=3): "4", day - timedelta(days=2): "24",
                      day - timedelta(days=1): "6.5", day: None}
    for when, hours in expected_hours.items():
        groups = by_day[when.isoformat()]
        if hours is None:
            assert groups == []
            continue
        [group] = groups
        assert group["Keys"] == ["project$churn", "portal-request$req-1"]
        # The clock is set to the microsecond before each call, so allow for a few microseconds.
        usage, cost = (Decimal(group["Metrics"][m]["Amount"]) for m in ("UsageQuantity", "UnblendedCost"))
        assert usage == pytest.approx(Decimal(hours), abs=Decimal("1e-4"))
        assert cost == pytest.approx(Decimal(hours) * Decimal("1.5"), abs=Decimal("1e-4"))
    tag_keys = call(engine, "GetTags", TimePeriod=period(day - timedelta(days=4), day))["Tags"]
    assert {"project", "portal-request", "team"} <= set(tag_keys) and "Name" not in tag_keys


def test_a_running_meter_counts_completed_hours_of_today_and_raises_the_forecast(engine):
    day = today(engine)
    forecast_params = {"TimePeriod": period(day + timedelta(days=1), day + timedelta(days=8)),
                       "Metric": "UNBLENDED_COST", "Granularity": "DAILY"}
    set_clock(engine, datetime(day.year, day.month, day.day, 9, 15, tzinfo=timezone.utc))
    before = call(engine, "GetCostForecast", **forecast_params)
    engine.invoke("cetest", "StartMeter", {"Arn": "arn:aws:sagemaker:us-east-1:333333333321:domain/d-1",
                                           "HourlyUsd": 10.0, "Tags": {"team": "credit-risk"}, "Account": CREDIT_DEV},
                  account_id=CREDIT_DEV)
    set_clock(engine, datetime(day.year, day.month, day.day, 12, 40, tzinfo=timezone.utc))
    today_cost = daily_totals(engine, day, day + timedelta(days=1), CREDIT_DEV)[day.isoformat()]
    assert today_cost == pytest.approx(Decimal("27.5"), abs=Decimal("1e-3"))    # 09:15 to 12:00 at $10/h
    after = call(engine, "GetCostForecast", **forecast_params)
    for old, new in zip(before["ForecastResultsByTime"], after["ForecastResultsByTime"]):
        raised = Decimal(new["MeanValue"]) - Decimal(old["MeanValue"])
        assert raised == pytest.approx(Decimal(240), abs=Decimal("0.001"))     # $10/h all day


# -- forecast -------------------------------------------------------------------------------------------
def test_forecast_shape(engine):
    day = today(engine)
    end = ce._first_of_next_month(ce._first_of_next_month(day))
    daily = call(engine, "GetCostForecast", TimePeriod=period(day, end), Metric="UNBLENDED_COST",
                 Granularity="DAILY", PredictionIntervalLevel=90)
    results = daily["ForecastResultsByTime"]
    assert len(results) == (end - day).days
    for result in results:
        low, mean, high = (Decimal(result[k]) for k in
                           ("PredictionIntervalLowerBound", "MeanValue", "PredictionIntervalUpperBound"))
        assert 0 <= low < mean < high
    assert Decimal(daily["Total"]["Amount"]) == pytest.approx(sum(Decimal(r["MeanValue"]) for r in results),
                                                              abs=Decimal("0.0001"))
    assert daily["Total"]["Unit"] == "USD"
    monthly = call(engine, "GetCostForecast", TimePeriod=period(day, end), Metric="AMORTIZED_COST",
                   Granularity="MONTHLY")
    assert [r["TimePeriod"] for r in monthly["ForecastResultsByTime"]] == [
        period(day, ce._first_of_next_month(day)), period(ce._first_of_next_month(day), end)]
    recent_month = sum(daily_totals(engine, day - timedelta(days=30), day).values())
    next_month = Decimal(monthly["ForecastResultsByTime"][1]["MeanValue"])
    assert recent_month * Decimal("0.85") < next_month < recent_month * Decimal("1.3")


@pytest.mark.parametrize("change, code", [
    ({"Metric": "USAGE_QUANTITY"}, "ValidationException"),
    ({"Granularity": "HOURLY"}, "ValidationException"),
    ({"PredictionIntervalLevel": 100}, "ValidationException"),
    ({"start_days": -1}, "ValidationException"),
    ({"end_days": 200}, "ValidationException"),
    ({"Filter": {"Tags": {"Key": "portal-request", "Values": ["never-provisioned"]}}}, "DataUnavailableException"),
    ({"Filter": {"Dimensions": {"Key": "INVOICING_ENTITY", "Values": ["x"]}}}, "ValidationException"),
])
def test_forecast_input_rules(engine, change, code):
    day, change = today(engine), dict(change)
    params = {"Metric": "UNBLENDED_COST", "Granularity": "DAILY",
              "TimePeriod": period(day + timedelta(days=change.pop("start_days", 0)),
                                   day + timedelta(days=change.pop("end_days", 30)))}
    assert error_of(engine, "GetCostForecast", **{**params, **change}).code == code


# -- GetTags / GetDimensionValues ---------------------------------------------------------------------------
def test_get_tags_lists_keys_and_values(engine):
    day = today(engine)
    window = period(day - timedelta(days=30), day)
    assert call(engine, "GetTags", TimePeriod=window) == {"Tags": ["environment", "team"], "ReturnSize": 2,
                                                          "TotalSize": 2}
    values = call(engine, "GetTags", TimePeriod=window, TagKey="team")
    assert values["Tags"] == ["", "credit-risk", "fraud-detection", "marketing-ml"]
    assert call(engine, "GetTags", TimePeriod=window, TagKey="team", SearchString="RISK")["Tags"] == ["credit-risk"]
    ranked = call(engine, "GetTags", TimePeriod=window, TagKey="team",
                  SortBy=[{"Key": "UnblendedCost", "SortOrder": "DESCENDING"}], MaxResults=2)
    assert ranked["Tags"] == ["fraud-detection", "credit-risk"]
    assert call(engine, "GetTags", FRAUD_DEV, TimePeriod=window, TagKey="team")["Tags"] == ["", "fraud-detection"]
    error = error_of(engine, "GetTags", TimePeriod=window, TagKey="team", SearchString="a",
                     SortBy=[{"Key": "UnblendedCost"}])
    assert error.code == "ValidationException"


def test_get_tags_pages(engine, monkeypatch):
    monkeypatch.setattr(ce, "VALUES_PER_PAGE", 3)
    day = today(engine)
    params = {"TimePeriod": period(day - timedelta(days=30), day), "TagKey": "team"}
    first = call(engine, "GetTags", **params)
    assert first["ReturnSize"] == 3 and first["TotalSize"] == 4
    second = call(engine, "GetTags", **params, NextPageToken=first["NextPageToken"])
    assert first["Tags"] + second["Tags"] == ["", "credit-risk", "fraud-detection", "marketing-ml"]
    assert "NextPageToken" not in second
    error = error_of(engine, "GetTags", **{**params, "TagKey": "environment"}, NextPageToken=first["NextPageToken"])
    assert error.code == "RequestChangedException"


def test_get_dimension_values(engine, monkeypatch):
    day = today(engine)
    window = period(day - timedelta(days=30), day)
    services = [v["Value"] for v in call(engine, "GetDimensionValues", TimePeriod=window,
                                         Dimension="SERVICE")["DimensionValues"]]
    assert services == sorted(["Amazon SageMaker", "Amazon Simple Storage Service", "AWS Glue", "AmazonCloudWatch",
                               "Amazon Elastic Compute Cloud - Compute", "AWS Key Management Service",
                               "Amazon EC2 Container Registry (ECR)"])
    accounts = call(engine, "GetDimensionValues", TimePeriod=window, Dimension="LINKED_ACCOUNT")
    assert accounts["TotalSize"] == len(org_layout.ACCOUNTS)
    named = {v["Value"]: v["Attributes"]["description"] for v in accounts["DimensionValues"]}
    assert named[CREDIT_DEV] == "credit-risk-dev"
    found = call(engine, "GetDimensionValues", TimePeriod=window, Dimension="LINKED_ACCOUNT", SearchString="data-lake")
    assert [v["Value"] for v in found["DimensionValues"]] == ["222222222204"]
    regions = call(engine, "GetDimensionValues", TimePeriod=window, Dimension="REGION")["DimensionValues"]
    assert [v["Value"] for v in regions] == ["us-east-1", "us-west-2"]
    assert call(engine, "GetDimensionValues", TimePeriod=window, Dimension="LINKED_ACCOUNT",
                Context="RESERVATIONS")["DimensionValues"] == []
    assert error_of(engine, "GetDimensionValues", TimePeriod=window, Dimension="SERVICE_CODE").code == \
        "ValidationException"
    monkeypatch.setattr(ce, "VALUES_PER_PAGE", 5)
    first = call(engine, "GetDimensionValues", TimePeriod=window, Dimension="LINKED_ACCOUNT")
    rest = call(engine, "GetDimensionValues", TimePeriod=window, Dimension="LINKED_ACCOUNT",
                NextPageToken=first["NextPageToken"])
    assert first["ReturnSize"] == 5 and first["TotalSize"] == len(org_layout.ACCOUNTS)
    assert first["DimensionValues"] + rest["DimensionValues"] == accounts["DimensionValues"][:10]


# -- performance --------------------------------------------------------------------------------------
def test_a_13_month_daily_report_by_team_and_service_pages_from_a_cold_start(engine):
    day = today(engine)
    params = {"TimePeriod": period(ce.history_start(day), day), "Granularity": "DAILY",
              "Metrics": ["UnblendedCost"], "GroupBy": TEAM_BY_SERVICE}
    seeded_history.cache_clear()      # cold: the history is built within the timed call
    started = time.perf_counter()
    first_page = call(engine, "GetCostAndUsage", **params)
    first_page_seconds = time.perf_counter() - started
    started = time.perf_counter()
    pages = all_pages(engine, **params)
    all_pages_seconds = time.perf_counter() - started
    # The times are printed, not asserted: a wall-clock bound fails on a loaded machine (the suite
    # runs on parallel workers); what is asserted is that the cold build answers a paged report.
    print(f"\n13-month DAILY by team x service: first page {first_page_seconds * 1000:.0f} ms, "
          f"all {len(pages)} pages {all_pages_seconds * 1000:.0f} ms")
    assert first_page["NextPageToken"]
    assert len({key[0] for key in grouped(pages)}) == (day - ce.history_start(day)).days


# -- over HTTP: boto3 (strict shape checks) and the AWS CLI ----------------------------------------------
def test_every_operation_through_boto3(aws):
    client = aws("ce")
    day = datetime.now(timezone.utc).date()
    window = period(day - timedelta(days=20), day)
    grouped_report = client.get_cost_and_usage(
        TimePeriod=window, Granularity="DAILY", Metrics=["UnblendedCost", "UsageQuantity"],
        GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}, {"Type": "TAG", "Key": "team"}],
        Filter={"Dimensions": {"Key": "SERVICE", "Values": ["Amazon SageMaker"]}})
    keys = {tuple(g["Keys"]) for r in grouped_report["ResultsByTime"] for g in r["Groups"]}
    assert (org_layout.team_account("fraud-detection", "prod"), "team$fraud-detection") in keys
    assert {"Value": CREDIT_DEV, "Attributes": {"description": "credit-risk-dev"}} in \
        grouped_report["DimensionValueAttributes"]
    with pytest.raises(client.exceptions.ClientError) as caught:
        client.get_cost_and_usage(TimePeriod=window, Granularity="MONTHLY", Metrics=["UnblendedCost"],
                                  GroupBy=TEAM_BY_SERVICE + [{"Type": "DIMENSION", "Key": "REGION"}])
    assert caught.value.response["Error"]["Code"] == "ValidationException"

    forecast = client.get_cost_forecast(TimePeriod=period(day, day + timedelta(days=10)), Metric="UNBLENDED_COST",
                                        Granularity="DAILY", PredictionIntervalLevel=80)
    assert len(forecast["ForecastResultsByTime"]) == 10
    assert client.get_tags(TimePeriod=window, TagKey="team")["Tags"] == ["", "credit-risk", "fraud-detection",
                                                                          "marketing-ml"]
    services = client.get_dimension_values(TimePeriod=window, Dimension="SERVICE", SearchString="sage")
    assert [v["Value"] for v in services["DimensionValues"]] == ["Amazon SageMaker"]


def test_a_member_account_through_boto3_sees_only_itself(aws):
    client = aws("ce", account_id=FRAUD_DEV)
    day = datetime.now(timezone.utc).date()
    accounts = client.get_dimension_values(TimePeriod=period(day - timedelta(days=20), day), Dimension="LINKED_ACCOUNT")
    assert [v["Value"] for v in accounts["DimensionValues"]] == [FRAUD_DEV]


def test_get_cost_and_usage_through_the_cli(aws_cli):
    day = datetime.now(timezone.utc).date()
    completed = aws_cli("ce", "get-cost-and-usage", "--time-period",
                        f"Start={(day - timedelta(days=10)).isoformat()},End={day.isoformat()}",
                        "--granularity", "MONTHLY", "--metrics", "UnblendedCost",
                        "--group-by", "Type=TAG,Key=team")
    groups = {g["Keys"][0] for r in completed.json["ResultsByTime"] for g in r["Groups"]}
    assert {"team$fraud-detection", "team$"} <= groups
    refused = aws_cli("ce", "get-cost-and-usage", "--time-period",
                      f"Start={day.isoformat()},End={(day - timedelta(days=3)).isoformat()}",
                      "--granularity", "DAILY", "--metrics", "UnblendedCost", check=False)
    assert refused.returncode != 0 and "ValidationException" in refused.stderr


def test_forecast_tags_and_dimensions_through_the_cli(aws_cli):
    day = datetime.now(timezone.utc).date()
    window = f"Start={(day - timedelta(days=10)).isoformat()},End={day.isoformat()}"
    forecast = aws_cli("ce", "get-cost-forecast", "--time-period",
                       f"Start={day.isoformat()},End={(day + timedelta(days=5)).isoformat()}",
                       "--metric", "UNBLENDED_COST", "--granularity", "DAILY").json
    assert float(forecast["Total"]["Amount"]) > 0
    assert aws_cli("ce", "get-tags", "--time-period", window).json["Tags"] == ["environment", "team"]
    values = aws_cli("ce", "get-dimension-values", "--time-period", window, "--dimension", "REGION").json
    assert [v["Value"] for v in values["DimensionValues"]] == ["us-east-1", "us-west-2"]
