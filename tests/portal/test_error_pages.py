"""The portal's own 404/403/500 pages (also in local settings, where DEBUG is on) and its favicon."""
import io
import logging
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from portal.settings import local

DEBUG_PAGE_MARKERS = ("Using the URLconf defined in", "Django tried these URL patterns", "technical_404")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(params=["production-like", "local"])
def local_or_not(request, settings):
    """Each test runs with DEBUG off (production, test) and as local settings have it (DEBUG on)."""
    if request.param == "local":
        settings.DEBUG = True
        settings.MIDDLEWARE = local.MIDDLEWARE
    return request.param


def test_an_unknown_address_shows_the_portal_page_not_django_s_url_list(world, local_or_not):
    response = signed_in(world["lead"]).get("/no-such-page/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in body and "/no-such-page/" in body
    assert 'data-testid="main-nav"' in body and 'href="/"' in body     # the base layout, a way home
    assert not any(marker in body for marker in DEBUG_PAGE_MARKERS)


def test_an_object_that_is_not_there_shows_the_portal_page(world, local_or_not):
    response = signed_in(world["lead"]).get("/teams/no-such-team/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body and not any(marker in body for marker in DEBUG_PAGE_MARKERS)


def test_a_signed_out_visitor_is_offered_the_sign_in(db, local_or_not):
    body = Client().get("/api-nope/").content.decode()
    assert "Page not found" in body and "/accounts/login/" in body


def test_api_errors_stay_json(world, local_or_not):
    response = signed_in(world["lead"]).get("/api/v1/teams/999999/")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")


def test_an_unknown_api_address_answers_the_api_error_shape(world, local_or_not):
    for path in ("/api/v1/no-such-resource/", "/api/nothing"):
        response = signed_in(world["lead"]).get(path)
        assert response.status_code == 404 and response["Content-Type"].startswith("application/json"), path
        assert response.json()["error"]["code"] == "not_found" and "/api/docs/" in response.json()["error"]["message"]


def test_a_missing_slash_still_redirects(world, local_or_not):
    response = signed_in(world["lead"]).get("/teams")
    assert response.status_code == 301 and response["Location"] == "/teams/"


def test_a_refusal_shows_the_reason_and_who_can_help(world, local_or_not):
    response = signed_in(world["lead"]).get("/health/")
    body = response.content.decode()
    assert response.status_code == 403
    assert "Only platform admins may see system health." in body
    assert "platform admin" in body and 'data-testid="main-nav"' in body


def test_a_server_error_shows_the_portal_page_with_a_reference(world, settings):
    client = signed_in(world["lead"])
    client.raise_request_exception = False
    with mock.patch("portal.context_processors.navigation_for", side_effect=RuntimeError("boom")):
        response = client.get("/", HTTP_X_REQUEST_ID="req-500-check")
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in body and "req-500-check" in body
    assert "/static/vendor/bootstrap.min.css" in body and "boom" not in body


def test_the_favicon_is_linked_and_served(world, local_or_not):
    client = signed_in(world["lead"])
    page = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/portal/favicon.svg" type="image/svg+xml">' in page
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/portal/favicon.svg"
    assert Path(finders.find("portal/favicon.svg")).read_text().startswith("<svg")
    # Served by WhiteNoise from the app folders locally (DEBUG); production serves it through the
    # manifest (tests/portal/test_production.py).
    if local_or_not == "local":
        icon = client.get(response["Location"])
        assert icon.status_code == 200 and b"<svg" in b"".join(icon.streaming_content)


@pytest.fixture
def console():
    """What the console log handler (settings.LOGGING) writes, captured."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_a_refusal_is_logged_on_one_line_without_a_traceback(world, console, local_or_not):
    signed_in(world["lead"]).get("/health/")
    logged = console.getvalue()
    assert "WARNING django.request Forbidden (Permission denied): /health/" in logged
    assert "Traceback" not in logged and logged.count("Forbidden") == 1
    assert logging.getLogger("django").handlers == []   # Django's DEBUG console handler would print it twice


def test_a_server_error_keeps_its_traceback_in_the_log(world, console):
    client = signed_in(world["lead"])
    client.raise_request_exception = False
    with mock.patch("portal.context_processors.navigation_for", side_effect=RuntimeError("boom")):
        client.get("/")
    assert "ERROR django.request Internal Server Error: /" in console.getvalue()
    assert "Traceback" in console.getvalue() and "RuntimeError: boom" in console.getvalue()
