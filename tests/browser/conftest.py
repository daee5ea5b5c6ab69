"""Browser journeys: pytest + Playwright driving Debian's Chromium against a live server.

Screenshots go to test-artifacts/screenshots/ (CI keeps the folder).
"""
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
# browser steps are ordinary synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return
    reason = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium); .ci/run installs it"
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.console_errors = errors
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    return take


@pytest.fixture
def demo(transactional_db, aws_endpoint, settings, eager_tasks):
    """The demo `make run` builds (``seed_demo --sync``), Celery eager, the sandbox taking 1 s per
    provisioning record."""
    from django.core.management import call_command
    settings.SHOW_DEMO_PASSWORDS = True
    engine = aws_endpoint.engine
    durations = engine.config.as_dict()
    engine.config.update({"provision_seconds": 1, "domain_seconds": 1})
    call_command("seed_demo", "--sync")
    yield engine
    engine.config.update({"provision_seconds": durations["provision_seconds"],
                          "domain_seconds": durations["domain_seconds"]})


def sign_in(page, base_url: str, username: str, password: str) -> None:
    """Sign in through the real form (after forgetting any earlier session) and land on the home page."""
    page.context.clear_cookies()
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")
