"""The approvals inbox (portal.inbox): one list of every kind, scoped, separation of duties kept,
filters, the navigation badge, undecidable items for platform admins, constant query counts."""
import uuid
from decimal import Decimal
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal import services as portal_services
from portal.permissions import SYSTEM
from tests.provisioning import factories as f

_numbers = count(1)


def account_request(world, actor="lead", budget="500", team=None):
    from provisioning.accounts.services import account_request_create
    n = next(_numbers)
    return account_request_create(actor=world[actor], team=team or world.team, environment="dev",
                                  purpose="Fraud models", account_name=f"inbox-vend-{n}-{uuid.uuid4().hex[:4]}",
                                  email=f"aws+inbox-{n}-{uuid.uuid4().hex[:6]}@example.com", sso_first_name="Lea",
                                  sso_last_name="Lead", sso_email="lead@example.com",
                                  monthly_budget_usd=Decimal(budget))


def model_versions(world, n, *, stage="in_central", team=None):
    from governance.models import ModelGroup, ModelVersion
    team = team or world.team
    account = world.account if team == world.team else world.other_account
    name = f"inbox-{uuid.uuid4().hex[:6]}"
    group = ModelGroup.objects.create(team=team, account=account, name=name,
                                      arn=f"arn:aws:sagemaker:us-east-1:{account.account_id}:model-package-group/{name}")
    return ModelVersion.objects.bulk_create([
        ModelVersion(group=group, team=team, version=i, stage=stage, arn=f"{group.arn}/{i}", registered_by=world["ds"],
                     metrics={"auc": "0.9"}) for i in range(1, n + 1)])


def cards(world, n, *, author="ds", team=None):
    """Cards pending review (rows only: listing reads, it never calls SageMaker)."""
    from governance.cards.models import CardStatus, ModelCard
    return [ModelCard.objects.create(team=team or world.team, name=f"inbox-card-{uuid.uuid4().hex[:10]}",
                                     account_id="222222222203", status=CardStatus.PENDING_REVIEW,
                                     current_version=1, created_by=world[author]) for _ in range(n)]


@pytest.fixture
def decider(world):
    """One person who decides every kind: platform admin and model approver."""
    user = portal_services.user_create(actor=SYSTEM, username="super-approver", email="super@example.com",
                                       password="pw-for-tests-123")
    portal_services.role_grant(actor=SYSTEM, user=user, role="platform_admin")
    portal_services.role_grant(actor=SYSTEM, user=user, role="model_approver")
    return user


def mixed(world, n):
    for _ in range(n):
        f.request(world, "ds")
        account_request(world)
    model_versions(world, n)
    cards(world, n)


