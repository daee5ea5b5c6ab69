"""The API twins (actions, 409s, the queue with context) and the query-count baselines of the
queue and the version search: the count must not grow with the rows."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance.models import ModelGroup, ModelVersion, Stage
from tests.governance.test_routes import _version

pytestmark = pytest.mark.django_db


def _many(w, count, *, start=1, stage=Stage.REGISTERED, team=None, prefix="bulk"):
    team = team or w.team
    account = w.account if team == w.team else w.other_account
    group, _ = ModelGroup.objects.get_or_create(
        arn=f"arn:aws:sagemaker:us-east-1:{account.account_id}:model-package-group/{prefix}",
        defaults={"name": prefix, "account": account, "team": team})
    ModelVersion.objects.bulk_create([
        ModelVersion(group=group, team=team, version=n, stage=stage, arn=f"{group.arn}/v/{n}", registered_by=w["ds"],
                     metrics={"auc": f"0.{n % 90 + 10}"}, description=f"note {n}")
        for n in range(start, start + count)])
    return group


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(queries), response


@pytest.mark.parametrize("url", ["/approvals/models/", "/models/", "/models/?stage=registered&team=fraud-detection",
                                 "/api/v1/model-approvals/", "/api/v1/model-versions/?approval_status=PendingManualApproval",
                                 "/api/v1/model-versions/?q=bulk&deployed="])
def test_query_count_does_not_grow_with_rows(world, client, url):
    client.force_login(world["lead"])
    group = _many(world, 3)
    ModelVersion.objects.create(group=group, team=world.team, version=999, stage=Stage.IN_PROD, arn=f"{group.arn}/p",
                                metrics={"auc": "0.5"})
    few, _ = _count(client, url)
    _many(world, 20, start=100)
    more, response = _count(client, url)
    assert more == few, f"{url}: {few} queries with 4 rows, {more} with 24"
    assert few <= 17   # 16 + the navigation's approvals badge (issue 13): active delegations, then one UNION count


def test_queue_api_gives_context_and_hides_own_versions(world, api_client):
    group = _many(world, 2)
    ModelVersion.objects.create(group=group, team=world.team, version=50, stage=Stage.IN_PROD, arn=f"{group.arn}/p",
                                metrics={"auc": "0.50"})
    ModelVersion.objects.filter(group=group, version=2).update(registered_by=world["lead"])
    api_client.force_authenticate(world["lead"])
    body = api_client.get("/api/v1/model-approvals/").json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["stage"] == 1 and row["version"]["version"] == 1 and row["note"] == "note 1"
    assert row["card_status"] == "not required" and row["prod_version"].endswith("/p")
    assert row["metrics"] == [{"name": "auc", "value": "0.11", "prod_value": "0.50", "delta": "-0.39"}]
    api_client.force_authenticate(world["approver"])
    assert api_client.get("/api/v1/model-approvals/").json()["count"] == 0   # nothing at stage 2
    api_client.force_authenticate(world["other_lead"])
    assert api_client.get("/api/v1/model-approvals/").json()["count"] == 0   # another team's


def test_actions_answer_409_on_illegal_transitions_and_400_without_comment(world, api_client):
    version = _version(world, "registered")
    api_client.force_authenticate(world["lead"])
    response = api_client.post(f"/api/v1/model-versions/{version.pk}/reject/", {"comment": ""}, format="json")
    assert response.status_code == 400 and "comment" in response.json()["error"]["fields"]
    response = api_client.post(f"/api/v1/model-versions/{version.pk}/reject/", {"comment": "f1 too low"},
                               format="json")
    assert response.status_code == 200 and response.json()["stage"] == "dev_rejected"
    assert response.json()["decisions"][0]["comment"] == "f1 too low"
    again = api_client.post(f"/api/v1/model-versions/{version.pk}/approve/", {}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
    api_client.force_authenticate(world["mle"])
    signoff = api_client.post(f"/api/v1/model-versions/{version.pk}/sign-off/", {}, format="json")
    assert signoff.status_code == 409
    rollback = api_client.post(f"/api/v1/model-versions/{version.pk}/rollback/", {}, format="json")
    assert rollback.status_code == 409


def test_registrant_cannot_approve_through_the_api_or_the_page(world, api_client, client):
    version = _version(world, "registered")
    ModelVersion.objects.filter(pk=version.pk).update(registered_by=world["lead"])
    api_client.force_authenticate(world["lead"])
    response = api_client.post(f"/api/v1/model-versions/{version.pk}/approve/", {}, format="json")
    assert response.status_code == 403 and "registered" in response.json()["error"]["message"]
    client.force_login(world["lead"])
    page = client.get(f"/models/versions/{version.pk}/")
    assert b"You registered this version" in page.content
    response = client.post(f"/models/versions/{version.pk}/decide/", {"outcome": "approve"})
    assert response.status_code == 403
    version.refresh_from_db()
    assert version.stage == Stage.REGISTERED and not version.decisions.exists()


def test_page_reject_without_comment_keeps_the_form_and_says_why(world, client):
    version = _version(world, "registered")
    client.force_login(world["lead"])
    response = client.post(f"/models/versions/{version.pk}/decide/", {"outcome": "reject", "comment": ""})
    assert response.status_code == 400 and b"Say why you reject" in response.content
    response = client.get("/models/?stage=nonsense")
    assert response.status_code == 200 and b"Select a valid choice" in response.content


def test_dashboard_filters(world, api_client):
    _many(world, 2, prefix="alpha")
    _many(world, 3, prefix="beta", stage=Stage.IN_PROD)
    _many(world, 1, prefix="gamma", team=world.other_team)
    api_client.force_authenticate(world["approver"])
    count = lambda query: api_client.get(f"/api/v1/model-versions/?{query}").json()["count"]  # noqa: E731
    assert count("") == 6
    assert count("team=credit-risk") == 1
    assert count("stage=in_prod") == 3 and count("deployed=prod") == 3
    assert count("q=al") == 2
    api_client.force_authenticate(world["lead"])
    assert count("") == 5   # the lead sees the team's models only


@pytest.mark.usefixtures("boundary_clock")
def test_reminders_then_escalation_once_per_wait(world):
    from datetime import timedelta

    from django.utils import timezone

    from governance import services
    from portal.models import AuditEvent, Notification
    version = _version(world, "registered")
    now = timezone.now()
    ModelVersion.objects.filter(pk=version.pk).update(stage_changed_at=now - timedelta(days=4))
    assert services.approval_reminders_send(now=now) == {"reminded": 1, "escalated": 0}
    assert Notification.objects.filter(kind="approval.reminder", user=world["lead"]).count() == 1
    assert services.approval_reminders_send(now=now + timedelta(hours=1)) == {"reminded": 0, "escalated": 0}
    later = now + timedelta(days=4)   # waited 8 days: reminded again and escalated to the approvers
    assert services.approval_reminders_send(now=later) == {"reminded": 1, "escalated": 1}
    assert Notification.objects.filter(kind="approval.escalated", user=world["approver"]).count() == 1
    assert services.approval_reminders_send(now=later + timedelta(hours=2)) == {"reminded": 0, "escalated": 0}
    assert AuditEvent.objects.filter(action="model_version.escalate").count() == 1
    ModelVersion.objects.filter(pk=version.pk).update(stage="dev_rejected")
    assert services.approval_reminders_send(now=later + timedelta(days=9)) == {"reminded": 0, "escalated": 0}


def test_dashboard_shows_where_each_version_is_deployed_without_extra_queries(world, client):
    from governance.models import Deployment
    group = _many(world, 3, stage=Stage.IN_PROD)
    for version in group.versions.all():
        Deployment.objects.create(version=version, environment="prod", status="succeeded",
                                  endpoint_name=f"ep-{version.version}", account_id="333333333313")
        Deployment.objects.create(version=version, environment="test", status="failed")
    client.force_login(world["mle"])
    few, response = _count(client, "/models/?deployed=prod")
    assert b"ep-1" in response.content and b"ep-3" in response.content
    for version in _many(world, 10, start=50, stage=Stage.IN_PROD, prefix="bulk").versions.filter(version__gte=50):
        Deployment.objects.create(version=version, environment="prod", status="succeeded", endpoint_name="x")
    more, _ = _count(client, "/models/?deployed=prod")
    assert more == few


def test_delegation_lets_a_named_colleague_decide_while_away(world, api_client, monkeypatch):
    from datetime import timedelta

    from django.core.exceptions import PermissionDenied
    from django.utils import timezone

    from governance import services
    from governance.selectors import approval_queue_for_user
    monkeypatch.setattr(services, "_dispatch", lambda *args: None)
    theirs = _version(world, "registered")                       # registered by ds
    other = _version(world, "registered")
    ModelVersion.objects.filter(pk=other.pk).update(registered_by=world["executive"])
    leads = _version(world, "registered")
    ModelVersion.objects.filter(pk=leads.pk).update(registered_by=world["lead"])
    assert not approval_queue_for_user(world["mle"]).filter(stage=Stage.REGISTERED).exists()
    api_client.force_authenticate(world["lead"])
    response = api_client.post("/api/v1/approval-delegations/", {
        "delegate": "mle", "ends_at": (timezone.now() + timedelta(days=5)).isoformat(), "reason": "holiday"},
        format="json")
    assert response.status_code == 201, response.content
    queue = set(approval_queue_for_user(world["mle"]).values_list("pk", flat=True))
    assert other.pk in queue and theirs.pk in queue and leads.pk not in queue
    other.refresh_from_db()
    decision = services.model_version_approve(actor=world["mle"], version=other, comment="for the lead")
    assert decision.actor == world["mle"] and decision.on_behalf_of == world["lead"]
    assert decision.actor_label == "mle (for lead)"
    with pytest.raises(PermissionDenied, match="lead registered"):
        services.model_version_approve(actor=world["mle"], version=ModelVersion.objects.get(pk=leads.pk))
    # Ended: the colleague decides nothing more.
    assert api_client.delete(f"/api/v1/approval-delegations/{response.json()['id']}/").status_code == 204
    with pytest.raises(PermissionDenied):
        services.model_version_approve(actor=world["mle"], version=ModelVersion.objects.get(pk=theirs.pk))
    bad = api_client.post("/api/v1/approval-delegations/", {
        "delegate": "lead", "ends_at": (timezone.now() + timedelta(days=5)).isoformat()}, format="json")
    assert bad.status_code == 400 and "yourself" in str(bad.json())
    api_client.force_authenticate(world["ds"])   # a data scientist decides nothing: nothing to delegate
    assert api_client.post("/api/v1/approval-delegations/", {
        "delegate": "mle", "ends_at": (timezone.now() + timedelta(days=5)).isoformat()}, format="json").status_code == 403


def test_delegation_form_on_the_queue_page(world, client):
    client.force_login(world["lead"])
    response = client.post("/approvals/models/delegations/", {"delegate": "nobody", "ends_on": "2020-01-01"})
    assert response.status_code == 400 and b"No active user is called" in response.content
    assert b'value="nobody"' in response.content
    from datetime import date, timedelta
    response = client.post("/approvals/models/delegations/", {
        "delegate": "mle", "ends_on": (date.today() + timedelta(days=3)).isoformat(), "reason": "conference"})
    assert response.status_code == 302
    page = client.get("/approvals/models/")
    assert b"conference" in page.content and b"End now" in page.content


def test_card_filter_and_the_stage2_card_gate_read_approved_cards(world, api_client, settings):
    from governance import selectors
    from governance.cards.models import CardStatus, ModelCard

    group = _many(world, 3, prefix="carded")
    first, second, third = ModelVersion.objects.filter(group=group).order_by("version")
    central = ModelVersion.objects.create(group=group, team=world.team, version=99, stage=Stage.IN_CENTRAL,
                                          arn=f"{group.arn}/v/99", promoted_from=second)
    ModelCard.objects.create(team=world.team, model_version=first, name="card-first", account_id="222222222203",
                             status=CardStatus.APPROVED)
    ModelCard.objects.create(team=world.team, model_version=second, name="card-second", account_id="222222222203",
                             status=CardStatus.APPROVED)
    ModelCard.objects.create(team=world.team, model_version=third, name="card-third", account_id="222222222203",
                             status=CardStatus.DRAFT)
    api_client.force_authenticate(world["approver"])
    listed = api_client.get("/api/v1/model-versions/?card=approved&registry=all").json()
    assert {row["version"] for row in listed["results"]} == {1, 2, 99}     # the central copy inherits its card
    assert api_client.get("/api/v1/model-versions/?card=none&q=carded").json()["count"] == 1
    assert selectors.model_card_approved(central) and not selectors.model_card_approved(third)
    settings.GOVERNANCE_CARD_REQUIRED_LINES_OF_BUSINESS = "*"
    rows = {row["version"].version: row["card_status"] for row in selectors.with_context([first, third, central])}
    assert rows == {1: "approved", 3: "missing", 99: "approved"}
