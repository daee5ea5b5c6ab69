"""Every provisioning route × every persona: anonymous, wrong role, right role, other team (404)."""
from unittest import mock

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from tests.provisioning import factories as f
from tests.support.routes import RouteCase, run_case

GLOBAL = {"platform_admin", "approver", "executive", "auditor"}
TEAM = {"lead", "ds", "mle"}
EVERYONE = GLOBAL | TEAM | {"other_lead", "outsider"}
ADMIN = {"platform_admin"}
VIEW_REQUESTS = {"platform_admin", "auditor", "lead", "ds", "mle", "other_lead"}
OWN_TEAM_READERS = {"platform_admin", "auditor", "lead", "ds", "mle"}
OPERATORS = {"platform_admin", "lead", "ds"}          # requester (ds), the team's lead, platform admin
APPROVERS = {"platform_admin", "lead"}
HIDDEN = EVERYONE - OWN_TEAM_READERS                  # for the API: out of scope answers 404
PAGE_HIDDEN = {"other_lead"}                          # pages: other roles get 403 first

product_kwargs = lambda w: {"product_id": f.product().product_id}  # noqa: E731


def _req(state=None, **extra):
    return lambda w: {"pk": f.request(w, state=state, **extra).pk}


def _action(action, state=None, submit=True):
    return lambda w: {"pk": f.request(w, state=state, submit=submit).pk, "action": action}


