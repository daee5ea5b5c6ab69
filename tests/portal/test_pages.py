"""Core pages used as a person would: forms keep input, admins manage teams, lists stay cheap."""
import csv
import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from portal import services
from portal.models import AuditEvent, Membership, RoleAssignment, Team
from portal.permissions import SYSTEM


def as_user(world, persona):
    client = Client()
    client.force_login(world[persona])
    return client


def test_a_rejected_team_form_keeps_everything_typed(world):
    response = as_user(world, "platform_admin").post("/teams/new/", {
        "name": "Vision Team", "slug": "Not OK", "line_of_business": "Retail", "cost_center": "CC-42",
        "monthly_budget_usd": "-5", "description": "computer vision"})
    assert response.status_code == 200
    body = response.content.decode()
    for typed in ('value="Vision Team"', 'value="Not OK"', 'value="CC-42"', "computer vision"):
        assert typed in body
    assert "lower-case letters, digits and hyphens" in body
    assert not Team.objects.filter(name="Vision Team").exists()


def test_a_duplicate_slug_is_explained_on_the_field(world):
    response = as_user(world, "platform_admin").post("/teams/new/", {
        "name": "Another", "slug": "fraud-detection", "line_of_business": "x", "cost_center": "y",
        "monthly_budget_usd": "0"})
    assert response.status_code == 200
    assert "Already taken." in response.content.decode()


def test_admin_adds_and_removes_a_member(world):
    client = as_user(world, "platform_admin")
    response = client.post("/teams/fraud-detection/members/", {"username": "outsider", "role": "ml_engineer"})
    assert response.status_code == 302
    membership = Membership.objects.get(team=world.team, user=world["outsider"])
    assert membership.role == "ml_engineer"
    client.post(f"/teams/fraud-detection/members/{membership.pk}/remove/")
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert list(AuditEvent.objects.filter(target_type="portal.membership").values_list("action", flat=True)[:2]) == \
        ["membership.remove", "membership.set"]


def test_adding_an_unknown_user_says_what_to_do(world):
    response = as_user(world, "platform_admin").post("/teams/fraud-detection/members/",
                                                     {"username": "nobody", "role": "lead"})
    assert response.status_code == 400
    assert "No active user is called &#x27;nobody&#x27;. Create the user first." in response.content.decode()


def test_admin_grants_and_revokes_roles_but_keeps_one_admin(world):
    client = as_user(world, "platform_admin")
    client.post(f"/users/{world['outsider'].pk}/roles/", {"role": "executive"})
    grant = RoleAssignment.objects.get(user=world["outsider"], role="executive")
    client.post(f"/roles/{grant.pk}/revoke/")
    assert not RoleAssignment.objects.filter(pk=grant.pk).exists()
    only_admin = RoleAssignment.objects.get(role="platform_admin")
    response = client.post(f"/roles/{only_admin.pk}/revoke/", follow=True)
    assert "last platform admin" in response.content.decode()
    assert RoleAssignment.objects.filter(pk=only_admin.pk).exists()


