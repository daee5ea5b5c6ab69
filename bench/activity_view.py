"""Server time of the activity view over 10 million stored CloudTrail events.

    .venv/bin/python bench/activity_view.py [--events 10000000] [--runs 30]

Fills a throw-away test database (DATABASE_URL's PostgreSQL server) with ``--events`` events in 12
accounts of 3 teams, written by PostgreSQL itself (INSERT ... SELECT generate_series, indexes
built after the load), then times the API list (``/api/v1/activity-events/``) and the page
(``/activity/``) in-process: first page, every filter, a one-day time range, the next keyset page,
and a team member's first page. Prints p50/p95 per case and fails (exit 1) when a p95 is above
``--budget-ms`` (50).
"""
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # run as a script from anywhere
from bench.throwaway_db import throwaway_database

TEAMS = ("fraud-detection", "credit-risk", "marketing-ml")
ENVIRONMENTS = ("dev", "test", "prod")
SERVICES = ("sagemaker", "servicecatalog", "s3", "iam", "sts", "organizations", "ram", "cloudformation")
USERS = 200
EVENT_NAMES = 40
RESOURCES = 5000


def world():
    """Teams, accounts (9 team accounts + 3 shared) and two users: a platform admin and a team lead."""
    from portal import services
    from portal.permissions import SYSTEM

    teams = [services.team_create(actor=SYSTEM, name=slug.replace("-", " ").title(), slug=slug,
                                  line_of_business="Bench", cost_center="CC-1") for slug in TEAMS]
    accounts = []
    for t, team in enumerate(teams):
        for e, environment in enumerate(ENVIRONMENTS):
            accounts.append(services.account_link(actor=SYSTEM, account_id=f"3333333333{t + 1}{e + 1}",
                                                  name=f"{team.slug}-{environment}", environment=environment,
                                                  team=team, ou_path=""))
    for index, name in enumerate(("management", "shared-services", "data-lake")):
        accounts.append(services.account_link(actor=SYSTEM, account_id=f"22222222220{index}", name=name,
                                              environment="shared", team=None, ou_path=""))
    admin = services.user_create(actor=SYSTEM, username="bench-admin", email="a@example.com", password="pw-bench-12345")
    services.role_grant(actor=SYSTEM, user=admin, role="platform_admin")
    lead = services.user_create(actor=SYSTEM, username="bench-lead", email="l@example.com", password="pw-bench-12345")
    services.membership_set(actor=SYSTEM, team=teams[0], user=lead, role="lead")
    return teams, accounts, admin, lead


def fill(connection, accounts, events: int) -> float:
    """Insert ``events`` rows with SQL only (indexes dropped first, rebuilt after). Returns seconds."""
    from observability.models import ActivityEvent

    started = time.perf_counter()
    model = ActivityEvent
    table = model._meta.db_table
    account_ids = "ARRAY[" + ",".join(str(a.pk) for a in accounts) + "]::bigint[]"
    team_ids = "ARRAY[" + ",".join(str(a.team_id) if a.team_id else "NULL" for a in accounts) + "]::bigint[]"
    environments = "ARRAY[" + ",".join(f"'{a.environment}'" for a in accounts) + "]::varchar[]"
    services = "ARRAY[" + ",".join(f"'{s}'" for s in SERVICES) + "]"
    with connection.schema_editor() as editor:
        for index in model._meta.indexes:
            editor.remove_index(model, index)
        for constraint in model._meta.constraints:
            editor.remove_constraint(model, constraint)
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '256MB'")
        cursor.execute(f"""
            INSERT INTO {table} (account_id, team_id, environment, event_id, event_time, event_name, service,
                username, principal_arn, identity_type, access_key_id, source_ip, read_only, error_code,
                resource_type, resource_name, resources, target_kind, target_id, target_label, via_portal,
                out_of_band, detail, synced_at)
            SELECT ({account_ids})[1 + g %% {len(accounts)}], ({team_ids})[1 + g %% {len(accounts)}],
                ({environments})[1 + g %% {len(accounts)}], 'ev-' || g, now() - (g * interval '3 seconds'),
                'Event' || (g %% {EVENT_NAMES}), ({services})[1 + g %% {len(SERVICES)}], 'user-' || ((g * 31) %% {USERS}),
                '', 'AssumedRole', '', '10.0.0.1', false, '', 'AWS::Bench::Thing',
                'resource-' || ((g * 7919) %% {RESOURCES}), '[]'::jsonb, '', NULL, '', (g %% 5) <> 0,
                (g %% 997) = 0, '{{}}'::jsonb, now()
            FROM generate_series(1::bigint, %s::bigint) AS g
        """, [events])
    with connection.schema_editor() as editor:
        for constraint in model._meta.constraints:
            editor.add_constraint(model, constraint)
        for index in model._meta.indexes:
            editor.add_index(model, index)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")
    return time.perf_counter() - started


def timed(client, url: str, params: dict, runs: int) -> list[float]:
    for _ in range(2):   # warm the caches and the connection
        client.get(url, params)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url, params)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, params, response.status_code)
    return samples


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--budget-ms", type=float, default=50.0)
    args = parser.parse_args(argv)
    with throwaway_database() as connection:
        if connection.vendor != "postgresql":
            print("This benchmark needs PostgreSQL (set DATABASE_URL).")
            return 2
        from django.test import Client
        from django.utils import timezone

        from observability.models import ActivityEvent

        teams, accounts, admin, lead = world()
        seconds = fill(connection, accounts, args.events)
        stored = ActivityEvent.objects.count()
        print(f"stored {stored:,} events in {seconds:.0f} s")
        api, page = "/api/v1/activity-events/", "/activity/"
        day = (timezone.now() - timezone.timedelta(days=200)).replace(microsecond=0)
        first = Client()
        first.force_login(admin)
        next_url = first.get(api).json()["next"]
        cursor = next_url.split("cursor=")[1]
        cases = [
            ("first page", api, {}),
            ("team", api, {"team": teams[1].slug}),
            ("account", api, {"account": accounts[4].account_id}),
            ("environment", api, {"environment": "prod"}),
            ("user", api, {"user": "user-17"}),
            ("service", api, {"service": "iam"}),
            ("event name", api, {"event_name": "Event7"}),
            ("resource", api, {"resource": "resource-4242"}),
            ("time (one day, 200 days back)", api, {"since": day.isoformat(),
                                                    "until": (day + timezone.timedelta(days=1)).isoformat()}),
            ("out of band", api, {"out_of_band": "true"}),
            ("next page (cursor)", api, {"cursor": cursor}),
            ("page: first page", page, {}),
            ("page: team + environment", page, {"team": teams[2].slug, "environment": "prod"}),
        ]
        worst = 0.0
        print(f"{'case':34} {'p50 ms':>8} {'p95 ms':>8}")
        for label, url, params in cases:
            samples = timed(first, url, params, args.runs)
            p95 = statistics.quantiles(samples, n=20)[18]
            worst = max(worst, p95)
            print(f"{label:34} {statistics.median(samples):8.1f} {p95:8.1f}")
        member = Client()
        member.force_login(lead)
        samples = timed(member, api, {}, args.runs)
        p95 = statistics.quantiles(samples, n=20)[18]
        worst = max(worst, p95)
        print(f"{'team member: first page':34} {statistics.median(samples):8.1f} {p95:8.1f}")
        print(f"worst p95 {worst:.1f} ms (budget {args.budget_ms:.0f} ms)")
        return 0 if worst <= args.budget_ms else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
