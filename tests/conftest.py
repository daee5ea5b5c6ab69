"""Shared fixtures: personas and their teams, API clients, the sandbox for portal tests."""
import os
from contextlib import ExitStack, contextmanager
from decimal import Decimal

import pytest
from django.core.management import call_command

from tests.support import aws as aws_support
from tests.support import clock


def pytest_collection_modifyitems(config, items):
    """`make test` runs the suite on several pytest-xdist workers with ``--dist loadgroup``: the
    browser journeys share one worker (one Chromium at a time on a small machine) and so do the
    tests that start real worker processes on the configured broker (a worker started by one must
    not consume the tasks another sends). Without xdist the groups mean nothing."""
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))
        elif item.get_closest_marker("real_broker"):
            item.add_marker(pytest.mark.xdist_group("real_broker"))


def pytest_report_header(config):
    database = os.environ.get("DATABASE_URL") or "embedded SQLite file (no DATABASE_URL)"
    broker = os.environ.get("CELERY_BROKER_URL") or "embedded file broker (no CELERY_BROKER_URL)"
    if "@" in database:
        database = database.split("@", 1)[1]
    return [f"portal database: {database}", f"portal broker: {broker}"]


@pytest.fixture(autouse=True)
def _fail_on_aws_shape_violations():
    """Any sandbox response that broke botocore's output shape fails the test that received it."""
    aws_support.VIOLATIONS.clear()
    yield
    assert not aws_support.VIOLATIONS, "sandbox responses broke botocore's shapes:\n" + "\n".join(aws_support.VIOLATIONS)


def start_fast_sandbox():
    """A sandbox on a free loopback port with instant durations (the caller stops it)."""
    from sandbox.server import start_in_thread

    server = start_in_thread(port=0)
    server.engine.config.update({"provision_seconds": 0, "account_seconds": 0, "domain_seconds": 0,
                                 "export_seconds": 0})
    return server


@pytest.fixture(scope="session", autouse=True)
def _flush_test_databases_as_the_owner():
    """Test teardown empties tables with TRUNCATE, which PostgreSQL's audit guard (migration
    0006) refuses; the test database's owner flushes in replica mode, where user triggers do not
    fire (a superuser's privilege, which the portal's production role does not have)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush

    def flush_as_owner(self, sql_list):
        with self.connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            original(self, sql_list)
        finally:
            with self.connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")

    DatabaseOperations.execute_sql_flush = flush_as_owner
    yield
    DatabaseOperations.execute_sql_flush = original


@pytest.fixture(scope="session")
def portal_sandbox():
    """The session's sandbox, used as the portal's AWS."""
    server = start_fast_sandbox()
    yield server
    server.stop()


@contextmanager
def tasks_in_process(settings, *, propagate: bool):
    """Celery tasks run inline at once (no worker; a retry runs again at once, without its
    countdown); with ``propagate`` a task's exception reaches the caller. Restored after."""
    from portal.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, propagate
    try:
        yield app
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture
def eager_tasks(settings):
    """Celery tasks run inline and their exceptions reach the test (the live server has no worker)."""
    with tasks_in_process(settings, propagate=True) as app:
        yield app


@pytest.fixture
def fresh_demo(settings, capsys):
    """The demo as `make run` builds it: ``seed_demo --sync`` against a sandbox booted for this
    test. Yields the seed's captured output (``.out``, ``.err``)."""
    from portal import aws

    server = start_fast_sandbox()
    settings.AWS_ENDPOINT_URL = server.url
    aws.reset_caches()
    try:
        call_command("seed_demo", "--sync")
        yield capsys.readouterr()
    finally:
        aws.reset_caches()
        server.stop()


@pytest.fixture
def aws_endpoint(portal_sandbox, settings):
    """Point the portal's AWS layer at the test sandbox for this test."""
    from portal import aws

    settings.AWS_ENDPOINT_URL = portal_sandbox.url
    aws.reset_caches()
    yield portal_sandbox
    aws.reset_caches()


@pytest.fixture(params=clock.boundary_params())
def boundary_clock(request):
    """Run the test at each boundary instant (a month's first and last day, a leap day, the year's
    end) instead of today: the process clock (the portal's and in-process sandboxes') travels
    there, and a session sandbox the test uses draws its cost history around that day."""
    instant = request.param
    with ExitStack() as stack:
        stack.enter_context(clock.travel(instant))
        for name in ("portal_sandbox", "sandbox_server"):
            if name in request.fixturenames:
                engine = request.getfixturevalue(name).engine
                stack.enter_context(clock.cost_history_anchored(engine, instant.date()))
        yield instant


class World:
    """Two teams and one user per persona; built through the real services."""

    PERSONAS = ("platform_admin", "approver", "executive", "auditor", "lead", "ds", "mle", "other_lead",
                "outsider")

    def __init__(self):
        from portal import services
        from portal.permissions import SYSTEM

        self.team = services.team_create(actor=SYSTEM, name="Fraud Detection", slug="fraud-detection",
                                         line_of_business="Retail Banking", cost_center="CC-1001",
                                         monthly_budget_usd=Decimal("25000"))
        self.other_team = services.team_create(actor=SYSTEM, name="Credit Risk", slug="credit-risk",
                                               line_of_business="Risk", cost_center="CC-2001")
        self.users = {}
        for persona in self.PERSONAS:
            self.users[persona] = services.user_create(actor=SYSTEM, username=persona.replace("_", "-"),
                                                       email=f"{persona}@example.com", password="pw-for-tests-123")
        for persona, role in (("platform_admin", "platform_admin"), ("approver", "model_approver"),
                              ("executive", "executive"), ("auditor", "auditor")):
            services.role_grant(actor=SYSTEM, user=self.users[persona], role=role)
        for persona, role in (("lead", "lead"), ("ds", "data_scientist"), ("mle", "ml_engineer")):
            services.membership_set(actor=SYSTEM, team=self.team, user=self.users[persona], role=role)
        services.membership_set(actor=SYSTEM, team=self.other_team, user=self.users["other_lead"], role="lead")
        self.account = services.account_link(actor=SYSTEM, account_id="333333333311", name="fraud-detection-dev",
                                             environment="dev", team=self.team, ou_path="Workloads/NonProd")
        self.other_account = services.account_link(actor=SYSTEM, account_id="333333333321",
                                                   name="credit-risk-dev", environment="dev",
                                                   team=self.other_team, ou_path="Workloads/NonProd")

    def __getitem__(self, persona):
        return self.users[persona]


@pytest.fixture
def world(db):
    return World()


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def token_for(db):
    """token_for(user, scope="write") -> a fresh API token secret for that user."""
    from portal.services import api_token_create

    def make(user, scope="write"):
        return api_token_create(actor=user, name="test", scope=scope, expires_in_days=1)[1]
    return make
