"""`make run` as the README promises: everything starts, Ctrl-C stops it all, a rerun keeps data."""
import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.embedded


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float) -> bytes:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def start(env, log):
    return subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def interrupt(process) -> None:
    os.killpg(process.pid, signal.SIGINT)   # what Ctrl-C in a terminal does
    process.wait(timeout=60)


NOISE = {"sandbox access log": "werkzeug", "a line per migration": "  Applying ", "e-mails in the console": "Subject:",
         "e-mails logged as warnings": "celery.redirected", "a traceback": "Traceback", "Celery's banner": "[tasks]",
         "kombu's missing host name": "No hostname was supplied", "gunicorn's start-up": "Booting worker",
         "an access log": '"GET /healthz/', "setuptools deprecations": "BuildBackendWarning"}


def assert_short_readable_start_up(output: str) -> None:
    """What a newcomer reads before "Press Ctrl-C": a few lines, none of them noise."""
    start_up = output.split("Press Ctrl-C to stop.")[0]
    found = {what: marker for what, marker in NOISE.items() if marker in output}
    assert not found, f"noise on the console: {sorted(found)}\n{output[-3000:]}"
    lines = [line for line in start_up.splitlines() if line.strip()]
    assert len(lines) <= 30, "\n".join(lines)


def test_make_run_starts_everything_stops_on_ctrl_c_and_keeps_data(tmp_path):
    port, sandbox_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL",
                                                           "DJANGO_SETTINGS_MODULE")}
    env.update(PORT=str(port), SANDBOX_PORT=str(sandbox_port), PORTAL_VAR_DIR=str(tmp_path / "var"))
    log_path = tmp_path / "run.log"
    with open(log_path, "w") as log:
        process = start(env, log)
        try:
            assert wait_for(f"http://127.0.0.1:{port}/healthz/", 180) == b"ok"
            assert b"Sign in" in wait_for(f"http://127.0.0.1:{port}/accounts/login/", 10)
            deadline = time.monotonic() + 60   # beat schedules the heartbeat; the worker runs it
            database = sqlite3.connect(tmp_path / "var" / "portal.sqlite3")
            while database.execute("select count(*) from portal_workerheartbeat").fetchone()[0] == 0:
                assert time.monotonic() < deadline, log_path.read_text()[-3000:]
                time.sleep(1)
            accounts = database.execute("select count(*) from portal_awsaccount").fetchone()[0]
            database.close()
        finally:
            interrupt(process)
    output = log_path.read_text()
    assert f"http://127.0.0.1:{port}/" in output and "the password is" in output
    assert_short_readable_start_up(output)
    assert any((tmp_path / "var" / "mail").iterdir())   # the seed's notifications, as files
    assert accounts >= 14
    for url in (f"http://127.0.0.1:{port}/healthz/", f"http://127.0.0.1:{sandbox_port}/_sandbox/health"):
        with pytest.raises(OSError):
            urllib.request.urlopen(url, timeout=2)

    with open(log_path, "w") as log:   # again: same data, no duplicates, sandbox state kept
        process = start(env, log)
        try:
            wait_for(f"http://127.0.0.1:{port}/healthz/", 180)
            database = sqlite3.connect(tmp_path / "var" / "portal.sqlite3")
            assert database.execute("select count(*) from portal_awsaccount").fetchone()[0] == accounts
            assert database.execute("select count(*) from portal_team").fetchone()[0] == 3
            database.close()
        finally:
            interrupt(process)
    assert (tmp_path / "var" / "sandbox-state.json").exists()
