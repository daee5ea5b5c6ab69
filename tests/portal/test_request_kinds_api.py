"""Every request kind speaks the same API (issue 13, item 4): ``deny`` needs a ``reason`` (400
naming it), an illegal transition answers 409 ``invalid_transition``, step logs have one shape,
and transitions reach webhooks as ``<kind>.<transition>``."""
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from portal import webhooks
from portal.models import WebhookDelivery
from tests.provisioning import factories as f

pytestmark = pytest.mark.django_db
STEP_KEYS = {"action", "outcome", "detail", "started_at", "finished_at"}


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _account_request(world):
    from provisioning.accounts.services import account_request_create
    return account_request_create(actor=world["lead"], team=world.team, environment="dev", purpose="Fraud models",
                                  account_name="fraud-uniform", email="aws+fraud-uniform@example.com",
                                  sso_first_name="Lea", sso_last_name="Lead", sso_email="lead@example.com",
                                  monthly_budget_usd=Decimal("500"))


@pytest.mark.parametrize("kind", ["provisioning-requests", "account-requests"])
def test_deny_needs_a_reason_then_denies_and_a_second_deny_is_409(world, kind):
    if kind == "provisioning-requests":
        item, decider = f.request(world), world["lead"]
    else:
        item, decider = _account_request(world), world["platform_admin"]
    api = _api(decider)
    url = f"/api/v1/{kind}/{item.pk}/deny/"
    for body in ({}, {"reason": "   "}, {"comment": "the old field is not the reason"}):
        response = api.post(url, body, format="json")
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "validation_error" and "reason" in response.json()["error"]["fields"]
    item.refresh_from_db()
    assert item.state == "pending_approval"                          # nothing happened
    denied = api.post(url, {"reason": "use the shared one"}, format="json")
    assert denied.status_code == 200 and denied.json()["state"] == "rejected"
    assert denied.json()["decision_comment"] == "use the shared one"
    again = api.post(url, {"reason": "twice"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
    for verb in ("approve", "cancel", "retry"):
        answer = api.post(f"/api/v1/{kind}/{item.pk}/{verb}/", {}, format="json")
        assert answer.status_code == 409 and answer.json()["error"]["code"] == "invalid_transition", verb
    steps = api.get(f"/api/v1/{kind}/{item.pk}/steps/").json()["results"]
    assert steps and all(set(step) == STEP_KEYS for step in steps)
    assert steps[-1]["action"] == "reject" and "use the shared one" in steps[-1]["detail"]


def test_other_teams_requests_are_invisible_to_deny_and_steps(world):
    item = f.request(world)
    api = _api(world["other_lead"])
    assert api.post(f"/api/v1/provisioning-requests/{item.pk}/deny/", {"reason": "x"}, format="json").status_code == 404
    assert api.get(f"/api/v1/provisioning-requests/{item.pk}/steps/").status_code == 404


def test_step_lists_have_a_constant_query_count(world, django_assert_max_num_queries):
    item = f.request(world)
    api = _api(world["lead"])
    with django_assert_max_num_queries(12):
        first = api.get(f"/api/v1/provisioning-requests/{item.pk}/steps/").json()
    from provisioning.models import RequestStep
    RequestStep.objects.bulk_create([RequestStep(request=item, action="DescribeRecord", outcome="waiting")] * 20)
    with django_assert_max_num_queries(12):
        second = api.get(f"/api/v1/provisioning-requests/{item.pk}/steps/").json()
    assert second["count"] == first["count"] + 20


def test_transitions_reach_webhooks_as_kind_dot_transition(world, monkeypatch, settings):
    settings.PORTAL_WEBHOOK_ALLOW_LOOPBACK = True
    monkeypatch.setattr(webhooks, "_schedule", lambda ids, countdown=0: None)
    webhooks.webhook_create(actor=world["lead"], team=world.team, name="ci", url="https://127.0.0.1:9/hook",
                            events=["provisioning_request.*", "account_request.deny"])
    item = f.request(world)
    _api(world["lead"]).post(f"/api/v1/provisioning-requests/{item.pk}/deny/", {"reason": "no"}, format="json")
    account = _account_request(world)
    _api(world["platform_admin"]).post(f"/api/v1/account-requests/{account.pk}/deny/", {"reason": "no"},
                                       format="json")
    kinds = list(WebhookDelivery.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["provisioning_request.submit", "provisioning_request.require_approval",
                     "provisioning_request.deny", "account_request.deny"]
