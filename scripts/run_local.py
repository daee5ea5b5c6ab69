#!/usr/bin/env python
"""`make run`: the sandbox, migrations and demo seed, then web + Celery worker + beat together.

Prints the URL and the demo sign-ins, and stops every process on Ctrl-C. Data stays in var/
(the portal's SQLite file and the sandbox's state file, unless DATABASE_URL is set), so running
it again keeps everything.
"""
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from portal.demo import DEMO_PASSWORD, DEMO_TEAMS, GLOBAL_DEMO_USERS, TEAM_USER_SUFFIXES  # noqa: E402
BIN = Path(sys.executable).parent
PORT = os.environ.get("PORT", "8000")
SANDBOX_PORT = os.environ.get("SANDBOX_PORT", "4566")
VAR = Path(os.environ.get("PORTAL_VAR_DIR", ROOT / "var"))


def _env() -> dict:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")
    env.setdefault("SANDBOX_PORT", SANDBOX_PORT)
    env.setdefault("SANDBOX_STATE_FILE", str(VAR / "sandbox-state.json"))
    env.setdefault("PORTAL_VAR_DIR", str(VAR))
    env.setdefault("AWS_ENDPOINT_URL", f"http://127.0.0.1:{SANDBOX_PORT}")
    env.setdefault("PORTAL_BASE_URL", f"http://127.0.0.1:{PORT}")     # links in e-mails and webhook events
    # SageMaker model-package events from the sandbox reach the portal at once (push), as
    # EventBridge API destinations would in AWS; the registry sync still polls as a safety net.
    env.setdefault("GOVERNANCE_EVENT_SECRET", "local-development-event-secret")
    env.setdefault("SANDBOX_EVENT_WEBHOOK_URL", f"http://127.0.0.1:{PORT}/api/v1/events/sagemaker/")
    env.setdefault("SANDBOX_EVENT_WEBHOOK_SECRET", env["GOVERNANCE_EVENT_SECRET"])
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _wait_for(url: str, seconds: float, processes) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for name, process in processes:
            if process.poll() is not None:
                sys.exit(f"{name} exited with status {process.returncode} while starting; see its output above.")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"{url} did not answer within {seconds:.0f} s.")


def main() -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    env = _env()
    processes: list[tuple[str, subprocess.Popen]] = []

    def start(name: str, *command: str) -> None:
        processes.append((name, subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)))

    def stop(code: int = 0) -> None:
        print("\nStopping…", flush=True)
        for _name, process in processes:
            if process.poll() is None:
                process.terminate()   # each process stops its own children (gunicorn, celery pools)
        for _name, process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        sys.exit(code)

    signal.signal(signal.SIGINT, lambda *_: stop(0))
    signal.signal(signal.SIGTERM, lambda *_: stop(0))
    python = str(BIN / "python")
    # Start-up stays short: the sandbox without its access log, migrations without a line each,
    # web, worker and beat without banners and access logs (warnings and errors still show).
    print(f"Starting the sandbox (local AWS) on :{SANDBOX_PORT} and preparing the database…", flush=True)
    start("sandbox", python, "-m", "sandbox", "--host", "127.0.0.1", "--port", SANDBOX_PORT, "--quiet")
    _wait_for(f"http://127.0.0.1:{SANDBOX_PORT}/_sandbox/health", 30, processes)
    for step in (["migrate", "--no-input", "-v", "0"], ["seed_demo", "--sync"]):
        if subprocess.run([python, "manage.py", *step], cwd=ROOT, env=env).returncode != 0:
            print(f"manage.py {step[0]} failed; see above.", file=sys.stderr)
            stop(1)
    start("web", str(BIN / "gunicorn"), "portal.wsgi", "--bind", f"127.0.0.1:{PORT}", "--workers", "2",
          "--threads", "4", "--log-level", "warning")
    start("worker", str(BIN / "celery"), "-A", "portal", "--quiet", "worker", "--loglevel", "WARNING",
          "--concurrency", "2")
    start("beat", str(BIN / "celery"), "-A", "portal", "--quiet", "beat", "--loglevel", "WARNING",
          "--schedule", str(VAR / "celerybeat-schedule"))
    _wait_for(f"http://127.0.0.1:{PORT}/healthz/", 60, processes)
    team_users = " / ".join(f"-{suffix}" for suffix in TEAM_USER_SUFFIXES)
    password = (f"the password is {DEMO_PASSWORD}" if env["DJANGO_SETTINGS_MODULE"] == "portal.settings.local"
                else "demo passwords are random outside the local settings: use password reset")
    mail = (f"E-mails go through {env['EMAIL_HOST']}." if env.get("EMAIL_HOST") else
            f"E-mails the portal sends are written to {VAR / 'mail'}/."
            if env["DJANGO_SETTINGS_MODULE"] == "portal.settings.local" else "E-mails are printed to the console.")
    print(f"\n  The portal is running on http://127.0.0.1:{PORT}/  (sandbox AWS on :{SANDBOX_PORT})"
          f"\n  Sign in as {', '.join(GLOBAL_DEMO_USERS)}, or <team>{team_users}"
          f"\n  for the teams {', '.join(DEMO_TEAMS)}; {password}"
          f"\n  {mail}"
          "\n  Press Ctrl-C to stop.\n", flush=True)
    while True:
        for name, process in processes:
            if process.poll() is not None:
                print(f"{name} stopped (status {process.returncode}); stopping the rest.", file=sys.stderr)
                stop(1)
        time.sleep(1)


if __name__ == "__main__":
    main()
