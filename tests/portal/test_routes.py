"""Every route × every persona: anonymous, wrong role, right role, other team (404)."""
import pytest
from rest_framework.test import APIClient

from tests.support.routes import RouteCase, is_exempt, run_case, uncovered_routes

GLOBAL = {"platform_admin", "approver", "executive", "auditor"}
TEAM = {"lead", "ds", "mle"}
EVERYONE = GLOBAL | TEAM | {"other_lead", "outsider"}
ADMIN = {"platform_admin"}
READERS = {"platform_admin", "auditor"}
DECIDERS = {"platform_admin", "approver", "lead", "mle", "other_lead"}   # the approvals inbox

team_kwargs = lambda w: {"slug": w.team.slug}  # noqa: E731


def _membership(w):
    return w.team.memberships.get(user=w["ds"])


def _token(w):
    from portal.services import api_token_create
    return api_token_create(actor=w["platform_admin"], name="mine", expires_in_days=1)[0]


def _notification(w):
    from portal.notifications import notify
    return notify(users=[w["lead"]], kind="test", subject="for the lead", email=False)[0]


def _role(w):
    return w["auditor"].role_assignments.get()


CASES = [
    RouteCase("portal:home", EVERYONE),
    RouteCase("portal:team_list", EVERYONE - {"outsider"}),
    RouteCase("portal:team_create", ADMIN),
    RouteCase("portal:team_create", ADMIN, method="post",
              data=lambda w: {"name": "New", "slug": "new-team", "line_of_business": "Risk", "cost_center": "C1",
                              "monthly_budget_usd": "10"}),
    RouteCase("portal:team_detail", GLOBAL | TEAM, kwargs=team_kwargs, not_found={"other_lead", "outsider"}),
    RouteCase("portal:team_edit", ADMIN, kwargs=team_kwargs, not_found={"other_lead", "outsider"}),
    RouteCase("portal:member_add", ADMIN, method="post", kwargs=team_kwargs, not_found={"other_lead", "outsider"},
              data=lambda w: {"username": "outsider", "role": "data_scientist"}),
    RouteCase("portal:member_remove", ADMIN, method="post",
              kwargs=lambda w: {"slug": w.team.slug, "membership_id": _membership(w).pk}),
    RouteCase("portal:user_list", READERS),
    RouteCase("portal:role_grant", ADMIN, method="post", kwargs=lambda w: {"user_id": w["outsider"].pk},
              data=lambda w: {"role": "auditor"}),
    RouteCase("portal:role_revoke", ADMIN, method="post", kwargs=lambda w: {"assignment_id": _role(w).pk}),
    RouteCase("portal:audit_list", READERS),
    RouteCase("portal:approvals", DECIDERS),
    RouteCase("portal:approvals_decide", DECIDERS, method="post",
              data=lambda w: {"keys": ["model_card:999999"], "outcome": "approve"}),
    RouteCase("portal:token_list", EVERYONE),
    RouteCase("portal:token_revoke", ADMIN, method="post", kwargs=lambda w: {"token_id": _token(w).pk},
              not_found=EVERYONE - ADMIN),
    RouteCase("portal:health", ADMIN),
    RouteCase("portal:notification_list", EVERYONE),
    RouteCase("portal:notification_list", EVERYONE, method="post"),
    # API
    RouteCase("api-root", EVERYONE, api=True),
    RouteCase("api-me", EVERYONE, api=True),
    RouteCase("api_schema", EVERYONE, api=True),
    RouteCase("api_docs", EVERYONE, api=True),
    RouteCase("team-list", EVERYONE - {"outsider"}, api=True),
    RouteCase("team-list", ADMIN, api=True, method="post",
              data=lambda w: {"name": "New", "slug": "new-team", "line_of_business": "Risk", "cost_center": "C1"}),
    RouteCase("team-detail", GLOBAL | TEAM, api=True, kwargs=team_kwargs, not_found={"other_lead", "outsider"}),
    RouteCase("team-detail", ADMIN, api=True, method="patch", kwargs=team_kwargs,
              data=lambda w: {"cost_center": "CC-9"}, not_found={"other_lead", "outsider"}),
    RouteCase("membership-list", READERS | TEAM | {"other_lead"}, api=True),
    RouteCase("membership-list", ADMIN, api=True, method="post",
              data=lambda w: {"team": w.team.slug, "user": "outsider", "role": "data_scientist"}),
    RouteCase("membership-detail", READERS | TEAM, api=True, kwargs=lambda w: {"pk": _membership(w).pk},
              not_found=EVERYONE - READERS - TEAM),
    RouteCase("membership-detail", ADMIN, api=True, method="delete", kwargs=lambda w: {"pk": _membership(w).pk},
              not_found=EVERYONE - READERS - TEAM),
    RouteCase("role-assignment-list", READERS, api=True),
    RouteCase("role-assignment-list", ADMIN, api=True, method="post",
              data=lambda w: {"user": "outsider", "role": "auditor"}),
    RouteCase("role-assignment-detail", READERS, api=True, kwargs=lambda w: {"pk": _role(w).pk},
              not_found=EVERYONE - READERS),
    RouteCase("role-assignment-detail", ADMIN, api=True, method="delete", kwargs=lambda w: {"pk": _role(w).pk},
              not_found=EVERYONE - READERS),
    RouteCase("account-list", EVERYONE - {"outsider"}, api=True),
    RouteCase("account-detail", GLOBAL | TEAM, api=True, kwargs=lambda w: {"account_id": w.account.account_id},
              not_found={"other_lead", "outsider"}),
    RouteCase("audit-event-list", READERS, api=True),
    RouteCase("approval-list", DECIDERS, api=True),
    RouteCase("approval-undecidable", ADMIN, api=True),
    RouteCase("approval-decide", set(), api=True, method="post", data=lambda w: {"keys": ["model_card:999999"],
                                                                                 "outcome": "approve"}),
    RouteCase("audit-event-detail", READERS, api=True, kwargs=lambda w: {"seq": 1}, not_found=EVERYONE - READERS),
    RouteCase("api-token-list", EVERYONE, api=True),
    RouteCase("api-token-list", EVERYONE, api=True, method="post", data=lambda w: {"name": "script"}),
    RouteCase("notification-list", EVERYONE, api=True),
    RouteCase("notification-detail", {"lead"}, api=True, kwargs=lambda w: {"pk": _notification(w).pk},
              not_found=EVERYONE - {"lead"}),
    RouteCase("notification-mark-read", EVERYONE, api=True, method="post"),
    RouteCase("api-token-detail", ADMIN, api=True, kwargs=lambda w: {"pk": _token(w).pk},
              not_found=EVERYONE - ADMIN),
    RouteCase("api-token-detail", ADMIN, api=True, method="delete", kwargs=lambda w: {"pk": _token(w).pk},
              not_found=EVERYONE - ADMIN),
]

PERSONAS = ["anonymous", *sorted(EVERYONE)]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.label)
def test_route_permissions(case, persona, world, aws_endpoint):
    run_case(case, world, persona, APIClient)


def test_every_route_has_a_permission_case():
    from tests.support.route_registry import all_cases
    missing = uncovered_routes(all_cases())
    assert not missing, f"routes without a RouteCase (add them to the app's test_routes.py): {sorted(missing)}"


def test_route_exemptions_are_exact():
    """Only django-allauth's own views are exempt: a portal route named like one (``account_*``,
    as account vending's are) still needs its case."""
    from allauth.account.views import LoginView
    from django.urls import reverse

    def account_login(request):     # a portal view that borrows an allauth-like name
        return None
    assert is_exempt(LoginView.as_view()) and not is_exempt(account_login)
    without_cases = uncovered_routes([])
    vending = {name for name in without_cases if name.startswith("account_vending:")}
    assert len(vending) >= 5 and "account_login" not in without_cases
    assert reverse("account_login")      # the exempt route exists: the check above is not vacuous
