"""Dashboard, team report, CSV, budgets and the cost API on synced sandbox data."""
import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from costs import selectors, services
from costs.models import CostDaily, CostTeamDay
from portal import services as portal_services
from portal.models import AuditEvent
from portal.permissions import SYSTEM

pytestmark = pytest.mark.usefixtures("boundary_clock")     # each test at every boundary day


def last_week() -> dict:
    """A range of the seven complete days before today: data on every day of the month, the 1st
    included (when the month to date is still empty)."""
    day = services.today()
    return {"start": (day - timedelta(days=7)).isoformat(), "end": (day - timedelta(days=1)).isoformat()}


def test_dashboard_shows_headlines_teams_unallocated_and_charts(synced, cost_world, client):
    client.force_login(cost_world["executive"])
    response = client.get(reverse("costs:dashboard"), last_week())
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Month to date", "Forecast to month end", "Unallocated", "Fraud Detection", "Credit Risk",
                 "Top services", "Amazon SageMaker", "Biggest movers", "data-chart=\"line\"", "chart.umd.min.js",
                 "Cost Explorer forecast"):
        assert text in html, text
    rows = response.context["rows"]
    assert [r["slug"] for r in rows][:1] == ["fraud-detection"]          # sorted by spend, largest first
    assert any(r["team_id"] is None and r["amount"] > 0 for r in rows)   # unallocated is shown
    summary = response.context["summary"]
    assert summary["forecast_source"] == "cost_explorer" and summary["forecast"] >= summary["month_to_date"]


def test_amortized_switch_sort_and_range(synced, cost_world, client):
    client.force_login(cost_world["auditor"])
    unblended = sum(r["amount"] for r in client.get(reverse("costs:dashboard"), last_week()).context["rows"])
    amortized = sum(r["amount"] for r in client.get(reverse("costs:dashboard"),
                                                     {**last_week(), "metric": "amortized"}).context["rows"])
    assert 0 < amortized < unblended                       # prod hosting is under a savings plan
    day = services.today()
    response = client.get(reverse("costs:dashboard"), {"sort": "team", "dir": "asc",
                                                         "start": (day.replace(day=1)).isoformat(),
                                                         "end": day.isoformat()})
    names = [r["team"] for r in response.context["rows"] if r["team_id"]]
    assert names == sorted(names)


