"""Route x persona cases for the costs app (see tests/support/routes.py)."""
import pytest
from rest_framework.test import APIClient

from tests.support.routes import RouteCase, run_case

EVERYONE = {"platform_admin", "approver", "executive", "auditor", "lead", "ds", "mle", "other_lead", "outsider"}
DASHBOARD = {"platform_admin", "executive", "auditor"}
TEAM = {"lead", "ds", "mle"}
COST_READERS = DASHBOARD | TEAM | {"other_lead"}       # other_lead reads their own team's costs
ADMIN = {"platform_admin"}
team_kwargs = lambda w: {"slug": w.team.slug}  # noqa: E731

CASES = [
    RouteCase("costs:dashboard", DASHBOARD),
    RouteCase("costs:dashboard_csv", DASHBOARD),
    RouteCase("costs:team_index", COST_READERS),
    RouteCase("costs:team_report", DASHBOARD | TEAM, kwargs=team_kwargs, not_found={"other_lead"}),
    RouteCase("costs:budget_edit", ADMIN, kwargs=team_kwargs, not_found={"other_lead"}),
    RouteCase("costs:budget_edit", ADMIN, method="post", kwargs=team_kwargs, not_found={"other_lead"},
              data=lambda w: {"monthly_budget_usd": "30000"}),
    RouteCase("costs:usage", COST_READERS),
    RouteCase("costs:usage_csv", COST_READERS),
    RouteCase("costs:sync_run_list", {"platform_admin", "auditor"}),
    RouteCase("costs:digest", DASHBOARD | {"lead", "other_lead"}),
    RouteCase("costs:digest", DASHBOARD | {"lead", "other_lead"}, method="post", data=lambda w: {"subscribed": "1"}),
    # API
    RouteCase("cost-summary-list", COST_READERS, api=True),
    RouteCase("cost-by-team-list", COST_READERS, api=True),
    RouteCase("cost-by-service-list", COST_READERS, api=True),
    RouteCase("cost-daily-list", COST_READERS, api=True),
    RouteCase("cost-forecast-list", COST_READERS, api=True),
    RouteCase("cost-by-tag-list", COST_READERS, api=True),
    RouteCase("cost-usage-list", COST_READERS, api=True),
    RouteCase("budget-list", COST_READERS, api=True),
    RouteCase("budget-detail", DASHBOARD | TEAM, api=True, kwargs=team_kwargs, not_found={"other_lead"}),
    RouteCase("budget-detail", ADMIN, api=True, method="patch", kwargs=team_kwargs,
              data=lambda w: {"monthly_budget_usd": "30000"}, not_found={"other_lead"}),
]

PERSONAS = ["anonymous", *sorted(EVERYONE)]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.label)
def test_route_permissions(case, persona, world):
    run_case(case, world, persona, APIClient)


def test_team_filter_of_another_team_is_not_found(world, api_client):
    api_client.force_login(world["other_lead"])
    for name in ("cost-by-service-list", "cost-daily-list", "cost-summary-list", "cost-by-tag-list", "cost-usage-list"):
        from django.urls import reverse
        response = api_client.get(reverse(name), {"team": world.team.slug})
        assert response.status_code == 404, name
        assert response.json()["error"]["code"] == "not_found"
