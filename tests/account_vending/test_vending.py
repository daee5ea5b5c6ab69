"""The Organizations vending path against the sandbox, proven by its ledger."""
import pytest
from django.core.exceptions import PermissionDenied

from portal.errors import DomainError

from portal.models import AwsAccount, Notification
from provisioning.accounts import services
from provisioning.accounts.models import IN_FLIGHT, AccountRequest
from provisioning.accounts.tasks import request_step

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(aws_endpoint):
    from provisioning.accounts import aws
    engine = aws_endpoint.engine
    before, start = engine.config.max_accounts, len(aws.list_accounts())
    engine.config.update({"max_accounts": 1000})
    engine.faults.clear()
    yield engine
    engine.faults.clear()
    # The session's sandbox keeps the accounts made here: leave later tests the headroom they had.
    engine.config.update({"max_accounts": before + max(0, len(aws.list_accounts()) - start)})


def _approved(world, make_request, **kwargs):
    item = make_request(**kwargs)
    return services.account_request_approve(actor=world["platform_admin"], request=item)


def _creates(engine, email):
    return [e for e in engine.ledger if e["service"] == "organizations" and e["operation"] == "CreateAccount"
            and e["key"] == email]


def _org_accounts(email):
    from provisioning.accounts import aws
    return [a for a in aws.list_accounts() if a["email"] == email]


def test_happy_path_creates_places_tags_and_links(world, make_request, org, run_until_settled):
    item = _approved(world, make_request, environment="prod")
    run_until_settled()
    item.refresh_from_db()
    assert item.state == "ready", item.error_message
    assert [s.action for s in item.steps.all()][:4] == ["submit", "require_approval", "approve", "enqueue"]
    actions = [s.action for s in item.steps.all()]
    assert {"start", "CreateAccount", "created", "moved", "TagResource", "finish"} <= set(actions)
    account = AwsAccount.objects.get(account_id=item.account_id)
    assert (account.team, account.environment, account.ou_path) == (world.team, "prod", "Deployments/Prod")
    from provisioning.accounts import aws
    assert aws.parent_of(item.account_id) == aws.ou_id_for_path("Deployments/Prod")
    from portal.aws import client
    tags = {t["Key"]: t["Value"] for t in client("organizations").list_tags_for_resource(
        ResourceId=item.account_id)["Tags"]}
    assert tags == {"team": "fraud-detection", "environment": "prod", "cost-center": "CC-1001"}
    assert Notification.objects.filter(user=world["lead"], kind="account_request.ready").exists()
    assert len(_creates(org, item.email)) == 1


def test_lost_create_response_leads_to_exactly_one_account(world, make_request, org, run_until_settled):
    item = _approved(world, make_request)
    # Every attempt botocore makes runs in AWS but its answer is lost.
    org.faults.add({"kind": "drop_response", "service": "organizations", "operation": "CreateAccount", "count": 10})
    services.account_queue_dispatch()
    request_step(item.pk)
    org.faults.clear()
    item.refresh_from_db()
    assert item.state == "creating" and not item.create_request_id
    assert item.steps.filter(outcome="retry").exists()
    run_until_settled()
    item.refresh_from_db()
    assert item.state == "ready", item.error_message
    assert len(_org_accounts(item.email)) == 1
    assert item.account_id == _org_accounts(item.email)[0]["id"]
    assert sum(1 for e in _creates(org, item.email) if e["effect"]) >= 1


def test_single_lost_response_retried_by_botocore_adopts_the_own_account(world, make_request, org,
                                                                        run_until_settled):
    item = _approved(world, make_request)
    org.faults.add({"kind": "drop_response", "service": "organizations", "operation": "CreateAccount", "count": 1})
    run_until_settled()
    item.refresh_from_db()
    assert item.state == "ready", item.error_message
    assert len(_creates(org, item.email)) == 2          # botocore's retry hit EMAIL_ALREADY_EXISTS
    assert len(_org_accounts(item.email)) == 1
    assert item.steps.filter(detail__contains="EMAIL_ALREADY_EXISTS").exists()


def test_redelivered_steps_create_nothing_twice(world, make_request, org):
    item = _approved(world, make_request)
    services.account_queue_dispatch()
    for _ in range(3):                                   # the same message delivered three times
        request_step(item.pk)
    for _ in range(3):
        request_step(item.pk)
    item.refresh_from_db()
    assert item.state == "ready"
    assert len(_creates(org, item.email)) == 1
    moves = [e for e in org.ledger if e["operation"] == "MoveAccount" and e["key"].startswith(item.account_id)]
    assert len(moves) == 1
    # Redelivery after a crash that lost the stored request id: the earlier attempt is found, not repeated.
    AccountRequest.objects.filter(pk=item.pk).update(state="creating", create_request_id="", account_id="")
    request_step(item.pk)
    item.refresh_from_db()
    assert item.state == "ready" and len(_creates(org, item.email)) == 1
    assert AwsAccount.objects.filter(email=item.email).count() == 1


def test_twenty_at_once_never_more_than_five_in_flight(world, make_request, org, run_until_settled, settings):
    settings.ACCOUNT_MAX_IN_FLIGHT = 5
    items = [_approved(world, make_request) for _ in range(20)]
    peak = []
    run_until_settled(max_rounds=100,
                      observe=lambda: peak.append(AccountRequest.objects.filter(state__in=IN_FLIGHT).count()))
    assert max(peak) == 5
    assert set(AccountRequest.objects.filter(pk__in=[i.pk for i in items]).values_list("state", flat=True)) == {"ready"}
    assert all(len(_creates(org, i.email)) == 1 for i in items)


