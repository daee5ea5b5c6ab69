"""The Cost Explorer sync against the sandbox: requests, attribution, idempotency, failures,
backfill, anomalies, forecast, budget alerts; pages never call Cost Explorer."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.urls import reverse

from costs import selectors, services
from costs.models import (BudgetAlert, CostAnomaly, CostDaily, CostFact, CostForecast, CostMonthly, CostSyncRun,
                          CostTeamDay)
from portal.models import Notification
from portal.permissions import SYSTEM

pytestmark = pytest.mark.usefixtures("boundary_clock")     # each test at every boundary day

CE_CALLS: list[str] = []


def counting_instrument(client):
    """AWS_CLIENT_INSTRUMENT for these tests: the shape checker plus a botocore event counter."""
    from tests.support.aws import instrument_client

    instrument_client(client)
    client.meta.events.register("before-call.ce", lambda model, **_: CE_CALLS.append(model.name))


@pytest.fixture
def counted(settings):
    CE_CALLS.clear()
    settings.AWS_CLIENT_INSTRUMENT = "tests.costs.test_sync.counting_instrument"
    return CE_CALLS


def test_a_sync_reads_both_groupings_pages_and_forecast_within_ten_requests(cost_world, aws_endpoint, counted):
    run = services.cost_sync_window()
    assert run.status == "succeeded", run.error
    assert counted.count("GetCostAndUsage") >= 3        # both groupings, and the account one pages
    assert counted.count("GetCostForecast") == 2
    assert run.requests_made == len(counted) <= 10
    assert run.rows == CostFact.objects.count() > 0
    assert (run.window_end - run.window_start).days == 15 and run.duration_ms >= 0 and run.finished_at
    groupings = set(CostFact.objects.values_list("grouping", flat=True))
    assert groupings == {"team_service", "account_service"}
    assert CostForecast.objects.filter(metric="unblended").get().mean > 0


def test_attribution_tag_then_account_owner_then_unallocated(synced, cost_world):
    fraud, credit = cost_world.team, cost_world.other_team
    team_facts = CostFact.objects.filter(grouping="team_service")
    account_facts = CostFact.objects.filter(grouping="account_service")
    total = account_facts.aggregate(s=Sum("unblended"))["s"]
    assert abs(CostDaily.objects.aggregate(s=Sum("unblended"))["s"] - total) < Decimal("0.01")
    assert abs(team_facts.aggregate(s=Sum("unblended"))["s"] - total) < Decimal("0.01")
    # Tagged cost goes to the team named by the tag, in that team's accounts and environments.
    tagged_fraud = team_facts.filter(team_tag="fraud-detection").aggregate(s=Sum("unblended"))["s"]
    fraud_rows = CostDaily.objects.filter(team=fraud)
    kms_fraud = fraud_rows.filter(service="AWS Key Management Service").aggregate(s=Sum("unblended"))["s"]
    assert kms_fraud > 0                                 # untagged KMS in fraud's accounts: by the account owner
    assert abs(fraud_rows.aggregate(s=Sum("unblended"))["s"] - tagged_fraud - kms_fraud) < Decimal("0.01")
    assert set(fraud_rows.values_list("environment", flat=True)) == {"dev", "test", "prod"}
    assert set(fraud_rows.values_list("account_id", flat=True)) == {"333333333311", "333333333312", "333333333313"}
    # A tag naming no portal team (marketing-ml) in accounts the portal does not know: unallocated.
    unallocated = CostDaily.objects.filter(team=None)
    assert "333333333331" in set(unallocated.values_list("account_id", flat=True))
    # A platform-owned account keeps its environment but no team.
    assert unallocated.filter(account_id="222222222203", environment="shared").exists()
    assert CostDaily.objects.filter(team=credit, environment="dev").exists()
    # The rollups agree with the daily grain.
    for model in (CostTeamDay, CostMonthly):
        assert abs(model.objects.aggregate(s=Sum("amortized"))["s"]
                   - CostDaily.objects.aggregate(s=Sum("amortized"))["s"]) < Decimal("0.01")


def test_a_repeat_sync_converges_and_a_restated_day_is_replaced(synced):
    counts = (CostFact.objects.count(), CostDaily.objects.count(), CostTeamDay.objects.count())
    total = CostDaily.objects.aggregate(s=Sum("unblended"))["s"]
    day = CostFact.objects.order_by("day").first().day
    CostFact.objects.filter(day=day).update(unblended=Decimal("999999"))       # a stale, wrong figure
    CostFact.objects.create(day=day, grouping="team_service", team_tag="gone", service="Gone", unblended=5)
    run = services.cost_sync_window()
    assert run.status == "succeeded"
    assert (CostFact.objects.count(), CostDaily.objects.count(), CostTeamDay.objects.count()) == counts
    assert CostDaily.objects.aggregate(s=Sum("unblended"))["s"] == total
    assert not CostFact.objects.filter(service="Gone").exists()
    assert CostSyncRun.objects.filter(status="succeeded").count() == 2


def test_a_failed_sync_is_recorded_with_its_reason_and_keeps_the_data(synced, settings):
    before = CostDaily.objects.count()
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"       # nothing listens there
    settings.AWS_MAX_ATTEMPTS = 1
    from portal import aws
    aws.reset_caches()
    run = services.cost_sync_window()
    assert run.status == "failed"
    assert "Could not connect" in run.error or "Connect" in run.error
    assert run.finished_at is not None
    assert CostDaily.objects.count() == before


def test_the_request_budget_stops_a_sync_before_it_overspends(cost_world, aws_endpoint, counted):
    run = services.cost_sync_window(max_requests=2)
    assert run.status == "failed"
    assert "limit per sync is 2" in run.error
    assert len(counted) == 2 and run.requests_made == 2
    assert not CostFact.objects.exists()                 # nothing half-recorded


def test_pages_work_with_cost_explorer_unreachable(synced, cost_world, client, settings, counted):
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"
    from portal import aws
    aws.reset_caches()
    client.force_login(cost_world["executive"])
    counted.clear()
    for url in (reverse("costs:dashboard"), reverse("costs:team_report", args=[cost_world.team.slug]),
                reverse("costs:dashboard") + "?metric=amortized", reverse("costs:dashboard_csv"),
                reverse("cost-summary-list"), reverse("budget-list")):
        assert client.get(url).status_code == 200, url
    assert counted == []


def test_backfill_loads_months_and_flags_the_training_anomaly(cost_world, aws_endpoint, counted):
    call_command("cost_backfill", "--months", "2")
    runs = list(CostSyncRun.objects.order_by("id"))
    assert [r.kind for r in runs] == ["backfill"] * (len(runs) - 1) + ["window"]
    assert len(runs) == 4 and all(r.status == "succeeded" for r in runs)
    assert all(r.requests_made <= services.MAX_REQUESTS_PER_BACKFILL_MONTH for r in runs)
    assert sum(r.requests_made for r in runs) == len(counted)
    months_with_cost = 3 if services.today().day > 1 else 2        # the 1st has no complete day of its month
    assert CostMonthly.objects.values("month").distinct().count() == months_with_cost
    anchor = aws_endpoint.engine.state["ce"]["history_anchor"]
    from datetime import date
    expected = {date.fromisoformat(anchor) - timedelta(days=back) for back in (39, 40, 41)}
    flagged = CostAnomaly.objects.filter(team=cost_world.other_team, environment="dev", service="Amazon SageMaker")
    assert set(flagged.values_list("day", flat=True)) == expected
    assert CostAnomaly.objects.count() == 3                 # nothing else is "far above" its baseline


@pytest.fixture
def ample_fraud_budget(cost_world):
    """fraud-detection's budget far above anything it spends (set before the sync reads costs)."""
    services.budget_set(actor=SYSTEM, team=cost_world.team, monthly_budget_usd=Decimal("10000000"))


