"""The production path as the image runs it: scripts/production.sh collectstatic, check, migrate,
web and worker with production settings, against PostgreSQL and Redis (skipped, with the reason,
when the run has no DATABASE_URL / CELERY_BROKER_URL for them)."""
import http.client
import json
import os
import re
import secrets
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "production.sh"
VENDOR = ROOT / "portal" / "static" / "vendor"
HOST = "portal.example.test"          # the public name a TLS proxy forwards with X-Forwarded-Proto


def dockerfile_build_env() -> dict:
    """The variables the Dockerfile's build step gives `scripts/production.sh collectstatic`."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    step = re.search(r"((?:\w+=\S+\s+)+)scripts/production\.sh collectstatic", text)
    assert step, "the Dockerfile does not run scripts/production.sh collectstatic"
    return dict(pair.split("=", 1) for pair in step.group(1).split())


def production_env(**overrides) -> dict:
    """The process environment with the test's Django variables removed and the venv on PATH."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "DATABASE_URL", "CELERY_", "PORTAL_", "STATIC_ROOT"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def run_script(command: str, env: dict, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), command], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def static_root(tmp_path_factory) -> Path:
    """STATIC_ROOT filled by the script's collectstatic with production settings (the image's build step)."""
    root = tmp_path_factory.mktemp("staticfiles")
    result = run_script("collectstatic", production_env(**dockerfile_build_env(), STATIC_ROOT=str(root)))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root


def test_every_vendored_source_map_reference_resolves():
    for path in sorted(VENDOR.glob("*.[jc]s*")):
        for reference in re.findall(r"sourceMappingURL=([^\s*]+)", path.read_text(errors="replace")):
            assert (VENDOR / reference).exists(), f"{path.name} refers to {reference}, which is not vendored"


def test_collectstatic_with_production_settings_writes_the_manifest(static_root):
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    for asset in ("vendor/chart.umd.min.js", "vendor/bootstrap.min.css", "portal/favicon.svg"):
        assert re.fullmatch(re.escape(asset.rsplit(".", 1)[0]) + r"\.[0-9a-f]{12}\." + asset.rsplit(".", 1)[1],
                            manifest[asset]), manifest.get(asset)
        assert (static_root / manifest[asset]).exists()


def test_the_image_and_compose_run_portal_processes_only_through_the_script():
    import yaml
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["scripts/production.sh", "web"]' in dockerfile
    assert "manage.py" not in dockerfile and "gunicorn" not in dockerfile.split("CMD")[0]
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in ("migrate", "web", "worker", "beat"):
        assert services[name]["command"] == ["scripts/production.sh", name], name


def test_the_script_names_its_subcommands():
    result = run_script("deploy", production_env())
    assert result.returncode == 2 and "collectstatic|check|migrate|web|worker|beat" in result.stderr


# --- The smoke test: PostgreSQL, Redis, gunicorn and a Celery worker ---------------------------------
class Browser:
    """Just enough of a browser behind a TLS proxy: the Host and X-Forwarded-Proto a proxy sets,
    an Origin on POSTs, and a cookie jar that keeps Secure cookies (the hop from the proxy is HTTP)."""
    def __init__(self, port: int):
        self.port, self.cookies = port, {}

    def request(self, method: str, path: str, body: dict | None = None, forwarded: bool = True):
        headers = {"Host": HOST}
        if forwarded:
            headers["X-Forwarded-Proto"] = "https"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            headers.update({"Content-Type": "application/x-www-form-urlencoded", "Origin": f"https://{HOST}",
                            "Referer": f"https://{HOST}{path}"})
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(header)
            for name, morsel in cookie.items():
                if not morsel.value:   # a deletion
                    self.cookies.pop(name, None)
                    continue
                assert morsel["secure"], f"cookie {name} is not Secure"
                self.cookies[name] = morsel.value
        return response, content


def _smoke_targets() -> tuple[str, str]:
    database_url, broker_url = os.environ.get("DATABASE_URL", ""), os.environ.get("CELERY_BROKER_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")) or not broker_url.startswith("redis://"):
        pytest.skip("the production smoke test needs DATABASE_URL=postgresql://… and CELERY_BROKER_URL=redis://… "
                    f"(this run has {database_url.split('@')[-1] or 'the embedded database'} and "
                    f"{broker_url or 'the embedded broker'}); CI's part 1 runs it")
    return database_url, broker_url