CASES = [
    RouteCase("provisioning:catalog_list", EVERYONE - {"outsider"}),
    RouteCase("provisioning:catalog_sync", ADMIN, method="post"),
    RouteCase("provisioning:catalog_detail", EVERYONE - {"outsider"}, kwargs=product_kwargs),
    RouteCase("provisioning:catalog_policy", ADMIN, kwargs=product_kwargs),
    RouteCase("provisioning:catalog_policy", ADMIN, method="post", kwargs=product_kwargs,
              data=lambda w: {"policy-enabled": "on", "policy-requires_approval": "on",
                              "policy-hourly_price_usd": "1.25"}),
    RouteCase("provisioning:preset_add", ADMIN, method="post", kwargs=product_kwargs,
              data=lambda w: {"preset-key": "Size", "preset-mode": "default", "preset-value": "large"}),
    RouteCase("provisioning:preset_delete", ADMIN, method="post",
              kwargs=lambda w: {"product_id": f.product().product_id, "preset_id": f.preset(w).pk}),
    RouteCase("provisioning:request_create", ADMIN | TEAM | {"other_lead"}, kwargs=product_kwargs),
    RouteCase("provisioning:request_create", ADMIN | TEAM | {"other_lead"}, method="post", kwargs=product_kwargs,
              data=lambda w: {"account": "333333333311", "name": "route-req", "version": "pa-route",
                              "Size": "small", "Label": "abc"}),
    RouteCase("provisioning:request_list", VIEW_REQUESTS),
    RouteCase("provisioning:request_export", VIEW_REQUESTS),
    RouteCase("provisioning:request_detail", OWN_TEAM_READERS, kwargs=_req(), not_found=PAGE_HIDDEN),
    RouteCase("provisioning:request_progress", OWN_TEAM_READERS, kwargs=_req(), not_found=PAGE_HIDDEN),
    RouteCase("provisioning:request_action", APPROVERS, method="post", kwargs=_action("approve"),
              not_found=PAGE_HIDDEN),
    RouteCase("provisioning:request_action", APPROVERS, method="post", kwargs=_action("reject"),
              data=lambda w: {"comment": "no"}, not_found=PAGE_HIDDEN),
    RouteCase("provisioning:request_action", OPERATORS, method="post", kwargs=_action("cancel"),
              not_found=PAGE_HIDDEN),
    RouteCase("provisioning:request_action", OPERATORS, method="post", kwargs=_action("retry", "failed"),
              not_found=PAGE_HIDDEN),
    RouteCase("provisioning:request_action", OPERATORS, method="post", kwargs=_action("submit", submit=False),
              not_found=PAGE_HIDDEN),
    RouteCase("provisioning:request_update", OPERATORS, kwargs=_req("available"), not_found=PAGE_HIDDEN),
    RouteCase("provisioning:request_terminate", OPERATORS, kwargs=_req("available"), not_found=PAGE_HIDDEN),
    RouteCase("provisioning:request_terminate", OPERATORS, method="post", kwargs=_req("available"),
              not_found=PAGE_HIDDEN, data=lambda w: {"confirm_name": "wrong"}, success=(400,)),
    RouteCase("provisioning:inventory_list", VIEW_REQUESTS),
    # API
    RouteCase("catalog-product-list", EVERYONE - {"outsider"}, api=True),
    RouteCase("catalog-product-detail", EVERYONE - {"outsider"}, api=True, kwargs=product_kwargs,
              not_found={"outsider"}),
    RouteCase("catalog-product-sync", ADMIN, api=True, method="post", success=(202,)),
    RouteCase("provisioning-request-list", VIEW_REQUESTS, api=True),
    RouteCase("provisioning-request-list", ADMIN | TEAM, api=True, method="post",
              data=lambda w: {"product": f.product().product_id, "account": "333333333311", "name": "api-req",
                              "parameters": {"Label": "abc"}}),
    RouteCase("provisioning-request-detail", OWN_TEAM_READERS, api=True, kwargs=_req(), not_found=HIDDEN),
    RouteCase("provisioning-request-approve", APPROVERS, api=True, method="post", kwargs=_req(), not_found=HIDDEN),
    RouteCase("provisioning-request-reject", APPROVERS, api=True, method="post", kwargs=_req(), not_found=HIDDEN,
              data=lambda w: {"comment": "no"}),
    RouteCase("provisioning-request-deny", APPROVERS, api=True, method="post", kwargs=_req(), not_found=HIDDEN,
              data=lambda w: {"reason": "no"}),
    RouteCase("provisioning-request-steps", OWN_TEAM_READERS, api=True, kwargs=_req(), not_found=HIDDEN),
    RouteCase("provisioning-request-cancel", OPERATORS, api=True, method="post", kwargs=_req(), not_found=HIDDEN),
    RouteCase("provisioning-request-retry", OPERATORS, api=True, method="post", kwargs=_req("failed"),
              not_found=HIDDEN),
    RouteCase("provisioning-request-submit", OPERATORS, api=True, method="post",
              kwargs=lambda w: {"pk": f.request(w, submit=False).pk}, not_found=HIDDEN),
    RouteCase("provisioning-request-update", OPERATORS, api=True, method="post", kwargs=_req("available"),
              not_found=HIDDEN, data=lambda w: {"parameters": {"Size": "large"}}),
    RouteCase("provisioning-request-terminate", OPERATORS, api=True, method="post", kwargs=_req("available"),
              not_found=HIDDEN, data=lambda w: {"confirm_name": "wrong"}, success=(400,)),
    RouteCase("provisioned-product-list", VIEW_REQUESTS, api=True),
    RouteCase("provisioned-product-detail", OWN_TEAM_READERS, api=True,
              kwargs=lambda w: {"pk": f.request(w, state="available").provisioned.pk}, not_found=HIDDEN),
]

PERSONAS = ["anonymous", *sorted(EVERYONE)]


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.label}#{CASES.index(case)}")
def test_route_permissions(case, world):
    """Every persona in turn, each inside a rolled-back savepoint (one world per case keeps the
    matrix fast; every persona still starts from the same data)."""
    with mock.patch("provisioning.tasks.catalog_sync.delay"), mock.patch("provisioning.services._on_commit_execute"):
        for persona in PERSONAS:
            with transaction.atomic():
                run_case(case, world, persona, APIClient)
                transaction.set_rollback(True)