def test_budget_alerts_reach_team_leads_once_per_threshold(ample_fraud_budget, synced, cost_world):
    status = {s["team"].slug: s for s in selectors.team_budget_status(as_of=services.today())}

    def reached(slug):
        """(basis, threshold) pairs whose share of the budget the team's figures reach."""
        figures = (("actual", status[slug]["actual"]), ("forecast", status[slug]["forecast"]))
        return {(basis, threshold) for basis, amount in figures for threshold in (80, 100)
                if amount * 100 >= status[slug]["budget"] * threshold}
    alerts = BudgetAlert.objects.filter(team=cost_world.other_team)
    assert {(a.basis, a.threshold) for a in alerts} == reached("credit-risk")
    assert {("forecast", 80), ("forecast", 100)} <= reached("credit-risk")    # ~18,000 a month against 9,000
    assert not BudgetAlert.objects.filter(team=cost_world.team).exists() and not reached("fraud-detection")
    notes = Notification.objects.filter(user=cost_world["other_lead"], kind__startswith="budget.")
    assert notes.count() == alerts.count()
    assert "Credit Risk" in notes.first().subject and notes.first().url == "/costs/teams/credit-risk/"
    assert not Notification.objects.filter(user=cost_world["ds"], kind__startswith="budget.").exists()
    everyone = Notification.objects.filter(kind__startswith="budget.").count()
    assert services.budget_alerts_check(as_of=services.today()) == []          # what every later sync does
    assert Notification.objects.filter(kind__startswith="budget.").count() == everyone


