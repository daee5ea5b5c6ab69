"""Route x persona cases for the governance app (see tests/support/routes.py).

Every case runs for every persona within one world (each run builds its own objects through the
case's kwargs), so the matrix costs one world per route rather than one per route and persona."""
import itertools

import pytest
from rest_framework.test import APIClient

from tests.support.routes import RouteCase, run_case

GLOBAL = {"platform_admin", "approver", "executive", "auditor"}
TEAM = {"lead", "ds", "mle"}
VIEWERS = GLOBAL | TEAM | {"other_lead"}
EVERYONE = VIEWERS | {"outsider"}
HIDDEN = {"other_lead", "outsider"}


_numbers = itertools.count(1)


def _version(w, stage="registered", version=None, group_name=None):
    """A fraud-detection dev version in ``stage``, registered by the data scientist (rows only);
    each call makes a new version (in a new group unless ``group_name`` is given)."""
    from governance.models import ModelGroup, ModelVersion
    version = version or next(_numbers)
    group_name = group_name or f"route-model-{version}"
    group, _ = ModelGroup.objects.get_or_create(
        arn=f"arn:aws:sagemaker:us-east-1:{w.account.account_id}:model-package-group/{group_name}",
        defaults={"name": group_name, "account": w.account, "team": w.team})
    return ModelVersion.objects.create(group=group, team=w.team, version=version, stage=stage,
                                       arn=f"{group.arn.replace('-group', '')}/{version}", registered_by=w["ds"],
                                       metrics={"auc": "0.9"})


def _in_prod_with_previous(w):
    group = f"route-prod-{next(_numbers)}"
    _version(w, "superseded", group_name=group)
    return _version(w, "in_prod", group_name=group)


def _decision_approve_data(w):
    return {"outcome": "reject", "comment": "not good enough"}


def _delegation(w):
    from datetime import timedelta

    from django.utils import timezone

    from portal.services import delegation_create
    return delegation_create(actor=w["lead"], delegate=w["ds"], ends_at=timezone.now() + timedelta(days=3))


def _tomorrow(w):
    from datetime import date, timedelta
    return {"delegate": "ds", "ends_on": (date.today() + timedelta(days=2)).isoformat(), "reason": "holiday"}


def _api_delegation(w):
    from datetime import timedelta

    from django.utils import timezone
    return {"delegate": "ds", "ends_at": (timezone.now() + timedelta(days=2)).isoformat()}


DECIDERS = {"lead", "approver", "mle", "other_lead"}
DELEGATION_PARTIES = {"lead", "ds"}
DELEGATORS = DECIDERS | {"platform_admin"}   # delegations are the core's: every kind of decision (issue 13)

pk = lambda stage: (lambda w: {"pk": _version(w, stage).pk})  # noqa: E731

CASES = [
    RouteCase("governance:approval_queue", VIEWERS),
    RouteCase("governance:model_list", VIEWERS),
    RouteCase("governance:registry_sync", {"platform_admin"}, method="post"),
    RouteCase("governance:version_detail", GLOBAL | TEAM, kwargs=pk("registered"), not_found=HIDDEN),
    RouteCase("governance:version_decide", {"lead"}, method="post", kwargs=pk("registered"), not_found=HIDDEN,
              data=_decision_approve_data),
    RouteCase("governance:version_rollback", {"lead", "mle"}, method="post", not_found=HIDDEN,
              kwargs=lambda w: {"pk": _in_prod_with_previous(w).pk}),
    RouteCase("governance:version_continue", {"lead"}, method="post", kwargs=pk("dev_approved"), not_found=HIDDEN),
    RouteCase("governance:delegation_create", DELEGATORS, method="post", data=_tomorrow),
    RouteCase("governance:delegation_revoke", {"lead"}, method="post", kwargs=lambda w: {"pk": _delegation(w).pk},
              not_found=EVERYONE - DELEGATION_PARTIES),
    RouteCase("governance:sagemaker_event", set(), method="post", api=True, data=lambda w: {"detail-type": "x"}),
    # API
    RouteCase("model-group-list", VIEWERS, api=True),
    RouteCase("model-group-sync", {"platform_admin"}, api=True, method="post", success=(202,)),
    RouteCase("model-group-detail", GLOBAL | TEAM, api=True, not_found=HIDDEN,
              kwargs=lambda w: {"pk": _version(w).group_id}),
    RouteCase("model-version-list", VIEWERS, api=True),
    RouteCase("model-version-detail", GLOBAL | TEAM, api=True, kwargs=pk("registered"), not_found=HIDDEN),
    RouteCase("model-version-approve", {"lead"}, api=True, method="post", kwargs=pk("registered"), not_found=HIDDEN),
    RouteCase("model-version-reject", {"approver"}, api=True, method="post", kwargs=pk("in_central"),
              not_found=HIDDEN, data=lambda w: {"comment": "metrics below production"}),
    RouteCase("model-version-deny", {"approver"}, api=True, method="post", kwargs=pk("in_central"),
              not_found=HIDDEN, data=lambda w: {"reason": "metrics below production"}),
    RouteCase("model-version-retry", {"lead"}, api=True, method="post", kwargs=pk("dev_approved"),
              not_found=HIDDEN),
    RouteCase("model-version-sign-off", {"mle"}, api=True, method="post", kwargs=pk("in_test"), not_found=HIDDEN),
    RouteCase("model-version-rollback", {"lead", "mle"}, api=True, method="post", not_found=HIDDEN,
              kwargs=lambda w: {"pk": _in_prod_with_previous(w).pk}),
    RouteCase("model-version-continue", {"lead"}, api=True, method="post", kwargs=pk("dev_approved"),
              not_found=HIDDEN),
    RouteCase("model-approval-list", VIEWERS, api=True),
    RouteCase("approval-delegation-list", EVERYONE, api=True),
    RouteCase("approval-delegation-list", DELEGATORS, api=True, method="post", data=_api_delegation),
    RouteCase("approval-delegation-detail", DELEGATION_PARTIES, api=True, kwargs=lambda w: {"pk": _delegation(w).pk},
              not_found=EVERYONE - DELEGATION_PARTIES),
    RouteCase("approval-delegation-detail", {"lead"}, api=True, method="delete",
              kwargs=lambda w: {"pk": _delegation(w).pk}, not_found=EVERYONE - DELEGATION_PARTIES),
]

PERSONAS = ["anonymous", *sorted(EVERYONE)]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.label)
def test_route_permissions(case, world):
    failures = []
    for persona in PERSONAS:
        try:
            run_case(case, world, persona, APIClient)
        except AssertionError as error:
            failures.append(str(error).splitlines()[0])
    assert not failures, failures
