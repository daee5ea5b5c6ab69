"""Fast at scale: with a large cost table the dashboard and a team report answer in under 100 ms
of server time, with the same number of queries as on an empty table.

The normal suite loads 200,000 daily rows. The 2,000,000-row benchmark runs only when
COSTS_BENCHMARK=1 (it takes a minute or more to load):

    COSTS_BENCHMARK=1 DATABASE_URL=postgresql://postgres@127.0.0.1:5432/costs \\
        .venv/bin/python -m pytest tests/costs/test_scale.py -k two_million -s -p no:cacheprovider
"""
import os
import random
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from costs import services
from costs.models import CostDaily
from portal.models import Team

SERVICES = ["Amazon SageMaker", "Amazon Simple Storage Service", "Amazon Elastic Compute Cloud - Compute", "AWS Glue",
            "AmazonCloudWatch", "AWS Key Management Service", "Amazon EC2 Container Registry (ECR)", "AWS Lambda",
            "Amazon DynamoDB", "Amazon Athena"]
ENVIRONMENTS = ["dev", "test", "prod"]


def load(rows: int, teams: int, services_per_team: int, days: int) -> None:
    """Bulk-load synthetic CostDaily rows (COPY on PostgreSQL) and build the rollups from them."""
    team_objects = Team.objects.bulk_create([
        Team(name=f"Load {i}", slug=f"load-{i}", line_of_business=f"LoB {i % 5}", cost_center="CC",
             monthly_budget_usd=10000) for i in range(teams)])
    names = (SERVICES * (services_per_team // len(SERVICES) + 1))[:services_per_team]
    names = [f"{name} {i // len(SERVICES)}" if i >= len(SERVICES) else name for i, name in enumerate(names)]
    end = services.today() + timedelta(days=1)
    start = end - timedelta(days=days)
    rng = random.Random(7)

    def generate():
        produced = 0
        for offset in range(days):
            day = start + timedelta(days=offset)
            for team in team_objects:
                for index, service in enumerate(names):
                    if produced >= rows:
                        return
                    amount = f"{rng.uniform(1, 200):.6f}"
                    yield day, team.id, ENVIRONMENTS[index % 3], f"4444{team.id:08d}", service, amount, amount
                    produced += 1
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(
                "COPY costs_costdaily (day, team_id, environment, account_id, service, unblended, amortized)"
                " FROM STDIN") as copy:
            for row in generate():
                copy.write_row(row)
    else:
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO costs_costdaily (day, team_id, environment, account_id, service, unblended, amortized)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)", [(d.isoformat(), *rest) for d, *rest in generate()])
    services.rollup_derived(start=start, end=end, anomalies=False)   # random data has no anomalies to find


def measure(user, url: str) -> tuple[float, float, int]:
    """(best CPU ms, best wall-clock ms, queries) over 5 requests. The view is called with a
    RequestFactory request, so the test client's template instrumentation is not timed. The
    100 ms budget is checked on this process's CPU time (on SQLite that includes the database),
    because the CI box is shared and wall-clock time there mostly measures the neighbours;
    wall-clock time gets a looser bound that still catches slow queries on PostgreSQL."""
    from django.urls import resolve
    from rest_framework.test import APIRequestFactory, force_authenticate

    match = resolve(url)

    def call():
        request = APIRequestFactory().get(url)
        request.user = user
        force_authenticate(request, user=user)
        response = match.func(request, *match.args, **match.kwargs)
        if hasattr(response, "render"):
            response.render()
        assert response.status_code == 200
    call()
    cpu, wall = [], []
    for _ in range(5):
        started, started_cpu = time.perf_counter(), time.process_time()
        with CaptureQueriesContext(connection) as queries:
            call()
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    return min(cpu), min(wall), len(queries)


def check_scale(world, rows: int, teams: int, services_per_team: int, days: int, budget_ms: float):
    user = world["platform_admin"]
    urls = {"dashboard": reverse("costs:dashboard"), "team report": reverse("costs:team_report", args=["load-0"]),
            "api by team": reverse("cost-by-team-list")}
    Team.objects.create(name="Load 0", slug="load-0", line_of_business="LoB 0", cost_center="CC")
    empty = {}
    for name, url in urls.items():
        empty[name] = measure(user, url)[2]
    Team.objects.filter(slug="load-0").delete()
    started = time.perf_counter()
    load(rows, teams, services_per_team, days)
    print(f"\nloaded {CostDaily.objects.count():,} daily rows in {time.perf_counter() - started:.1f} s "
          f"({connection.vendor})")
    assert CostDaily.objects.count() == rows
    for name, url in urls.items():
        cpu, wall, queries = measure(user, url)
        print(f"{name}: {cpu:.0f} ms CPU, {wall:.0f} ms wall clock, {queries} queries")
        assert queries == empty[name], f"{name}: {queries} queries with data, {empty[name]} without"
        assert cpu < budget_ms, f"{name} took {cpu:.0f} ms of CPU"
        assert wall < 3 * budget_ms, f"{name} took {wall:.0f} ms"


@pytest.mark.django_db
def test_dashboard_and_team_report_stay_fast_with_200k_daily_rows(world):
    check_scale(world, rows=200_000, teams=50, services_per_team=10, days=400, budget_ms=100)


@pytest.mark.skipif(not os.environ.get("COSTS_BENCHMARK"),
                    reason="2,000,000-row benchmark: set COSTS_BENCHMARK=1 (takes minutes to load; see module doc)")
@pytest.mark.django_db
def test_two_million_daily_rows_benchmark(world):
    check_scale(world, rows=2_000_000, teams=100, services_per_team=50, days=400, budget_ms=100)