def test_audit_page_filters_and_exports_csv(world):
    client = as_user(world, "auditor")
    page = client.get("/audit/", {"action": "membership."}).content.decode()
    assert "membership.set" in page and "team.create" not in page
    response = client.get("/audit/", {"action": "team.", "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["seq", "occurred_at", "actor_label", "action"]
    assert {row[3] for row in rows[1:]} == {"team.create"} and len(rows) == 3


def test_a_new_token_is_shown_once(world):
    client = as_user(world, "lead")
    created = client.post("/tokens/", {"name": "nightly", "scope": "read", "expires_in_days": "30"}).content.decode()
    assert "mlp_" in created and "Copy your new token now" in created
    assert "mlp_" not in client.get("/tokens/").content.decode().split("nightly")[0].split("<main")[1]


def test_health_page_reports_each_check(world, aws_endpoint):
    response = as_user(world, "platform_admin").get("/health/?format=json")
    checks = {c["name"]: c for c in response.json()["checks"]}
    assert checks["Database"]["ok"] and checks["AWS / sandbox"]["ok"]
    assert checks["AWS / sandbox"]["detail"] == "111111111111"
    assert checks["Worker heartbeat"] == {"name": "Worker heartbeat", "ok": False,
                                          "detail": "No worker has reported yet."}


def test_home_shows_real_figures_for_each_role(world):
    admin = as_user(world, "platform_admin").get("/").content.decode()
    assert "The platform today" in admin and "Recent activity" in admin
    lead = as_user(world, "lead").get("/").content.decode()
    assert "Fraud Detection" in lead and "fraud-detection-dev" in lead and "The platform today" not in lead
    outsider = as_user(world, "outsider").get("/").content.decode()
    assert "You are not a member of any team" in outsider


CORE_NAV = {"Home", "Audit log", "Teams", "Users and roles", "System health"}


def test_navigation_shows_each_role_what_it_can_open(world):
    def items(persona):   # the core app's entries; other apps test their own
        return [i["label"] for s in as_user(world, persona).get("/").context["nav_items"] for i in s["items"]
                if i["label"] in CORE_NAV]
    assert items("platform_admin") == ["Home", "Audit log", "Teams", "Users and roles", "System health"]
    assert items("auditor") == ["Home", "Audit log", "Teams", "Users and roles"]
    assert items("executive") == ["Home", "Teams"]
    assert items("lead") == ["Home"]
    assert items("outsider") == ["Home"]


PAGES = ["/", "/teams/", "/users/", "/audit/", "/tokens/", "/teams/fraud-detection/"]


@pytest.mark.parametrize("url", PAGES)
def test_page_query_count_does_not_grow_with_rows(world, url):
    client = as_user(world, "platform_admin")
    client.get(url)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    small = count()
    for n in range(8):
        user = services.user_create(actor=SYSTEM, username=f"p{n}", email=f"p{n}@example.com")
        services.membership_set(actor=SYSTEM, team=world.team, user=user, role="data_scientist")
        services.role_grant(actor=SYSTEM, user=user, role="auditor")
        services.team_create(actor=SYSTEM, name=f"P{n}", slug=f"p{n}", line_of_business="L", cost_center="C")
        services.account_link(actor=SYSTEM, account_id=f"5555555555{n:02d}", name=f"a{n}", environment="test",
                              team=world.team)
        services.api_token_create(actor=world["platform_admin"], name=f"t{n}", expires_in_days=1)
    assert count() == small


def test_notifications_are_shown_emailed_after_commit_and_marked_read(world, django_capture_on_commit_callbacks, mailoutbox):
    from portal.notifications import notify
    from portal.tasks import send_notification_emails

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify(users=[world["lead"], world["lead"], world["ds"]], kind="request.approved",
               subject="Your domain request was approved", url="/requests/1/", team=world.team)
    assert len(callbacks) == 1 and not mailoutbox          # nothing is sent before commit
    ids = list(world["lead"].notifications.values_list("pk", flat=True)) + \
        list(world["ds"].notifications.values_list("pk", flat=True))
    send_notification_emails(ids)
    send_notification_emails(ids)                          # a repeat sends nothing more
    assert sorted(m.to[0] for m in mailoutbox) == ["ds@example.com", "lead@example.com"]
    assert "http://127.0.0.1:8000/requests/1/" in mailoutbox[0].body
    client = as_user(world, "lead")
    page = client.get("/notifications/").content.decode()
    assert "Your domain request was approved" in page and "1<span class=\"visually-hidden\"> unread" in page
    client.post("/notifications/")
    assert "visually-hidden\"> unread" not in client.get("/notifications/").content.decode()


def test_audit_csv_cells_cannot_run_as_formulas(world):
    services.team_create(actor=world["platform_admin"], name="=HYPERLINK(\"http://x\")", slug="evil",
                         line_of_business="L", cost_center="C")
    response = as_user(world, "auditor").get("/audit/", {"action": "team.create", "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    labels = [row[6] for row in rows[1:]]
    assert "'=HYPERLINK(\"http://x\")" in labels
    after = next(row[11] for row in rows[1:] if row[6].startswith("'="))
    assert __import__("json").loads(after)["slug"] == "evil"


def test_healthz_answers_any_host_over_plain_http(client, settings):
    settings.ALLOWED_HOSTS = ["portal.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz/", HTTP_HOST="10.0.0.7:8000")
    assert (response.status_code, response.content) == (200, b"ok")
    assert client.get("/accounts/login/", HTTP_HOST="10.0.0.7:8000").status_code == 400
