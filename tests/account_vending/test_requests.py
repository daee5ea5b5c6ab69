"""Request validation, decisions and permissions (no AWS)."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from portal.errors import DomainError, InvalidTransition
from portal.models import AuditEvent, Notification
from provisioning.accounts import services
from provisioning.accounts.models import AccountRequest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("email, rule", [
    ("a@b.c", "6 to 64"), ("no-at-sign.example.com", "one @"), (".dot@example.com", "start with a dot"),
    ("bad(char@example.com", "must not contain"), ("x@nodot", "contain a dot"), ("é" + "x@example.com", "ASCII"),
])
def test_root_email_rules_are_named(email, rule):
    assert rule in services.email_problem(email)


def test_valid_email_and_names():
    assert services.email_problem("aws+fraud-dev@example.com") is None
    assert services.account_name_problem("x" * 50) is None
    assert "1 to 50" in services.account_name_problem("x" * 51)
    assert services.account_name_problem("tab\tname")


def test_create_sends_for_approval_with_ou_from_environment(world, make_request):
    item = make_request(environment="prod")
    assert item.state == "pending_approval" and item.ou_path == "Deployments/Prod"
    assert [s.action for s in item.steps.all()] == ["submit", "require_approval"]
    assert AuditEvent.objects.filter(action="account_request.create").count() == 1
    assert Notification.objects.filter(user=world["platform_admin"], kind="account_request.pending").exists()


def test_email_generated_from_pattern(world, make_request, settings):
    settings.ACCOUNT_EMAIL_PATTERN = "aws+{team}-{env}@corp.example.com"
    item = make_request(email="", environment="test")
    assert item.email == "aws+fraud-detection-test@corp.example.com"


def test_a_second_account_of_a_team_and_environment_gets_the_next_free_email(world, make_request, settings):
    settings.ACCOUNT_EMAIL_PATTERN = "aws+{team}-{env}@corp.example.com"
    emails = [make_request(email="", environment="dev").email for _ in range(3)]
    assert emails == ["aws+fraud-detection-dev@corp.example.com", "aws+fraud-detection-dev-2@corp.example.com",
                      "aws+fraud-detection-dev-3@corp.example.com"]


def test_errors_name_the_rule_per_field(world, make_request):
    make_request(account_name="taken-name", email="aws+taken@example.com")
    with pytest.raises(DomainError) as error:
        make_request(account_name="taken-name", email="aws+taken@example.com", environment="sandbox",
                     sso_first_name="", monthly_budget_usd=Decimal("-1"))
    fields = error.value.fields
    assert "already used" in fields["account_name"][0]
    assert "already used" in fields["email"][0]
    assert "lease end" in fields["lease_end"][0]
    assert set(fields) >= {"sso_first_name", "monthly_budget_usd"}


def test_email_of_existing_inventory_account_is_refused(world, make_request):
    world.account.email = "aws+existing@example.com"
    world.account.save()
    with pytest.raises(DomainError) as error:
        make_request(email="AWS+existing@example.com")
    assert "already used" in error.value.fields["email"][0]


@pytest.mark.usefixtures("boundary_clock")
def test_sandbox_needs_future_lease_and_others_none(world, make_request):
    item = make_request(environment="sandbox", lease_end=timezone.localdate() + timedelta(days=30))
    assert item.ou_path == "Sandbox"
    with pytest.raises(DomainError) as error:
        make_request(environment="dev", lease_end=timezone.localdate() + timedelta(days=3))
    assert "lease_end" in error.value.fields


def test_only_admins_choose_another_ou(world, make_request):
    with pytest.raises(DomainError) as error:
        make_request(ou_path="Sandbox")
    assert "Only platform admins" in error.value.fields["ou_path"][0]
    item = make_request(actor=world["platform_admin"], ou_path="Sandbox")
    assert item.ou_path == "Sandbox"


def test_who_may_request(world, make_request):
    for persona in ("ds", "other_lead", "auditor"):
        with pytest.raises(PermissionDenied):
            make_request(actor=world[persona])


def test_approve_queues_and_rejection_needs_comment(world, make_request):
    item = make_request()
    with pytest.raises(PermissionDenied):
        services.account_request_approve(actor=world["lead"], request=item)
    with pytest.raises(DomainError) as error:
        services.account_request_reject(actor=world["platform_admin"], request=item, comment=" ")
    assert "comment" in error.value.fields
    item = services.account_request_approve(actor=world["platform_admin"], request=item, comment="ok")
    assert item.state == "queued" and item.queued_at and item.decided_by == world["platform_admin"]
    with pytest.raises(InvalidTransition):
        services.account_request_approve(actor=world["platform_admin"], request=item)
    assert services.queue_position(item) == 1


def test_approver_cannot_approve_own_request(world, make_request):
    item = make_request(actor=world["platform_admin"])
    with pytest.raises(PermissionDenied):
        services.account_request_approve(actor=world["platform_admin"], request=item)


def test_reject_frees_the_name_and_cancel(world, make_request):
    item = make_request(account_name="again")
    services.account_request_reject(actor=world["platform_admin"], request=item, comment="use the shared one")
    again = make_request(account_name="again", email=item.email)
    services.account_request_cancel(actor=world["lead"], request=again)
    assert AccountRequest.objects.get(pk=again.pk).state == "cancelled"
    with pytest.raises(InvalidTransition):
        services.account_request_cancel(actor=world["lead"], request=again)


def test_dispatch_respects_the_limit_and_positions(world, make_request, settings):
    settings.ACCOUNT_MAX_IN_FLIGHT = 2
    items = [services.account_request_approve(actor=world["platform_admin"], request=make_request())
             for _ in range(4)]
    assert len(services.account_queue_dispatch()) == 2
    assert services.account_queue_dispatch() == []
    states = [AccountRequest.objects.get(pk=i.pk).state for i in items]
    assert states == ["creating", "creating", "queued", "queued"]
    assert services.queue_position(AccountRequest.objects.get(pk=items[3].pk)) == 2


def test_backoff_is_capped_with_jitter(settings):
    settings.ACCOUNT_POLL_BASE_SECONDS, settings.ACCOUNT_POLL_MAX_SECONDS = 5, 60
    values = [services.backoff_seconds(n) for n in range(12)]
    assert all(2.5 <= v <= 60 for v in values)
    assert max(values[8:]) <= 60 and min(values[8:]) >= 30


@pytest.mark.usefixtures("boundary_clock")
def test_lease_reminders_and_expiry_notify_once(world, make_request):
    item = make_request(environment="sandbox", lease_end=timezone.localdate() + timedelta(days=20))
    AccountRequest.objects.filter(pk=item.pk).update(state="ready", account_id="123456789012",
                                                     lease_end=timezone.localdate() + timedelta(days=3))
    assert services.account_lease_check() == {"reminded": 1, "expired": 0}
    assert services.account_lease_check() == {"reminded": 0, "expired": 0}
    assert Notification.objects.filter(user=world["lead"], kind="account_request.lease_ending").count() == 1
    AccountRequest.objects.filter(pk=item.pk).update(lease_end=timezone.localdate() - timedelta(days=1))
    assert services.account_lease_check() == {"reminded": 0, "expired": 1}
    assert services.account_lease_check() == {"reminded": 0, "expired": 0}
    assert AccountRequest.objects.get(pk=item.pk).state == "close_pending"      # a closure request, by the system
    assert Notification.objects.filter(user=world["platform_admin"], kind="account_request.close_pending").count() == 1
    assert AuditEvent.objects.filter(action="account_request.lease_expired").count() == 1