@pytest.fixture
def smoke_database():
    """A fresh PostgreSQL database next to DATABASE_URL's (not pytest-django's test database); dropped after."""
    import psycopg
    database_url, broker_url = _smoke_targets()
    parts = urlsplit(database_url)
    name = f"{parts.path.lstrip('/') or 'postgres'}_prodsmoke_{os.getpid()}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield parts._replace(path=f"/{name}").geturl(), broker_url
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_healthz(port: int, processes: dict, logs: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for name, process in processes.items():
            assert process.poll() is None, f"{name} exited:\n" + (logs / f"{name}.log").read_text()[-3000:]
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz/")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail("gunicorn did not answer /healthz/ within 60 s:\n" + (logs / "web.log").read_text()[-3000:])


@pytest.mark.real_broker
def test_production_smoke(static_root, smoke_database, tmp_path):
    database_url, broker_url = smoke_database
    port = _free_port()
    env = production_env(
        DJANGO_SETTINGS_MODULE="portal.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50), DJANGO_ALLOWED_HOSTS=HOST,
        DATABASE_URL=database_url, CELERY_BROKER_URL=broker_url, STATIC_ROOT=str(static_root),
        PORTAL_VAR_DIR=str(tmp_path / "var"), AWS_ENDPOINT_URL="http://127.0.0.1:9",
        WEB_BIND=f"127.0.0.1:{port}", WEB_WORKERS="2", WORKER_CONCURRENCY="2",
        BEAT_SCHEDULE_FILE=str(tmp_path / "celerybeat-schedule"))

    check = run_script("check", env)
    assert check.returncode == 0 and "no issues" in check.stdout, check.stdout + check.stderr
    migrate = run_script("migrate", env)
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
    password = secrets.token_urlsafe(16)
    subprocess.run([sys.executable, "manage.py", "shell", "-v", "0", "-c",
                    "from portal.permissions import SYSTEM; from portal import services; "
                    f"user = services.user_create(actor=SYSTEM, username='smoke', email='smoke@example.test', "
                    f"password='{password}'); services.role_grant(actor=SYSTEM, user=user, role='platform_admin')"],
                   cwd=ROOT, env=env, check=True, timeout=120)

    processes, logs = {}, []
    try:
        for name in ("web", "worker", "beat"):
            logs.append(open(tmp_path / f"{name}.log", "w"))
            processes[name] = subprocess.Popen([str(SCRIPT), name], cwd=ROOT, env=env, start_new_session=True,
                                               stdout=logs[-1], stderr=subprocess.STDOUT)
        _wait_for_healthz(port, processes, tmp_path)
        browser = Browser(port)

        response, _ = browser.request("GET", "/accounts/login/", forwarded=False)
        assert response.status == 301 and response.headers["Location"] == f"https://{HOST}/accounts/login/"

        response, page = browser.request("GET", "/accounts/login/")
        assert response.status == 200 and b"Sign in" in page
        assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        response, page = browser.request("POST", "/accounts/login/", {
            "csrfmiddlewaretoken": token, "login": "smoke", "password": password})
        assert response.status == 302, page[:2000]

        response, page = browser.request("GET", "/")
        assert response.status == 200 and b"smoke" in page
        stylesheet = re.search(rb'href="(/static/vendor/bootstrap\.min\.[0-9a-f]{12}\.css)"', page)
        assert stylesheet, "the page does not link the hashed stylesheet from the manifest"
        response, css = browser.request("GET", stylesheet.group(1).decode())
        assert response.status == 200 and b"Bootstrap" in css[:500]
        assert "immutable" in response.headers["Cache-Control"] and "no-store" not in response.headers["Cache-Control"]
        assert response.headers["Permissions-Policy"].startswith("accelerometer=()")   # static files too

        response, schema = browser.request("GET", "/api/schema/")
        assert response.status == 200 and b"openapi:" in schema[:200]

        deadline = time.monotonic() + 90   # beat schedules the heartbeat at start; the worker runs it
        while True:
            response, body = browser.request("GET", "/health/?format=json")
            checks = {check["name"]: check for check in json.loads(body)["checks"]}
            if checks["Worker heartbeat"]["ok"]:
                break
            assert time.monotonic() < deadline, (f"{checks}\n" + (tmp_path / "worker.log").read_text()[-3000:]
                                                 + (tmp_path / "beat.log").read_text()[-2000:])
            time.sleep(1)
        assert checks["Database"]["ok"] and checks["Database"]["detail"] == "postgresql"
        assert checks["Message broker"]["ok"] and checks["Message broker"]["detail"].startswith("redis://")
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
        for log in logs:
            log.close()
