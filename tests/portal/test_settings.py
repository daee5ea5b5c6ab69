"""Settings and deployment files: production passes check --deploy, bad environments fail clearly."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {"DJANGO_SETTINGS_MODULE": "portal.settings.production",
                  "DJANGO_SECRET_KEY": "x" * 20 + "production-grade-secret-key-0123456789-abcdefghij",
                  "DJANGO_ALLOWED_HOSTS": "portal.example.com",
                  "DATABASE_URL": "sqlite:////tmp/portal-check.sqlite3", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}


def manage(*args, env_overrides=None, drop=()):
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update(env_overrides or {})
    for name in drop:
        env.pop(name, None)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_production_settings_pass_check_deploy():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env_overrides=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL"])
def test_a_missing_required_setting_stops_start_up_naming_it(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = manage("check", env_overrides=env, drop=(missing,))
    assert result.returncode != 0
    assert f"The environment variable {missing} is required but not set" in result.stderr


def test_a_malformed_setting_says_what_is_wrong():
    result = manage("check", env_overrides={**PRODUCTION_ENV, "SESSION_IDLE_MINUTES": "half an hour"})
    assert result.returncode != 0
    assert "SESSION_IDLE_MINUTES must be a whole number (got 'half an hour')" in result.stderr


def test_every_variable_the_settings_read_is_documented():
    import re
    names = set()
    for path in (ROOT / "portal" / "settings").glob("*.py"):
        names |= set(re.findall(r'env(?:_bool|_int|_list)?\("([A-Z_]+)"', path.read_text()))
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    undocumented = sorted(n for n in names if n not in example or n not in readme)
    assert not undocumented, f"document these in .env.example and README.md: {undocumented}"


def test_csp_forbids_inline_script_and_uses_nonces(client, db):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy and "'nonce-" in policy
    nonce = policy.split("'nonce-")[1].split("'")[0]
    body = response.content.decode()
    assert body.count("<script") == body.count(f'nonce="{nonce}"')
    assert "http://" not in body.split("<body")[0] and "https://" not in body.split("<body")[0]


class TestDockerCompose:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]

    def test_has_the_production_services_with_health_checks(self):
        assert {"postgres", "redis", "web", "worker", "beat", "sandbox"} <= set(self.services)
        for name in ("postgres", "redis", "web", "worker", "beat", "sandbox"):
            assert "healthcheck" in self.services[name], name

    def test_redis_keeps_an_append_only_file(self):
        assert "--appendonly" in self.services["redis"]["command"]
        assert self.services["redis"]["command"][self.services["redis"]["command"].index("--appendonly") + 1] == "yes"

    def test_portal_services_use_production_settings_and_wait_for_infrastructure(self):
        for name in ("web", "worker", "beat"):
            service = self.services[name]
            assert service["environment"]["DJANGO_SETTINGS_MODULE"] == "portal.settings.production"
            assert {"postgres", "redis", "migrate"} <= set(service["depends_on"])

    def test_every_command_exists(self):
        bin_dir = Path(sys.executable).parent
        for name, service in self.services.items():
            command = service.get("command")
            if not command or service.get("image", "").startswith(("postgres", "redis")):
                continue
            if command[0] == "scripts/production.sh":   # its subcommands are exercised by test_production.py
                assert (ROOT / command[0]).stat().st_mode & 0o111, f"{command[0]} is not executable"
                assert f"  {command[1]})" in (ROOT / command[0]).read_text(), name
                continue
            program = command[0]
            assert (bin_dir / program).exists() or shutil.which(program), f"{name}: {program} not installed"
            if program == "python" and command[1] == "manage.py":
                assert manage("help", command[2], env_overrides=PRODUCTION_ENV).returncode == 0, name
            if program == "python" and command[1] == "-m":
                assert (ROOT / command[2] / "__main__.py").exists(), name
            if program == "celery":
                assert (ROOT / "portal" / "celery.py").exists()
            if program == "gunicorn":
                assert (ROOT / "portal" / "wsgi.py").exists()


def test_the_lock_pins_every_declared_dependency_at_its_version():
    """`make install` installs requirements.lock alone: it must hold pyproject.toml's pins."""
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    normalise = lambda name: name.lower().replace("_", "-")   # noqa: E731
    locked = dict(line.split("==") for line in (ROOT / "requirements.lock").read_text().splitlines()
                  if "==" in line and not line.startswith("#"))
    locked = {normalise(name): version for name, version in locked.items()}
    for requirement in declared:
        name, version = requirement.split("==")
        name = normalise(name.split("[")[0])
        assert locked.get(name) == version, f"{requirement} is declared but requirements.lock has {locked.get(name)}"