def test_the_task_calls_the_sync_and_tolerates_unknown_arguments(monkeypatch):
    from costs.tasks import cost_sync_window
    calls = []
    monkeypatch.setattr(services, "cost_sync_window", lambda **kwargs: calls.append(kwargs) or CostSyncRun(pk=7))
    assert cost_sync_window.apply(kwargs={"unexpected": 1}).get() == 7
    assert calls == [{}]


@pytest.fixture
def tagged_meter(aws_endpoint):
    """A provisioned endpoint in fraud-detection-prod, tagged as the portal tags it, running for 3 days."""
    from datetime import datetime, timezone
    arn = "arn:aws:sagemaker:us-east-1:333333333313:endpoint/churn-costs-test"
    meters = aws_endpoint.engine.state.setdefault("meters", {})
    meters[arn] = {"account": "333333333313", "region": "us-east-1", "service": "Amazon SageMaker",
                   "usage_type": "USE1-Host:ml.g5.xlarge", "hourly_usd": 2.0,
                   "tags": {"team": "fraud-detection", "environment": "prod", "project": "churn", "model": "churn-xgb",
                            "portal-request": "req-42"},
                   "start": (datetime.now(timezone.utc) - timedelta(days=3)).isoformat(), "end": None}
    yield arn
    meters.pop(arn, None)


def test_project_and_model_tags_break_down_a_teams_cost(cost_world, aws_endpoint, tagged_meter, client, counted):
    from costs.models import CostTagDaily
    run = services.cost_sync_window()
    assert run.status == "succeeded" and run.requests_made == len(counted) <= 10, (run.error, counted)
    by_tag = {(row["key"], row["value"]): row["s"] for row in CostTagDaily.objects.filter(team=cost_world.team)
              .values("key", "value").annotate(s=Sum("unblended"))}
    assert set(by_tag) == {("project", "churn"), ("model", "churn-xgb")}
    assert Decimal("140") < by_tag[("project", "churn")] <= Decimal("144")     # about 3 days at $2/h
    client.force_login(cost_world["lead"])
    report = client.get(reverse("costs:team_report", args=["fraud-detection"]), {
        "start": (services.today() - timedelta(days=5)).isoformat()}).context["report"]
    assert [t["value"] for t in report["projects"]] == ["churn"]
    assert [t["value"] for t in report["models"]] == ["churn-xgb"]


def test_tag_breakdowns_are_skipped_not_failed_when_requests_run_short(cost_world, aws_endpoint, counted):
    run = services.cost_sync_window(max_requests=8)
    assert run.status == "succeeded", run.error
    assert "Skipped the team x project breakdown" in run.notes
    assert not CostFact.objects.filter(grouping__in=["team_project", "team_model"]).exists()


def test_a_breakdown_too_big_for_the_requests_left_does_not_starve_the_others(cost_world, monkeypatch):
    """team x portal-request needs 7 pages but at most 4 requests are ever left: after it has been
    cut off, it is skipped without spending and the other breakdowns are read on every run."""
    pages = {"team_service": 2, "account_service": 2, "team_project": 1, "team_model": 1, "team_domain": 1,
             "team_request": 7}

    def pages_of(*, start, end, grouping, budget):
        for _page in range(pages[grouping]):
            budget.spend()
        return []
    monkeypatch.setattr(services.aws, "cost_and_usage", pages_of)
    monkeypatch.setattr(services.aws, "cost_forecast", lambda *, budget, **_: budget.spend())
    monkeypatch.setattr(services, "_store_forecasts", lambda day, forecasts: None)
    runs = [services.cost_sync_window() for _run in range(5)]
    assert all(run.status == "succeeded" and run.requests_made <= 10 for run in runs), [r.error for r in runs]
    read = [{g for g, tried in run.groupings.items() if tried["complete"] and g.startswith("team_") and
             g != "team_service"} for run in runs]
    assert read[0] == {"team_project", "team_model", "team_domain"}
    assert runs[1].groupings["team_request"] == {"pages": 4, "complete": False}     # tried once more, cut off
    for run, breakdowns in zip(runs[2:], read[2:]):
        assert breakdowns == {"team_project", "team_model", "team_domain"}
        assert "team_request" not in run.groupings and "needs about 5 Cost Explorer requests" in run.notes