def _keys(client, url="/api/v1/approvals/", **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.content[:300]
    return [row["key"] for row in response.json()["results"]]


def test_one_list_of_every_kind_with_context(world, decider, api_client):
    mixed(world, 1)
    api_client.force_authenticate(decider)
    body = api_client.get("/api/v1/approvals/").json()
    assert body["count"] == 4
    assert {row["kind"] for row in body["results"]} == {"provisioning_request", "account_request", "model_version",
                                                        "model_card"}
    by_kind = {row["kind"]: row for row in body["results"]}
    account = by_kind["account_request"]
    assert account["amount"] == "500.00" and account["context"]["ou_path"] and account["risk"] == "medium"
    assert account["url"] == f"/account-requests/{account['id']}/"
    assert by_kind["model_version"]["summary"].startswith("Stage 2") and by_kind["model_version"]["risk"] == "medium"
    assert by_kind["model_card"]["url"] == f"/model-cards/{by_kind['model_card']['id']}/"
    for row in body["results"]:
        assert row["team_slug"] == "fraud-detection" and row["line_of_business"] == "Retail Banking"
        assert row["age_days"] == 0 and row["title"]


def test_each_persona_sees_only_what_they_may_decide(world, api_client):
    mine = f.request(world, "lead")              # the lead's own request: another lead or an admin decides
    theirs = f.request(world, "ds")
    stage1 = model_versions(world, 1, stage="registered")[0]
    stage2 = model_versions(world, 1, stage="in_central")[0]
    stage3 = model_versions(world, 1, stage="in_test")[0]
    card = cards(world, 1)[0]
    own_card = cards(world, 1, author="approver")[0]
    account = account_request(world)
    expect = {
        "lead": {f"provisioning_request:{theirs.pk}", f"model_version:{stage1.pk}"},
        "approver": {f"model_version:{stage2.pk}", f"model_card:{card.pk}"},
        "mle": {f"model_version:{stage3.pk}"},
        "platform_admin": {f"provisioning_request:{mine.pk}", f"provisioning_request:{theirs.pk}",
                           f"account_request:{account.pk}"},
        "other_lead": set(),
    }
    for persona, keys in expect.items():
        api_client.force_authenticate(world[persona])
        assert set(_keys(api_client)) == keys, persona
    assert f"model_card:{own_card.pk}" not in expect["approver"]
    for persona in ("ds", "executive", "auditor", "outsider"):
        api_client.force_authenticate(world[persona])
        assert api_client.get("/api/v1/approvals/").status_code == 403


def test_separation_of_duties_after_a_first_decision(world, decider, api_client, aws_endpoint):
    """The stage-1 approver never sees stage 2; the first approver of an account never sees the second."""
    from governance.services import model_version_approve
    from provisioning.accounts.services import account_request_approve
    portal_services.membership_set(actor=SYSTEM, team=world.team, user=decider, role="lead")
    version = model_versions(world, 1, stage="registered")[0]
    big = account_request(world, budget="20000")
    api_client.force_authenticate(decider)
    assert {f"model_version:{version.pk}", f"account_request:{big.pk}"} <= set(_keys(api_client))
    model_version_approve(actor=decider, version=version)
    account_request_approve(actor=decider, request=big)
    from governance.models import ModelVersion
    ModelVersion.objects.filter(pk=version.pk).update(stage="in_central")   # the copy reached the central registry
    keys = set(_keys(api_client))
    assert f"model_version:{version.pk}" not in keys and f"account_request:{big.pk}" not in keys
    api_client.force_authenticate(world["approver"])
    assert f"model_version:{version.pk}" in _keys(api_client)
    api_client.force_authenticate(world["platform_admin"])
    assert f"account_request:{big.pk}" in _keys(api_client)


def test_filters_and_order(world, decider, api_client):
    from provisioning.models import ProvisioningRequest
    old = f.request(world, "ds")
    ProvisioningRequest.objects.filter(pk=old.pk).update(submitted_at="2020-01-01T00:00:00Z", over_budget=True,
                                                         estimated_monthly_usd=Decimal("900"))
    new = f.request(world, "ds")
    other = account_request(world, actor="other_lead", team=world.other_team, budget="50")
    model_versions(world, 1)
    api_client.force_authenticate(decider)
    keys = _keys(api_client)
    assert keys[0] == f"provisioning_request:{old.pk}" and len(keys) == 4
    assert _keys(api_client, order="newest")[-1] == f"provisioning_request:{old.pk}"
    assert set(_keys(api_client, kind="provisioning_request")) == {f"provisioning_request:{old.pk}",
                                                                   f"provisioning_request:{new.pk}"}
    assert _keys(api_client, team="credit-risk") == [f"account_request:{other.pk}"]
    assert _keys(api_client, line_of_business="Risk") == [f"account_request:{other.pk}"]
    assert _keys(api_client, over_budget="true") == [f"provisioning_request:{old.pk}"]
    assert _keys(api_client, risk="high") == [f"provisioning_request:{old.pk}"]
    assert _keys(api_client, min_age_days=30) == [f"provisioning_request:{old.pk}"]
    assert f"provisioning_request:{old.pk}" not in _keys(api_client, max_age_days=1)
    assert _keys(api_client, min_amount="100") == [f"provisioning_request:{old.pk}"]
    assert f"account_request:{other.pk}" in _keys(api_client, max_amount="60")
    for field, value in (("kind", "nope"), ("min_age_days", "-1"), ("min_amount", "lots"), ("risk", "extreme"),
                         ("over_budget", "maybe"), ("order", "random")):
        response = api_client.get("/api/v1/approvals/", {field: value})
        assert response.status_code == 400 and field in response.json()["error"]["fields"], field


def test_page_lists_rows_links_and_nav_badge(world, decider, client):
    mixed(world, 1)
    client.force_login(decider)
    page = client.get("/approvals/").content.decode()
    assert page.count('data-row="') == 4 and 'data-testid="nav-count">4' in page
    assert "/account-requests/" in page and "/model-cards/" in page and "/models/versions/" in page
    assert client.get("/approvals/?risk=extreme").status_code == 400
    filtered = client.get("/approvals/?kind=model_card").content.decode()
    assert filtered.count('data-row="') == 1


def test_undecidable_items_are_listed_for_platform_admins_with_the_reason(world, api_client, client):
    # the only platform admin asks for a budget needing two approvals by two other admins: nobody can
    item = account_request(world, actor="platform_admin", budget="20000")
    api_client.force_authenticate(world["platform_admin"])
    assert f"account_request:{item.pk}" not in _keys(api_client)
    rows = api_client.get("/api/v1/approvals/undecidable/").json()["results"]
    assert [row["key"] for row in rows] == [f"account_request:{item.pk}"]
    assert rows[0]["reason"].startswith("Nobody can approve this request")
    client.force_login(world["platform_admin"])
    assert "Nobody can decide these" in client.get("/approvals/").content.decode()
    api_client.force_authenticate(world["lead"])
    assert api_client.get("/api/v1/approvals/undecidable/").status_code == 403


@pytest.mark.parametrize("url", ["/approvals/", "/api/v1/approvals/", "/api/v1/approvals/undecidable/"])
def test_query_count_constant_in_rows(world, decider, client, url, django_assert_max_num_queries):
    """One row of each kind, then eight of each: not one query more."""
    mixed(world, 1)
    client.force_login(decider)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    mixed(world, 8)
    with django_assert_max_num_queries(len(one)):
        assert client.get(url).status_code == 200


def test_query_count_bounded_per_kind(world, decider, client):
    """Each kind costs a fixed handful of queries (its queue and its row context), never one per row;
    a user who decides one kind pays for that kind only."""
    mixed(world, 3)
    client.force_login(decider)
    with CaptureQueriesContext(connection) as every:
        client.get("/api/v1/approvals/")
    with CaptureQueriesContext(connection) as one_kind:
        client.get("/api/v1/approvals/", {"kind": "model_card"})
    assert len(every) - len(one_kind) <= 3 * 6, [q["sql"][:120] for q in every.captured_queries]


# -- deciding from the inbox: one row, several rows, all or nothing ---------------------------------
def submitted_card(world, author="ds"):
    from governance.cards import services
    from tests.model_cards.conftest import content, unique_name
    portal_services.account_link(actor=SYSTEM, account_id="222222222203", name="shared-services",
                                 environment="shared", team=None)
    card = services.model_card_create(actor=world[author], team=world.team, name=unique_name(), content=content())
    return services.model_card_transition(actor=world[author], card=card, action="submit")


def test_bulk_approve_a_mixed_inbox_decides_each_through_its_service(world, decider, api_client, aws_endpoint):
    from governance.cards.models import ModelCard
    from governance.models import ModelVersion
    from portal.models import AuditEvent
    from provisioning.accounts.models import AccountRequest
    from provisioning.models import ProvisioningRequest
    request, account = f.request(world, "ds"), account_request(world)
    version, card = model_versions(world, 1)[0], submitted_card(world)
    api_client.force_authenticate(decider)
    keys = _keys(api_client)
    assert len(keys) == 4
    response = api_client.post("/api/v1/approvals/decide/", {"keys": keys, "outcome": "approve", "comment": "ok"},
                               format="json")
    assert response.status_code == 200, response.content
    assert [row["key"] for row in response.json()["decided"]] == keys
    assert ProvisioningRequest.objects.get(pk=request.pk).state == "approved"
    assert AccountRequest.objects.get(pk=account.pk).state == "queued"
    assert ModelVersion.objects.get(pk=version.pk).stage == "central_approved"
    assert ModelCard.objects.get(pk=card.pk).status == "Approved"
    actions = set(AuditEvent.objects.filter(actor=decider).values_list("action", flat=True))
    assert {"provisioning_request.approve", "account_request.approve", "model_version.decision",
            "model_card.approve"} <= actions
    assert _keys(api_client) == []


def test_bulk_is_all_or_nothing_and_keeps_separation_of_duties(world, api_client):
    from provisioning.models import ProvisioningRequest
    own, theirs = f.request(world, "lead"), f.request(world, "ds")
    api_client.force_authenticate(world["lead"])
    for keys in ([f"provisioning_request:{theirs.pk}", f"provisioning_request:{own.pk}"],   # own request
                 [f"provisioning_request:{theirs.pk}", "account_request:999999"]):         # not theirs to decide
        response = api_client.post("/api/v1/approvals/decide/", {"keys": keys, "outcome": "approve"}, format="json")
        assert response.status_code == 403, response.content
        assert ProvisioningRequest.objects.get(pk=theirs.pk).state == "pending_approval"   # nothing decided
    assert ProvisioningRequest.objects.get(pk=own.pk).state == "pending_approval"
    # the other team's lead cannot reach the fraud team's request either
    api_client.force_authenticate(world["other_lead"])
    response = api_client.post("/api/v1/approvals/decide/", {"keys": [f"provisioning_request:{theirs.pk}"],
                                                             "outcome": "approve"}, format="json")
    assert response.status_code == 403


def test_bulk_cannot_give_a_stage_two_or_second_approval_after_the_first(world, decider, api_client):
    from governance.models import ModelVersion
    from governance.services import model_version_approve
    from provisioning.accounts.services import account_request_approve
    portal_services.membership_set(actor=SYSTEM, team=world.team, user=decider, role="lead")
    version = model_versions(world, 1, stage="registered")[0]
    big = account_request(world, budget="20000")
    model_version_approve(actor=decider, version=version)
    account_request_approve(actor=decider, request=big)
    ModelVersion.objects.filter(pk=version.pk).update(stage="in_central")
    api_client.force_authenticate(decider)
    for key in (f"model_version:{version.pk}", f"account_request:{big.pk}"):
        response = api_client.post("/api/v1/approvals/decide/", {"keys": [key], "outcome": "approve"}, format="json")
        assert response.status_code == 403, key
    assert ModelVersion.objects.get(pk=version.pk).stage == "in_central"


def test_bulk_bad_input_names_the_field(world, api_client):
    theirs = f.request(world, "ds")
    api_client.force_authenticate(world["lead"])
    key = f"provisioning_request:{theirs.pk}"
    for body, field in (({"keys": [key], "outcome": "deny"}, "comment"),
                        ({"keys": [key], "outcome": "maybe"}, "outcome"),
                        ({"keys": ["nonsense"], "outcome": "approve"}, "keys"),
                        ({"keys": [], "outcome": "approve"}, "keys")):
        response = api_client.post("/api/v1/approvals/decide/", body, format="json")
        assert response.status_code == 400 and field in response.json()["error"]["fields"], body
    response = api_client.post("/api/v1/approvals/decide/", {"keys": [key], "outcome": "deny", "comment": "too big"},
                               format="json")
    assert response.status_code == 200
    theirs.refresh_from_db()
    assert theirs.state == "rejected" and theirs.decision_comment == "too big"


def test_page_approves_one_row_and_bulk_denies_the_rest(world, client):
    from provisioning.models import ProvisioningRequest
    one, two, three = (f.request(world, "ds") for _ in range(3))
    client.force_login(world["lead"])
    response = client.post("/approvals/decide/", {"approve_one": f"provisioning_request:{one.pk}"})
    assert response.status_code == 302 and response["Location"] == f"/requests/{one.pk}/"
    keys = [f"provisioning_request:{two.pk}", f"provisioning_request:{three.pk}"]
    refused = client.post("/approvals/decide/", {"keys": keys, "outcome": "deny"}, follow=True)
    assert "A comment is required to deny." in refused.content.decode() or "Say why you deny" in refused.content.decode()
    client.post("/approvals/decide/", {"keys": keys, "outcome": "deny", "comment": "duplicate"})
    states = dict(ProvisioningRequest.objects.filter(pk__in=[one.pk, two.pk, three.pk]).values_list("pk", "state"))
    assert states == {one.pk: "approved", two.pk: "rejected", three.pk: "rejected"}


# -- delegation (the core's, for every kind) ---------------------------------------------------------
def _delegate(delegator, delegate, **kwargs):
    from datetime import timedelta

    from django.utils import timezone
    return portal_services.delegation_create(actor=delegator, delegate=delegate,
                                             ends_at=timezone.now() + timedelta(days=3), **kwargs)


def test_a_delegate_decides_every_kind_for_the_delegator_by_x_for_y(world, api_client, aws_endpoint):
    from governance.cards.models import ModelCard
    from portal.models import AuditEvent
    from provisioning.accounts.models import AccountApproval, AccountRequestStep
    from provisioning.models import RequestStep
    # the platform admin (provisioning, accounts) and the model approver (cards) are away
    away = world["platform_admin"]
    portal_services.role_grant(actor=SYSTEM, user=away, role="model_approver")
    stand_in = world["executive"]                 # decides nothing in their own right
    request, account, card = f.request(world, "ds"), account_request(world), submitted_card(world)
    api_client.force_authenticate(stand_in)
    assert api_client.get("/api/v1/approvals/").status_code == 403
    _delegate(away, stand_in, reason="holiday")
    body = api_client.get("/api/v1/approvals/").json()
    rows = {row["key"]: row for row in body["results"]}
    keys = {f"provisioning_request:{request.pk}", f"account_request:{account.pk}", f"model_card:{card.pk}"}
    assert set(rows) == keys and {row["on_behalf_of"] for row in rows.values()} == {"platform-admin"}
    response = api_client.post("/api/v1/approvals/decide/", {"keys": sorted(keys), "outcome": "approve"},
                               format="json")
    assert response.status_code == 200, response.content
    step = RequestStep.objects.filter(request=request, action="approve").get()
    assert "by executive: for platform-admin" in step.detail
    event = AuditEvent.objects.filter(action="provisioning_request.approve", target_id=str(request.pk)).get()
    assert event.actor == stand_in and "for platform-admin" in event.after["detail"]
    approval = AccountApproval.objects.get(request=account)
    assert approval.decided_by == stand_in and approval.on_behalf_of == away
    assert AccountRequestStep.objects.filter(request=account, detail__contains="by executive for platform-admin").exists()
    assert AuditEvent.objects.get(action="account_request.approve", target_id=str(account.pk)).after["by"] == \
        "executive for platform-admin"
    assert ModelCard.objects.get(pk=card.pk).status == "Approved"
    assert AuditEvent.objects.get(action="model_card.approve", target_id=str(card.pk)).after["by"] == \
        "executive for platform-admin"


def test_delegation_never_side_steps_separation_of_duties(world, api_client):
    from django.core.exceptions import PermissionDenied

    from provisioning import services
    from provisioning.accounts.services import account_request_approve
    from provisioning.models import ProvisioningRequest
    lead, ds = world["lead"], world["ds"]
    theirs = f.request(world, "ds")              # the delegate's own request
    leads = f.request(world, "lead")             # the delegator's own request
    _delegate(lead, ds)
    api_client.force_authenticate(ds)
    assert _keys(api_client) == []               # neither shows up
    for item in (theirs, leads):
        response = api_client.post("/api/v1/approvals/decide/", {"keys": [f"provisioning_request:{item.pk}"],
                                                                 "outcome": "approve"}, format="json")
        assert response.status_code == 403
        with pytest.raises(PermissionDenied):    # and the service refuses it when called directly
            services.request_approve(actor=ds, request=item, on_behalf_of=lead)
    assert set(ProvisioningRequest.objects.filter(pk__in=[theirs.pk, leads.pk]).values_list("state", flat=True)) == \
        {"pending_approval"}
    # nobody can claim a delegation that was not given
    other = f.request(world, "mle")
    with pytest.raises(PermissionDenied, match="has not delegated"):
        services.request_approve(actor=world["outsider"], request=other, on_behalf_of=lead)
    # an admin who gave the first approval cannot give the second through a delegate, nor vice versa
    second_admin = portal_services.user_create(actor=SYSTEM, username="admin-2", email="a2@example.com",
                                               password="pw-for-tests-123")
    portal_services.role_grant(actor=SYSTEM, user=second_admin, role="platform_admin")
    big = account_request(world, budget="20000")
    account_request_approve(actor=world["platform_admin"], request=big)
    _delegate(world["platform_admin"], second_admin)
    _delegate(world["platform_admin"], world["executive"])
    api_client.force_authenticate(world["executive"])
    assert f"account_request:{big.pk}" not in _keys(api_client)   # the first approver's delegate: not for them
    from portal.errors import Conflict
    for stand_in in (second_admin, world["executive"]):
        with pytest.raises(Conflict):
            account_request_approve(actor=stand_in, request=big, on_behalf_of=world["platform_admin"])
    api_client.force_authenticate(second_admin)                  # in their own right, the second admin may
    assert f"account_request:{big.pk}" in _keys(api_client)


def test_delegation_takes_effect_in_its_date_range_and_ends_when_revoked(world, api_client):
    from datetime import timedelta

    from django.utils import timezone
    request = f.request(world, "ds")
    api_client.force_authenticate(world["lead"])
    response = api_client.post("/api/v1/approval-delegations/", {
        "delegate": "mle", "starts_at": (timezone.now() + timedelta(days=1)).isoformat(),
        "ends_at": (timezone.now() + timedelta(days=4)).isoformat()}, format="json")
    assert response.status_code == 201, response.content
    api_client.force_authenticate(world["mle"])
    assert f"provisioning_request:{request.pk}" not in _keys(api_client)   # not started yet
    started = _delegate(world["lead"], world["mle"])
    assert f"provisioning_request:{request.pk}" in _keys(api_client)
    portal_services.delegation_revoke(actor=world["lead"], delegation=started)
    assert f"provisioning_request:{request.pk}" not in _keys(api_client)
    api_client.force_authenticate(world["lead"])
    bad = api_client.post("/api/v1/approval-delegations/", {
        "delegate": "mle", "starts_at": (timezone.now() + timedelta(days=5)).isoformat(),
        "ends_at": (timezone.now() + timedelta(days=4)).isoformat()}, format="json")
    assert bad.status_code == 400 and "ends_at" in bad.json()["error"]["fields"]


# -- reminders and escalation ------------------------------------------------------------------------
def test_reminders_then_escalation_once_per_item_and_level(world, settings):
    from datetime import timedelta

    from django.utils import timezone

    from governance.cards.models import ModelCard
    from portal.inbox import approval_nudges_send
    from portal.models import AuditEvent, Notification
    from portal.tasks import approval_nudges
    from provisioning.accounts.models import AccountRequest
    from provisioning.models import ProvisioningRequest
    settings.APPROVAL_REMINDER_HOURS, settings.APPROVAL_ESCALATION_LOB_HOURS = 48, 96
    settings.APPROVAL_ESCALATION_ADMIN_HOURS = 168
    lob_lead = portal_services.user_create(actor=SYSTEM, username="retail-exec", email="rx@example.com",
                                           password="pw-for-tests-123")
    portal_services.role_grant(actor=SYSTEM, user=lob_lead, role="executive", line_of_business="Retail Banking")
    now = timezone.now()
    request, account, card, fresh = f.request(world, "ds"), account_request(world), cards(world, 1)[0], \
        f.request(world, "ds")
    ProvisioningRequest.objects.filter(pk=request.pk).update(submitted_at=now - timedelta(hours=50))
    AccountRequest.objects.filter(pk=account.pk).update(state_changed_at=now - timedelta(hours=100))
    ModelCard.objects.filter(pk=card.pk).update(updated_at=now - timedelta(hours=200))
    Notification.objects.all().delete()

    assert approval_nudges_send(now=now) == {"reminded": 3, "escalated": 3}
    reminded = set(Notification.objects.filter(kind="approval.reminder").values_list("user__username", "url"))
    assert ("lead", f"/requests/{request.pk}/") in reminded and ("platform-admin", f"/requests/{request.pk}/") in reminded
    assert ("approver", f"/model-cards/{card.pk}/") in reminded and not any(url == f"/requests/{fresh.pk}/"
                                                                           for _user, url in reminded)
    escalated = set(Notification.objects.filter(kind="approval.escalated").values_list("user__username", "url"))
    assert escalated == {("retail-exec", f"/account-requests/{account.pk}/"), ("retail-exec", f"/model-cards/{card.pk}/"),
                         ("platform-admin", f"/model-cards/{card.pk}/")}
    assert AuditEvent.objects.filter(action="approval.escalate").count() == 3
    # Idempotent: again (the beat task), nothing new; a new wait starts over.
    assert approval_nudges() == {"reminded": 0, "escalated": 0}
    ProvisioningRequest.objects.filter(pk=request.pk).update(submitted_at=now - timedelta(hours=49))
    assert approval_nudges_send(now=now) == {"reminded": 1, "escalated": 0}


def test_escalation_without_a_line_of_business_lead_goes_to_platform_admins(world, settings):
    from datetime import timedelta

    from django.utils import timezone

    from portal.inbox import approval_nudges_send
    from portal.models import Notification
    from provisioning.models import ProvisioningRequest
    request = f.request(world, "ds")
    ProvisioningRequest.objects.filter(pk=request.pk).update(submitted_at=timezone.now() - timedelta(hours=100))
    Notification.objects.all().delete()
    assert approval_nudges_send() == {"reminded": 1, "escalated": 1}
    assert set(Notification.objects.filter(kind="approval.escalated").values_list("user__username", flat=True)) == \
        {"platform-admin"}
