"""Route x persona cases for account vending (see tests/support/routes.py)."""
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from tests.support.routes import RouteCase, run_case

GLOBAL = {"platform_admin", "approver", "executive", "auditor"}
TEAM = {"lead", "ds", "mle"}
EVERYONE = GLOBAL | TEAM | {"other_lead", "outsider"}
ADMIN = {"platform_admin"}
READERS = {"platform_admin", "auditor"}
VIEWERS = READERS | TEAM
HIDDEN = EVERYONE - VIEWERS          # the request of another team answers 404


def _item(w):
    from provisioning.accounts.services import account_request_create
    return account_request_create(actor=w["lead"], team=w.team, environment="dev", purpose="models",
                                  account_name="routes-acct", email="aws+routes@example.com",
                                  sso_first_name="L", sso_last_name="L", sso_email="lead@example.com",
                                  monthly_budget_usd=Decimal("10"))


def _pk(w):
    return {"pk": _item(w).pk}


def _action(name):
    return lambda w: {"pk": _item(w).pk, "action": name}


def _form(w):
    return {"team": w.team.slug, "environment": "dev", "purpose": "p", "account_name": "routes-new",
            "email": "aws+routes-new@example.com", "sso_first_name": "A", "sso_last_name": "B",
            "sso_email": "a@example.com", "monthly_budget_usd": "100"}


CASES = [
    RouteCase("account_vending:request_list", VIEWERS | {"other_lead"}),
    RouteCase("account_vending:request_export", VIEWERS | {"other_lead"}),
    RouteCase("account_vending:request_create", ADMIN | {"lead", "other_lead"}),
    RouteCase("account_vending:request_detail", VIEWERS, kwargs=_pk, not_found=HIDDEN),
    RouteCase("account_vending:request_progress", VIEWERS, kwargs=_pk, not_found=HIDDEN),
    RouteCase("account_vending:request_action", ADMIN, method="post", kwargs=_action("approve"), not_found=HIDDEN),
    RouteCase("account_vending:ou_tree", READERS | {"lead", "other_lead"}),
    RouteCase("account_vending:account_import", ADMIN),
    RouteCase("account_vending:account_move", ADMIN, method="post",
              data=lambda w: {"account_id": "333333333311", "ou_path": "Workloads/NonProd"}),
    # API
    RouteCase("account-request-list", VIEWERS | {"other_lead"}, api=True),
    RouteCase("account-request-list", ADMIN | {"lead"}, api=True, method="post", data=_form, success=(201,)),
    RouteCase("account-request-detail", VIEWERS, api=True, kwargs=_pk, not_found=HIDDEN),
    RouteCase("account-request-approve", ADMIN, api=True, method="post", kwargs=_pk, not_found=HIDDEN),
    RouteCase("account-request-reject", ADMIN, api=True, method="post", kwargs=_pk, not_found=HIDDEN,
              data=lambda w: {"comment": "use the shared account"}),
    RouteCase("account-request-deny", ADMIN, api=True, method="post", kwargs=_pk, not_found=HIDDEN,
              data=lambda w: {"reason": "use the shared account"}),
    RouteCase("account-request-steps", VIEWERS, api=True, kwargs=_pk, not_found=HIDDEN),
    RouteCase("account-request-cancel", ADMIN | {"lead"}, api=True, method="post", kwargs=_pk, not_found=HIDDEN),
    RouteCase("account-request-close", ADMIN | {"lead"}, api=True, method="post", kwargs=_pk, not_found=HIDDEN,
              data=lambda w: {"reason": "done"}, success=(409,)),
    RouteCase("account-request-retry", ADMIN, api=True, method="post", kwargs=_pk, not_found=HIDDEN,
              success=(409,)),
]

PERSONAS = ["anonymous", *sorted(EVERYONE)]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.label)
def test_route_permissions(case, persona, world, aws_endpoint):
    run_case(case, world, persona, APIClient)
