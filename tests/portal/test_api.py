"""The REST API contract: tokens, one error shape, Idempotency-Key, lists, query counts."""
import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from portal import services
from portal.errors import DomainError
from portal.models import ApiToken, IdempotencyRecord, Team
from portal.permissions import SYSTEM

NEW_TEAM = {"name": "Vision", "slug": "vision", "line_of_business": "Retail", "cost_center": "CC-7"}


def bearer(secret):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


# --- tokens ----------------------------------------------------------------------------------------
def test_a_token_acts_as_its_owner_and_is_stored_hashed(world, token_for):
    secret = token_for(world["lead"])
    response = bearer(secret).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["teams"] == [{"team": "fraud-detection", "role": "lead"}]
    stored = ApiToken.objects.get(user=world["lead"])
    assert secret not in (stored.token_hash, stored.prefix) and len(stored.token_hash) == 64
    assert stored.last_used_at is not None


@pytest.mark.parametrize("state", ["revoked", "expired", "unknown"])
def test_unusable_tokens_get_401_with_a_reason(world, token_for, state):
    secret = token_for(world["lead"])
    token = ApiToken.objects.get(user=world["lead"])
    if state == "revoked":
        services.api_token_revoke(actor=world["lead"], token=token)
    elif state == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    else:
        secret = secret[:-4] + "xxxx"
    response = bearer(secret).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"] == {"code": "authentication_failed",
                                        "message": "The API token is unknown, expired or revoked."}


