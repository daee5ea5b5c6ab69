"""Sign-in: login/logout, lockout per (username, IP), password reset, MFA, session timeouts."""
import time

import pytest
from django.core import mail
from django.test import Client

from portal.models import AuditEvent

PASSWORD = "pw-for-tests-123"


def login(client, username, password, ip="10.0.0.1"):
    return client.post("/accounts/login/", {"login": username, "password": password}, REMOTE_ADDR=ip)


def test_sign_in_and_out(world):
    client = Client()
    response = login(client, "lead", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_wrong_password_keeps_the_username_and_says_so(world):
    response = login(Client(), "lead", "nope")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'value="lead"' in body
    assert "not correct" in body


def test_lockout_is_per_username_and_ip(world, settings):
    attacker = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(attacker, "lead", "wrong", ip="203.0.113.9")
    locked = login(attacker, "lead", PASSWORD, ip="203.0.113.9")
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.content.decode()
    # The victim, from their own address, still signs in.
    assert login(Client(), "lead", PASSWORD, ip="10.0.0.1").status_code == 302
    # The attacker's address can still sign in as someone else.
    assert login(Client(), "ds", PASSWORD, ip="203.0.113.9").status_code == 302


def test_password_reset_sends_a_link(world):
    response = Client().post("/accounts/password/reset/", {"email": "lead@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "/accounts/password/reset/key/" in mail.outbox[0].body


def test_totp_setup_is_offered(world):
    client = Client()
    client.force_login(world["lead"])
    response = client.get("/accounts/2fa/")
    assert response.status_code == 200
    assert "/accounts/2fa/totp/activate/" in response.content.decode()


def test_no_self_sign_up(db):
    response = Client().post("/accounts/signup/", {"username": "mallory", "email": "m@example.com",
                                                   "password1": "Sup3r-Secret-pw", "password2": "Sup3r-Secret-pw"})
    assert "closed" in response.content.decode().lower()
    from django.contrib.auth import get_user_model
    assert not get_user_model().objects.filter(username="mallory").exists()


def test_sessions_end_after_the_absolute_timeout(world, settings):
    client = Client()
    login(client, "lead", PASSWORD)
    session = client.session
    session["signed_in_at"] = time.time() - settings.SESSION_ABSOLUTE_SECONDS - 1
    session.save()
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/").status_code == 302


def test_idle_timeout_is_the_cookie_age_refreshed_on_each_request(settings):
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_AGE == 30 * 60


@pytest.mark.parametrize("persona", ["platform_admin", "lead"])
def test_every_page_view_is_scoped_and_not_audited_as_a_write(world, persona):
    client = Client()
    client.force_login(world[persona])
    before = AuditEvent.objects.count()
    client.get("/")
    client.get("/teams/")
    assert AuditEvent.objects.count() == before


def test_sso_configured_by_environment_shows_on_the_sign_in_page(db, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": [{
        "provider_id": "sso", "name": "IAM Identity Center", "client_id": "portal", "secret": "s",
        "settings": {"server_url": "https://idp.example.com"}}]}}
    page = Client().get("/accounts/login/").content.decode()
    assert "Sign in with IAM Identity Center" in page


def test_no_sso_button_without_configuration(db):
    assert "Sign in with" not in Client().get("/accounts/login/").content.decode()
