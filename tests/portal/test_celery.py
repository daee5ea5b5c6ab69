"""Celery: the house rules are configured, and a real worker process consumes the broker."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from portal.celery import app

ROOT = Path(__file__).resolve().parents[2]


def test_celery_follows_the_house_rules():
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    from portal.settings import base
    assert base.CELERY_TASK_ALWAYS_EAGER is False   # tests may run tasks eagerly; the product never does


def test_visibility_timeout_outlasts_every_task():
    if settings.CELERY_BROKER_URL.startswith("redis"):
        assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > settings.CELERY_TASK_TIME_LIMIT


def test_every_scheduled_task_is_registered_under_its_explicit_name():
    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]
        assert entry["task"].split(".")[0] in {"portal", "provisioning", "account_vending", "governance",
                                               "model_cards", "costs", "observability"}


def _run_worker_and_send_heartbeat(env: dict, tmp_path: Path) -> None:
    env = {**env, "DJANGO_SETTINGS_MODULE": "portal.settings.local", "PYTHONUNBUFFERED": "1"}
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=180)
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "portal", "worker", "--concurrency", "1",
                               "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
                              cwd=ROOT, env=env, stdout=open(tmp_path / "worker.log", "w"), stderr=subprocess.STDOUT)
    try:
        subprocess.run([*manage, "shell", "-v", "0", "-c", "from portal.tasks import heartbeat; heartbeat.delay()"],
                       cwd=ROOT, env=env, check=True, timeout=60)
        check = "from portal.models import WorkerHeartbeat as W; print(W.objects.count())"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            out = subprocess.run([*manage, "shell", "-v", "0", "-c", check], cwd=ROOT, env=env, capture_output=True, text=True)
            if out.stdout.strip() == "1":
                return
            time.sleep(1)
        pytest.fail("the worker never ran the task:\n" + (tmp_path / "worker.log").read_text())
    finally:
        worker.terminate()
        worker.wait(timeout=30)


@pytest.mark.embedded
def test_a_separate_worker_process_consumes_the_embedded_broker(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env["PORTAL_VAR_DIR"] = str(tmp_path / "var")
    _run_worker_and_send_heartbeat(env, tmp_path)
    assert any((tmp_path / "var" / "broker" / "queue").parent.iterdir())


@pytest.mark.real_broker
def test_a_separate_worker_process_consumes_the_configured_broker(tmp_path):
    database_url, broker_url = os.environ.get("DATABASE_URL"), os.environ.get("CELERY_BROKER_URL")
    if not (database_url and broker_url):
        pytest.skip("DATABASE_URL and CELERY_BROKER_URL are not set (the embedded test covers this run)")
    import psycopg
    base, _, _name = database_url.rpartition("/")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS portal_worker_check")
        conn.execute("CREATE DATABASE portal_worker_check")
    env = {**os.environ, "DATABASE_URL": f"{base}/portal_worker_check", "PORTAL_VAR_DIR": str(tmp_path / "var")}
    _run_worker_and_send_heartbeat(env, tmp_path)