def test_other_failure_reason_is_explained(world, make_request, org, run_until_settled):
    item = _approved(world, make_request)
    org.faults.add({"kind": "record_failure", "service": "organizations", "subject": item.email,
                    "code": "MISSING_PAYMENT_INSTRUMENT"})
    run_until_settled()
    item.refresh_from_db()
    assert item.state == "failed" and item.failure_reason == "MISSING_PAYMENT_INSTRUMENT"
    assert "payment method" in item.error_message and "retry" in item.error_message
    assert Notification.objects.filter(user=world["lead"], kind="account_request.failed").exists()


def test_email_taken_by_someone_else_fails_in_plain_words(world, make_request, org, run_until_settled):
    item = _approved(world, make_request, email="aws+fraud-detection-dev@mlplatform.example.com")
    run_until_settled()
    item.refresh_from_db()
    assert item.state == "failed" and item.failure_reason == "EMAIL_ALREADY_EXISTS"
    assert "another e-mail" in item.error_message
    # A retry looks again, and still does not adopt someone else's account.
    services.account_request_retry(actor=world["platform_admin"], request=item)
    run_until_settled()
    item.refresh_from_db()
    assert item.state == "failed" and not item.account_id


def test_ou_tree_and_import(world, org, client):

    client.force_login(world["platform_admin"])
    page = client.get("/organization/")
    assert page.status_code == 200 and b"Deployments/Prod" in page.content and b"333333333311" in page.content
    response = client.get("/organization/import/")
    assert b"333333333312" in response.content
    response = client.post("/organization/import/", {"account_id": "333333333312", "team": world.team.slug,
                                                     "environment": "test"})
    assert response.status_code == 302
    account = AwsAccount.objects.get(account_id="333333333312")
    assert (account.team, account.environment, account.ou_path) == (world.team, "test", "Deployments/NonProd")
    response = client.post("/organization/import/", {"account_id": "333333333312", "team": world.team.slug,
                                                     "environment": "test"})
    assert response.status_code == 200 and b"already in the inventory" in response.content


def test_control_tower_path_reads_the_account_from_the_record(world, make_request, org, run_until_settled,
                                                              settings):
    settings.ACCOUNT_VENDING_PATH = "control_tower"
    item = _approved(world, make_request, environment="test")
    assert item.vending_path == "control_tower"
    run_until_settled()
    item.refresh_from_db()
    assert item.state == "ready", item.error_message
    assert item.record_id and item.account_id
    from provisioning.accounts import aws
    assert aws.parent_of(item.account_id) == aws.ou_id_for_path("Deployments/NonProd")
    assert AwsAccount.objects.get(account_id=item.account_id).team == world.team
    provisions = [e for e in org.ledger if e["operation"] == "ProvisionProduct" and e["key"] == item.provision_token]
    assert len(provisions) == 1
    request_step(item.pk)                                      # a late redelivery does nothing
    assert len(_org_accounts(item.email)) == 1


def test_close_request_approved_closes_the_account(world, make_request, org, run_until_settled, api_client):
    from portal.errors import InvalidTransition
    item = _approved(world, make_request)
    run_until_settled()
    item.refresh_from_db()
    api_client.force_authenticate(world["ds"])
    assert api_client.post(f"/api/v1/account-requests/{item.pk}/close/", {"reason": "done"},
                           format="json").status_code == 403
    api_client.force_authenticate(world["lead"])
    response = api_client.post(f"/api/v1/account-requests/{item.pk}/close/", {"reason": "project ended"},
                               format="json")
    assert response.status_code == 200 and response.data["state"] == "close_pending"
    api_client.force_authenticate(world["platform_admin"])
    response = api_client.post(f"/api/v1/account-requests/{item.pk}/approve/", {}, format="json")
    assert response.status_code == 200 and response.data["state"] == "closing"
    assert services.account_close_execute(request_id=item.pk) == "closed"
    assert services.account_close_execute(request_id=item.pk) == "nothing to do"     # redelivery
    item.refresh_from_db()
    assert item.state == "closed"
    assert AwsAccount.objects.get(account_id=item.account_id).status == "CLOSED"
    assert [a["state"] for a in _org_accounts(item.email)] in (["PENDING_CLOSURE"], ["CLOSED"], ["SUSPENDED"])
    closes = [e for e in org.ledger if e["operation"] == "CloseAccount" and item.account_id in str(e.get("key"))]
    assert len(closes) <= 1
    with pytest.raises(InvalidTransition):
        services.account_close_request(actor=world["lead"], request=item, reason="again")


def test_close_rejected_keeps_the_account_ready(world, make_request, org, run_until_settled):
    item = _approved(world, make_request)
    run_until_settled()
    item.refresh_from_db()
    services.account_close_request(actor=world["lead"], request=item, reason="cost")
    item = services.account_request_reject(actor=world["platform_admin"], request=item, comment="still used")
    assert item.state == "ready"


def test_admin_moves_an_account_to_another_ou(world, make_request, org, run_until_settled, client):
    from provisioning.accounts import aws
    item = _approved(world, make_request, environment="dev")
    run_until_settled()
    item.refresh_from_db()
    client.force_login(world["platform_admin"])
    response = client.post("/organization/move/", {"account_id": item.account_id, "ou_path": "Sandbox"})
    assert response.status_code == 302
    assert aws.parent_of(item.account_id) == aws.ou_id_for_path("Sandbox")
    assert AwsAccount.objects.get(account_id=item.account_id).ou_path == "Sandbox"
    with pytest.raises(DomainError) as error:
        services.account_move(actor=world["platform_admin"], account_id=item.account_id, ou_path="Nowhere/At/All")
    assert "ou_path" in error.value.fields
    with pytest.raises(PermissionDenied):
        services.account_move(actor=world["lead"], account_id=item.account_id, ou_path="Sandbox")
