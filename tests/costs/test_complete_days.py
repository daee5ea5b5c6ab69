"""Daily cost charts plot complete days only: today's cost is still accruing (Cost Explorer fills
it in during the day), so a point for it is a false cliff. The team report's daily chart and its
budget-burn chart end on the same day. Expectations come from the stored data and the portal's
own clock (``costs.services.today``), never from the calendar, so they hold on any date."""
from datetime import date, timedelta

import pytest
from django.db.models import Max
from django.urls import reverse

from costs import services
from costs.models import CostTeamDay

pytestmark = pytest.mark.usefixtures("boundary_clock")     # each test at every boundary day


def _days(chart) -> list[date]:
    return [date.fromisoformat(label) for label in chart["labels"]]


def test_daily_charts_end_at_the_last_complete_day(synced, cost_world, client):
    today = services.today()
    stored = CostTeamDay.objects.filter(team=cost_world.team).aggregate(last=Max("day"))["last"]
    assert stored is not None and stored >= today - timedelta(days=1)   # the sync read up to today
    client.force_login(cost_world["executive"])
    dashboard = client.get(reverse("costs:dashboard"))
    client.force_login(cost_world["lead"])
    report = client.get(reverse("costs:team_report", args=[cost_world.team.slug]))
    for response in (report, dashboard):
        days = _days(response.context["charts"]["daily"])
        assert days, "the default range has complete days to plot"
        assert max(days) == today - timedelta(days=1), "no point for today's incomplete day"
        assert days == [days[0] + timedelta(days=i) for i in range(len(days))]
    burn, daily = (report.context["charts"][name] for name in ("burn", "daily"))
    if burn["labels"]:   # none on the first of a month: no complete day of it yet
        assert _days(burn)[-1] == _days(daily)[-1]
        month_days = [value for day, value in zip(_days(daily), daily["values"], strict=True)
                      if day >= _days(burn)[0]]
        assert abs(burn["values"][-1] - sum(month_days)) < 0.01   # cumulative of the same days


def test_an_explicit_range_that_includes_today_still_stops_the_chart_at_yesterday(synced, cost_world, client):
    today = services.today()
    client.force_login(cost_world["lead"])
    response = client.get(reverse("costs:team_report", args=[cost_world.team.slug]),
                          {"start": f"{today - timedelta(days=5):%Y-%m-%d}", "end": f"{today:%Y-%m-%d}"})
    assert response.status_code == 200
    assert _days(response.context["charts"]["daily"]) == [today - timedelta(days=d) for d in range(5, 0, -1)]
    assert "incomplete" in response.content.decode()   # the page says why today is not plotted