def test_read_only_tokens_cannot_write(world, token_for):
    client = bearer(token_for(world["platform_admin"], scope="read"))
    assert client.get("/api/v1/teams/").status_code == 200
    response = client.post("/api/v1/teams/", NEW_TEAM, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"


def test_token_expiry_is_bounded(world, settings):
    client = APIClient()
    client.force_login(world["lead"])
    response = client.post("/api/v1/api-tokens/", {"name": "x", "expires_in_days": settings.API_TOKEN_MAX_DAYS + 1},
                           format="json")
    assert response.status_code == 400
    assert "expires_in_days" in response.json()["error"]["fields"]


def test_create_api_token_command_prints_a_working_token(world, capsys):
    from django.core.management import call_command
    call_command("create_api_token", "auditor", "--expires-in", "3")
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("mlp_")
    assert bearer(secret).get("/api/v1/audit-events/").status_code == 200


# --- errors ----------------------------------------------------------------------------------------
def test_validation_errors_use_the_one_error_shape(world):
    client = APIClient()
    client.force_login(world["platform_admin"])
    response = client.post("/api/v1/teams/", {"name": "X", "slug": "Bad Slug!"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert {"slug", "line_of_business", "cost_center"} <= set(error["fields"])


def test_domain_errors_carry_a_stable_code(world):
    client = APIClient()
    client.force_login(world["platform_admin"])
    response = client.post("/api/v1/teams/", {**NEW_TEAM, "slug": "fraud-detection"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert "fraud-detection" in response.json()["error"]["message"]


def test_other_teams_objects_are_not_found(world):
    client = APIClient()
    client.force_login(world["other_lead"])
    response = client.get(f"/api/v1/teams/{world.team.slug}/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


# --- Idempotency-Key --------------------------------------------------------------------------------
def _admin(world):
    client = APIClient()
    client.force_login(world["platform_admin"])
    return client


def test_same_key_and_body_replays_the_first_response(world):
    client = _admin(world)
    first = client.post("/api/v1/teams/", NEW_TEAM, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post("/api/v1/teams/", NEW_TEAM, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Team.objects.filter(slug="vision").count() == 1


def test_same_key_with_another_body_is_422(world):
    client = _admin(world)
    client.post("/api/v1/teams/", NEW_TEAM, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    response = client.post("/api/v1/teams/", {**NEW_TEAM, "name": "Other"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 422 and response.json()["error"]["code"] == "idempotency_key_reused"


def test_same_key_while_the_first_is_running_is_409(world):
    IdempotencyRecord.objects.create(user=world["platform_admin"], route="/api/v1/teams/", key="k-3",
                                     body_hash=__import__("hashlib").sha256(
                                         __import__("json").dumps(NEW_TEAM, sort_keys=True).encode()).hexdigest())
    response = _admin(world).post("/api/v1/teams/", NEW_TEAM, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert response.status_code == 409 and response.json()["error"]["code"] == "idempotency_key_in_progress"


def test_keys_are_scoped_to_the_user(world):
    _admin(world).post("/api/v1/api-tokens/", {"name": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    other = APIClient()
    other.force_login(world["lead"])
    response = other.post("/api/v1/api-tokens/", {"name": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert ApiToken.objects.filter(user=world["lead"]).count() == 1


def test_a_failed_create_frees_the_key_for_a_corrected_retry(world):
    client = _admin(world)
    bad = client.post("/api/v1/teams/", {**NEW_TEAM, "slug": "fraud-detection"}, format="json",
                      HTTP_IDEMPOTENCY_KEY="k-4")
    assert bad.status_code == 409
    assert not IdempotencyRecord.objects.filter(key="k-4").exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_with_one_key_create_one_team():
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL (run by .ci/run)")
    admin = services.user_create(actor=SYSTEM, username="root-admin", email="a@example.com")
    services.role_grant(actor=SYSTEM, user=admin, role="platform_admin")
    statuses = []

    def post():
        client = APIClient()
        client.force_login(admin)
        statuses.append(client.post("/api/v1/teams/", NEW_TEAM, format="json", HTTP_IDEMPOTENCY_KEY="race").status_code)
        connection.close()

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Team.objects.filter(slug="vision").count() == 1
    assert set(statuses) <= {201, 409} and 201 in statuses


# --- lists -----------------------------------------------------------------------------------------
def test_lists_paginate_filter_and_order(world):
    for n in range(7):
        services.team_create(actor=SYSTEM, name=f"T{n}", slug=f"t{n}", line_of_business="Ops" if n % 2 else "Risk",
                             cost_center=f"C{n}")
    client = _admin(world)
    page = client.get("/api/v1/teams/?page_size=3&ordering=-name").json()
    assert page["count"] == 9 and len(page["results"]) == 3 and page["next"]
    names = [team["name"] for team in page["results"]]
    assert names == sorted(names, reverse=True)
    risk = client.get("/api/v1/teams/?line_of_business=Risk").json()
    assert {t["line_of_business"] for t in risk["results"]} == {"Risk"}


LIST_ENDPOINTS = ["/api/v1/teams/", "/api/v1/memberships/", "/api/v1/role-assignments/", "/api/v1/accounts/",
                  "/api/v1/audit-events/", "/api/v1/api-tokens/"]


def _add_rows(world, numbers):
    for n in numbers:
        team = services.team_create(actor=SYSTEM, name=f"Q{n}", slug=f"q{n}", line_of_business="L", cost_center="C")
        user = services.user_create(actor=SYSTEM, username=f"u{n}", email=f"u{n}@example.com")
        services.membership_set(actor=SYSTEM, team=team, user=user, role="lead")
        services.role_grant(actor=SYSTEM, user=user, role="auditor")
        services.account_link(actor=SYSTEM, account_id=f"4444444444{n:02d}", name=f"acct{n}", environment="dev",
                              team=team)
        services.api_token_create(actor=world["platform_admin"], name=f"t{n}", expires_in_days=1)


@pytest.mark.parametrize("url", LIST_ENDPOINTS)
def test_list_query_count_does_not_grow_with_rows(world, url):
    client = _admin(world)
    _add_rows(world, [0])   # every list has at least one row, so the row query always runs
    client.get(url)         # warm caches (content types, sessions)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    small = count()
    _add_rows(world, range(1, 11))
    assert count() == small


def test_openapi_schema_documents_every_endpoint(world):
    client = _admin(world)
    schema = client.get("/api/schema/?format=json").json()
    for url in LIST_ENDPOINTS + ["/api/v1/me/"]:
        assert url in schema["paths"], url
    assert "apiToken" in schema["components"]["securitySchemes"]


# --- review follow-ups --------------------------------------------------------------------------------
def test_read_only_tokens_cannot_write_anywhere(world, token_for):
    client = bearer(token_for(world["lead"], scope="read"))
    for url, body in (("/api/v1/api-tokens/", {"name": "escalate", "scope": "write"}),
                      ("/api/v1/notifications/mark-read/", {})):
        response = client.post(url, body, format="json")
        assert response.status_code == 403, url
        assert "read-only" in response.json()["error"]["message"]
    assert ApiToken.objects.filter(user=world["lead"]).count() == 1


def test_a_key_released_by_a_failed_first_request_is_taken_not_a_500(world, monkeypatch):
    """Two requests with one key: the second's insert collides with the first's record, which the
    first then deletes because its create failed. The second must run, not crash on the missing row."""
    real_create, collisions = IdempotencyRecord.objects.create, []

    def collide_once(**fields):
        if not collisions:
            collisions.append(fields["key"])
            raise IntegrityError("duplicate key value violates unique constraint")   # the first held the key
        return real_create(**fields)
    monkeypatch.setattr(IdempotencyRecord.objects, "create", collide_once)
    response = _admin(world).post("/api/v1/teams/", NEW_TEAM, format="json", HTTP_IDEMPOTENCY_KEY="k-race")
    assert collisions == ["k-race"]
    assert response.status_code == 201 and Team.objects.filter(slug="vision").count() == 1
    assert IdempotencyRecord.objects.get(key="k-race").completed


def test_a_token_cannot_mint_a_token_that_outlives_it_or_has_more_scope(world):
    short_lived, _ = services.api_token_create(actor=world["lead"], name="short", expires_in_days=2)
    secret = services.api_token_create(actor=world["lead"], name="long", expires_in_days=30)[1]
    client = bearer(services.api_token_create(actor=world["lead"], name="one-day", expires_in_days=1)[1])
    response = client.post("/api/v1/api-tokens/", {"name": "forever", "expires_in_days": 365}, format="json")
    assert response.status_code == 400 and "expires_in_days" in response.json()["error"]["fields"]
    assert "cannot outlive it" in response.json()["error"]["message"]
    assert not ApiToken.objects.filter(name="forever").exists()
    created = bearer(secret).post("/api/v1/api-tokens/", {"name": "ci", "expires_in_days": 7}, format="json")
    assert created.status_code == 201
    read_only, _ = services.api_token_create(actor=world["lead"], name="reader", scope="read", expires_in_days=5)
    with pytest.raises(DomainError) as error:
        services.api_token_create(actor=world["lead"], name="writer", scope="write", expires_in_days=1,
                                  via_token=read_only)
    assert "scope" in error.value.fields
    assert services.api_token_create(actor=world["lead"], name="ok", expires_in_days=1, via_token=short_lived)[0].pk


def test_a_token_created_with_an_idempotency_key_is_created_once_and_its_secret_not_stored(world):
    client = APIClient()
    client.force_login(world["lead"])
    first = client.post("/api/v1/api-tokens/", {"name": "ci"}, format="json", HTTP_IDEMPOTENCY_KEY="tok-1")
    replay = client.post("/api/v1/api-tokens/", {"name": "ci"}, format="json", HTTP_IDEMPOTENCY_KEY="tok-1")
    assert first.status_code == replay.status_code == 201
    assert first.json()["token"].startswith("mlp_") and replay.json()["token"] is None
    assert first.json()["id"] == replay.json()["id"]
    assert ApiToken.objects.filter(user=world["lead"]).count() == 1
    assert "mlp_" not in str(IdempotencyRecord.objects.get(key="tok-1").response_body)


def test_an_abandoned_idempotency_key_is_taken_over(world, settings):
    record = IdempotencyRecord.objects.create(
        user=world["platform_admin"], route="/api/v1/teams/", key="k-dead",
        body_hash=__import__("hashlib").sha256(__import__("json").dumps(NEW_TEAM, sort_keys=True).encode()).hexdigest())
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - timedelta(minutes=settings.IDEMPOTENCY_ABANDONED_MINUTES + 1))
    response = _admin(world).post("/api/v1/teams/", NEW_TEAM, format="json", HTTP_IDEMPOTENCY_KEY="k-dead")
    assert response.status_code == 201 and Team.objects.filter(slug="vision").exists()


def test_a_duplicate_team_name_is_a_conflict_not_a_crash(world):
    response = _admin(world).post("/api/v1/teams/", {**NEW_TEAM, "name": "fraud detection"}, format="json")
    assert response.status_code == 409 and response.json()["error"]["fields"] == {"name": ["Already taken."]}


def test_an_executive_limited_to_a_line_of_business_sees_only_its_teams(world):
    services.role_grant(actor=SYSTEM, user=world["outsider"], role="executive", line_of_business="Risk")
    client = APIClient()
    client.force_login(world["outsider"])
    slugs = {team["slug"] for team in client.get("/api/v1/teams/").json()["results"]}
    assert slugs == {"credit-risk"}
    assert client.get("/api/v1/teams/fraud-detection/").status_code == 404


def test_usernames_and_emails_are_unique_ignoring_case(world):
    from portal.errors import DomainError
    with pytest.raises(DomainError, match="taken"):
        services.user_create(actor=SYSTEM, username="LEAD", email="new@example.com")
    with pytest.raises(DomainError, match="e-mail"):
        services.user_create(actor=SYSTEM, username="newbie", email="LEAD@example.com")
    with pytest.raises(DomainError) as error:
        services.user_create(actor=SYSTEM, username="bad name!", email="x@example.com")
    assert "username" in error.value.fields
