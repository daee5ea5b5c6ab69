"""Two approvals for budgets above ACCOUNT_VENDING_SECOND_APPROVAL_BUDGET_USD, by two different
platform admins: services, pages, API and a race between two admins."""
import threading
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection

from portal.errors import Conflict, DomainError
from portal.models import AuditEvent, Notification
from provisioning.accounts import services
from provisioning.accounts.models import AccountApproval, AccountRequest

pytestmark = pytest.mark.django_db
BIG = Decimal("5000")


@pytest.fixture
def second_admin(world):
    from portal import services as portal_services
    from portal.permissions import SYSTEM
    user = portal_services.user_create(actor=SYSTEM, username="platform-admin-2", email="pa2@example.com",
                                       password="pw-for-tests-123")
    portal_services.role_grant(actor=SYSTEM, user=user, role="platform_admin")
    return user


@pytest.fixture
def threshold(settings):
    settings.ACCOUNT_VENDING_SECOND_APPROVAL_BUDGET_USD = 1000


def test_budget_at_or_below_the_threshold_needs_one_approval(world, make_request, threshold):
    item = make_request(monthly_budget_usd=Decimal("1000"))
    assert item.approvals_required == 1
    item = services.account_request_approve(actor=world["platform_admin"], request=item)
    assert item.state == "queued"
    assert list(item.approvals.values_list("stage", "decision")) == [(1, "approve")]


def test_two_different_admins_must_approve_a_big_budget(world, make_request, threshold, second_admin):
    item = make_request(monthly_budget_usd=BIG)
    assert item.approvals_required == 2 and "two different platform admins" in item.steps.last().detail
    first = services.account_request_approve(actor=world["platform_admin"], request=item, comment="ok by me")
    assert first.state == "pending_second_approval" and first.queued_at is None
    assert AuditEvent.objects.filter(action="account_request.approve_first").count() == 1
    # the other platform admins are asked; the first approver and the requester are not
    asked = Notification.objects.filter(kind="account_request.second_approval")
    assert set(asked.values_list("user__username", flat=True)) == {"platform-admin-2"}
    assert "first approved by platform-admin" in asked.get().subject
    with pytest.raises(Conflict, match="a different platform admin must give the second one"):
        services.account_request_approve(actor=world["platform_admin"], request=item)
    second = services.account_request_approve(actor=second_admin, request=item)
    assert second.state == "queued" and second.decided_by == second_admin
    assert [(a.stage, a.decision, a.decided_by.username) for a in second.approvals.all()] == [
        (1, "approve", "platform-admin"), (2, "approve", "platform-admin-2")]
    assert AuditEvent.objects.filter(action="account_request.approve").count() == 1
    assert Notification.objects.filter(user=world["lead"], kind="account_request.approved").count() == 1


def test_rejection_at_the_second_stage_needs_a_comment(world, make_request, threshold, second_admin):
    item = make_request(monthly_budget_usd=BIG)
    services.account_request_approve(actor=world["platform_admin"], request=item)
    with pytest.raises(DomainError) as error:
        services.account_request_reject(actor=second_admin, request=item, comment=" ")
    assert error.value.fields["comment"]
    rejected = services.account_request_reject(actor=second_admin, request=item, comment="too expensive")
    assert rejected.state == "rejected"
    assert list(rejected.approvals.values_list("stage", "decision", "comment")) == [
        (1, "approve", ""), (2, "reject", "too expensive")]
    assert AuditEvent.objects.filter(action="account_request.reject").count() == 1


def test_pages_show_the_first_approver_and_refuse_a_second_approval_by_them(world, make_request, threshold,
                                                                           second_admin, client):
    item = make_request(monthly_budget_usd=BIG)
    client.force_login(world["platform_admin"])
    listing = client.get("/account-requests/").content.decode()
    assert "Needs two approvals" in listing
    client.post(f"/account-requests/{item.pk}/approve/", {"comment": "fine"})
    detail = client.get(f"/account-requests/{item.pk}/").content.decode()
    assert "Waiting for a second approval" in detail and "First decision: approved by platform-admin" in detail
    assert "You gave the first approval" in detail and "Give the second approval" not in detail
    refused = client.post(f"/account-requests/{item.pk}/approve/", {"comment": ""}, follow=True).content.decode()
    assert "a different platform admin must give the second one" in refused
    assert AccountRequest.objects.get(pk=item.pk).state == "pending_second_approval"
    listing = client.get("/account-requests/", {"state": "pending_second_approval"}).content.decode()
    assert "First approved by platform-admin; a second platform admin must approve." in listing
    client.force_login(second_admin)
    assert "Give the second approval" in client.get(f"/account-requests/{item.pk}/").content.decode()