def test_a_bad_range_says_what_to_fix_and_keeps_the_input(synced, cost_world, client):
    client.force_login(cost_world["executive"])
    response = client.get(reverse("costs:dashboard"), {"start": "2026-05-10", "end": "2026-05-01"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "The end date must be on or after the start date." in html
    assert 'value="2026-05-10"' in html and 'value="2026-05-01"' in html


def test_csv_export_has_one_row_per_team_and_unallocated(synced, cost_world, client):
    client.force_login(cost_world["executive"])
    response = client.get(reverse("costs:dashboard_csv"), {"metric": "amortized"})
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {r["team"] for r in rows} == {"fraud-detection", "credit-risk", "unallocated"}
    assert all(r["metric"] == "amortized" for r in rows)
    total = sum(Decimal(r["amount_usd"]) for r in rows)
    last = services.last_complete_day()                  # the default range: the month's complete days
    expected = sum(d["amount"] for d in selectors.cost_daily(SYSTEM, metric="amortized", start=last.replace(day=1),
                                                             end=last + timedelta(days=1)))
    assert abs(total - expected) < Decimal("0.05")


def test_an_executive_of_one_line_of_business_sees_only_its_teams(synced, cost_world, client):
    exec_risk = portal_services.user_create(actor=SYSTEM, username="exec-risk", email="er@example.com",
                                            password="pw-for-tests-123")
    portal_services.role_grant(actor=SYSTEM, user=exec_risk, role="executive", line_of_business="Risk")
    client.force_login(exec_risk)
    rows = client.get(reverse("costs:dashboard")).context["rows"]
    assert [r["slug"] for r in rows] == ["credit-risk"]           # no other line, no unallocated
    assert client.get(reverse("costs:team_report", args=["fraud-detection"])).status_code == 404
    assert client.get(reverse("cost-by-team-list")).json()["count"] == 1


def test_team_report_for_a_member(synced, cost_world, client):
    client.force_login(cost_world["ds"])
    assert client.get(reverse("costs:dashboard")).status_code == 403
    response = client.get(reverse("costs:team_report", args=["fraud-detection"]), last_week())
    assert response.status_code == 200
    report = response.context["report"]
    assert {a["environment"] for a in report["accounts"]} == {"dev", "test", "prod"}
    assert report["services"][0]["service"] == "Amazon SageMaker"
    assert len(report["daily"]) == 7
    default = client.get(reverse("costs:team_report", args=["fraud-detection"])).context["report"]
    assert len(default["daily"]) == services.last_complete_day().day    # the complete days of the default range
    assert report["burn"]["budget"] == Decimal("25000.00") and report["burn"]["daily_rate"] > 0
    assert "Change budget" not in response.content.decode()


def test_budget_change_is_audited_and_shows_overrun(synced, cost_world, client):
    client.force_login(cost_world["platform_admin"])
    url = reverse("costs:budget_edit", args=["fraud-detection"])
    bad = client.post(url, {"monthly_budget_usd": "-5"})
    assert bad.status_code == 200 and "greater than or equal to 0" in bad.content.decode()
    assert client.post(url, {"monthly_budget_usd": "100"}).status_code == 302
    event = AuditEvent.objects.filter(action="budget.set").get()
    assert event.before == {"monthly_budget_usd": "25000.00"} and event.after == {"monthly_budget_usd": "100.00"}
    report = client.get(reverse("costs:team_report", args=["fraud-detection"])).context["report"]
    assert report["burn"]["overrun_on"] is not None or services.today().day == 1


def test_api_reports_and_scoping(synced, cost_world, api_client, token_for):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(cost_world['lead'])}")
    body = api_client.get(reverse("cost-by-team-list")).json()
    assert [r["team"] for r in body["results"]] == ["fraud-detection"]
    assert isinstance(body["results"][0]["amount"], str)                   # Decimal as a string
    services_body = api_client.get(reverse("cost-by-service-list"), {"team": "fraud-detection", **last_week()}).json()
    assert services_body["results"][0]["service"] == "Amazon SageMaker"
    daily = api_client.get(reverse("cost-daily-list"), {"metric": "amortized", "start": "2026-01-01",
                                                        "end": "2026-01-31"}).json()
    assert daily["count"] == 31
    assert api_client.get(reverse("cost-daily-list"), {"team": "credit-risk"}).status_code == 404
    bad = api_client.get(reverse("cost-daily-list"), {"start": "2026-02-10", "end": "2026-02-01"})
    assert bad.status_code == 400 and bad.json()["error"]["fields"]["end"]
    forecast = api_client.get(reverse("cost-forecast-list")).json()["results"]
    assert forecast[0]["forecast_source"] == "cost_explorer"
    summary = api_client.get(reverse("cost-summary-list"), {"team": "fraud-detection"}).json()
    assert (Decimal(summary["month_to_date"]) > 0) == (services.today().day > 1)   # the 1st has no complete day
    assert summary["unallocated"] == "0.00"
    budgets = api_client.get(reverse("budget-list")).json()["results"]
    assert [(b["team"], b["monthly_budget_usd"]) for b in budgets] == [("fraud-detection", "25000.00")]
    assert api_client.patch(reverse("budget-detail", args=["fraud-detection"]), {"monthly_budget_usd": "1"},
                            format="json").status_code == 403


def test_api_budget_patch_by_platform_admin(synced, cost_world, api_client):
    api_client.force_login(cost_world["platform_admin"])
    url = reverse("budget-detail", args=["credit-risk"])
    response = api_client.patch(url, {"monthly_budget_usd": "12345.60"}, format="json")
    assert response.status_code == 200 and response.json()["monthly_budget_usd"] == "12345.60"
    assert AuditEvent.objects.filter(action="budget.set", team=cost_world.other_team).count() == 1
    bad = api_client.patch(url, {"monthly_budget_usd": "lots"}, format="json")
    assert bad.status_code == 400 and "monthly_budget_usd" in bad.json()["error"]["fields"]
    summary = api_client.get(reverse("cost-summary-list")).json()
    if services.today().day == 1:
        assert summary["month_to_date"] == "0.00" and summary["unallocated_pct"] is None    # no share of nothing
    else:
        assert Decimal(summary["unallocated_pct"]) > 0


@pytest.mark.parametrize("name", ["costs:dashboard", "costs:team_report", "cost-by-team-list", "budget-list"])
def test_query_counts_do_not_grow_with_teams_or_days(synced, cost_world, client, name):
    client.force_login(cost_world["platform_admin"])
    url = reverse(name, args=["fraud-detection"] if name == "costs:team_report" else [])
    client.get(url)
    with CaptureQueriesContext(connection) as before:
        assert client.get(url).status_code == 200
    for index in range(5):
        team = portal_services.team_create(actor=SYSTEM, name=f"Extra {index}", slug=f"extra-{index}",
                                           line_of_business="Retail Banking", cost_center="CC")
        CostTeamDay.objects.create(day=services.today(), team=team, unblended=1, amortized=1)
        CostDaily.objects.create(day=services.today(), team=team, service="X", unblended=1, amortized=1)
        CostDaily.objects.create(day=services.today(), team=cost_world.team, service=f"Y{index}",
                                 account_id=f"55555555555{index}", unblended=1, amortized=1)
    with CaptureQueriesContext(connection) as after:
        assert client.get(url).status_code == 200
    assert len(after) == len(before), [q["sql"] for q in after.captured_queries]


def test_recently_provisioned_products_show_as_a_marked_estimate(synced, cost_world, client):
    from datetime import timedelta

    from django.utils import timezone
    from provisioning.models import CatalogProduct, CatalogVersion, ProvisionedProduct, ProvisioningRequest

    product = CatalogProduct.objects.create(product_id="prod-costs1", name="SageMaker endpoint",
                                            hourly_price_usd=Decimal("1.5000"))
    version = CatalogVersion.objects.create(product=product, artifact_id="pa-1", name="v1")

    def provisioned(name, hours_ago, terminated=False):
        request = ProvisioningRequest.objects.create(team=cost_world.team, requester=cost_world["lead"],
                                                     product=product, version=version, account=cost_world.account,
                                                     name=name)
        return ProvisionedProduct.objects.create(
            team=cost_world.team, request=request, account=cost_world.account, product=product,
            owner=cost_world["lead"], name=name, pp_id=f"pp-{name}",
            created_at=timezone.now() - timedelta(hours=hours_ago),
            terminated_at=timezone.now() if terminated else None)
    provisioned("fresh", 10)
    provisioned("old", 72)
    provisioned("gone", 5, terminated=True)
    client.force_login(cost_world["lead"])
    response = client.get(reverse("costs:team_report", args=["fraud-detection"]))
    recent = response.context["report"]["recent"]
    assert [item["name"] for item in recent["items"]] == ["fresh"]
    assert recent["daily"] == Decimal("36.00") and Decimal("14.9") <= recent["so_far"] <= Decimal("15.1")
    assert "estimate" in response.content.decode()


def test_budget_headroom_for_request_forms(synced, cost_world):
    from portal import budgets

    team = cost_world.team
    forecast = selectors.budget_headroom(team)["forecast"]
    assert forecast > 0
    team = services.budget_set(actor=SYSTEM, team=team, monthly_budget_usd=forecast + 1000)   # $1,000 to spare
    headroom = selectors.budget_headroom(team)
    assert headroom == {"budget": forecast + 1000, "forecast": forecast, "left": Decimal("1000")}
    excess = budgets.budget_excess(team, Decimal("10000000"))     # through the provider the costs app registers
    assert excess is not None and excess.left == headroom["left"].quantize(Decimal("0.01"))
    assert Decimal("0") < excess.added <= Decimal("10000000")
    assert "Fraud Detection" in excess.sentence(team.name) and "must approve" in excess.sentence(team.name)
    assert budgets.budget_excess(team, Decimal("0")) is None
    assert budgets.budget_excess(team, Decimal("1")) is None
    assert selectors.budget_headroom(cost_world.other_team)["left"] is not None
    team.monthly_budget_usd = 0
    assert selectors.budget_headroom(team)["left"] is None and budgets.budget_excess(team, Decimal("1e9")) is None