def test_api_second_approval_and_409_for_the_same_admin(world, make_request, threshold, second_admin, api_client):
    item = make_request(monthly_budget_usd=BIG)
    api_client.force_authenticate(world["platform_admin"])
    first = api_client.post(f"/api/v1/account-requests/{item.pk}/approve/", {"comment": "ok"}, format="json")
    assert first.status_code == 200 and first.data["state"] == "pending_second_approval"
    assert first.data["approvals_required"] == 2
    assert [(a["stage"], a["decided_by"]) for a in first.data["approvals"]] == [(1, "platform-admin")]
    again = api_client.post(f"/api/v1/account-requests/{item.pk}/approve/", {}, format="json")
    assert again.status_code == 409 and again.data["error"]["code"] == "conflict"
    assert "different platform admin" in again.data["error"]["message"]
    api_client.force_authenticate(second_admin)
    done = api_client.post(f"/api/v1/account-requests/{item.pk}/approve/", {}, format="json")
    assert done.status_code == 200 and done.data["state"] == "queued"


def _race(item, actors):
    """Every actor approves the request at the same moment; returns what each got."""
    results, barrier = [], threading.Barrier(len(actors))

    def act(actor):
        try:
            barrier.wait()
            services.account_request_approve(actor=actor, request=AccountRequest.objects.get(pk=item.pk))
            results.append("approved")
        except Conflict:
            results.append("conflict")
        finally:
            connection.close()

    with mock.patch("provisioning.accounts.services._enqueue_dispatch"):
        threads = [threading.Thread(target=act, args=(actor,)) for actor in actors]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_two_admins_approving_at_once_give_one_first_and_one_second_approval(world, make_request, threshold,
                                                                             second_admin):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises all writers, so there is no race to prove")
    item = make_request(monthly_budget_usd=BIG)
    assert _race(item, [world["platform_admin"], second_admin]) == ["approved", "approved"]
    item.refresh_from_db()
    assert item.state == "queued"
    approvals = AccountApproval.objects.filter(request=item)
    assert sorted(approvals.values_list("stage", flat=True)) == [1, 2]
    assert len(set(approvals.values_list("decided_by", flat=True))) == 2
    # the same admin twice at once: one first approval, one clear refusal
    other = make_request(monthly_budget_usd=BIG)
    assert sorted(_race(other, [second_admin, second_admin])) == ["approved", "conflict"]
    assert AccountRequest.objects.get(pk=other.pk).state == "pending_second_approval"


def test_a_request_nobody_existing_can_decide_says_so_and_tells_the_platform_admins(
        world, make_request, threshold, second_admin, client, api_client):
    # A platform admin's own big request: the requester may not approve it, so one admin is left for two approvals.
    item = make_request(actor=second_admin, monthly_budget_usd=BIG)
    reason = services.undecidable_reason(item)
    assert "Nobody can approve this request: it needs 2 more approvals" in reason and "1 exists" in reason
    told = Notification.objects.filter(kind="account_request.undecidable")
    assert set(told.values_list("user__username", flat=True)) == {"platform-admin", "platform-admin-2"}
    client.force_login(world["platform_admin"])
    assert reason in client.get(f"/account-requests/{item.pk}/").content.decode()
    api_client.force_authenticate(second_admin)
    assert api_client.get(f"/api/v1/account-requests/{item.pk}/").json()["undecidable"] == reason
    # The one admin who can approve gives the first approval: the page still says nobody can give the second.
    services.account_request_approve(actor=world["platform_admin"], request=item)
    item.refresh_from_db()
    assert services.undecidable_reason(item).startswith("Nobody can give the second approval")
    assert told.count() == 4
    # A third platform admin makes it decidable again.
    third = portal_services_user("platform-admin-3")
    assert services.undecidable_reason(item) == ""
    assert services.account_request_approve(actor=third, request=item).state == "queued"


def test_a_request_someone_can_decide_says_nothing(world, make_request, threshold, second_admin):
    item = make_request(monthly_budget_usd=BIG)
    assert services.undecidable_reason(item) == ""
    assert not Notification.objects.filter(kind="account_request.undecidable").exists()


def portal_services_user(username):
    from portal import services as portal_services
    from portal.permissions import SYSTEM
    user = portal_services.user_create(actor=SYSTEM, username=username, email=f"{username}@example.com",
                                       password="pw-for-tests-123")
    portal_services.role_grant(actor=SYSTEM, user=user, role="platform_admin")
    return user


def test_in_the_demo_a_platform_admins_own_big_request_can_be_approved_by_two_others(db, aws_endpoint, settings):
    """The demo as `make run` seeds it: enough platform admins for the second-approval rule."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from portal.models import Team

    call_command("seed_demo")
    users = get_user_model().objects
    requester = users.get(username="platform-admin")
    item = services.account_request_create(
        actor=requester, team=Team.objects.get(slug="marketing-ml"), environment="dev", purpose="Campaign models",
        account_name="marketing-ml-big", sso_first_name="Pat", sso_last_name="Admin", sso_email=requester.email,
        monthly_budget_usd=Decimal(services.second_approval_threshold()) + 1)
    assert item.approvals_required == 2 and services.undecidable_reason(item) == ""
    first, second = users.filter(pk__in=services.approver_ids(item.team_id) - {requester.pk}).order_by("username")[:2]
    item = services.account_request_approve(actor=first, request=item)
    assert services.undecidable_reason(item) == ""
    assert services.account_request_approve(actor=second, request=item).state == "queued"
