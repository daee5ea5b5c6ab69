"""Route x persona cases for the activity view (see tests/support/routes.py)."""
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.support.routes import RouteCase, run_case

EVERYONE = {"platform_admin", "approver", "executive", "auditor", "lead", "ds", "mle", "other_lead", "outsider"}
READ_ALL = {"platform_admin", "auditor"}
TEAM = {"lead", "ds", "mle"}


def event_kwargs(world):
    from observability.models import ActivityEvent

    event = ActivityEvent.objects.create(account=world.account, team=world.team, environment="dev", event_id="route",
                                         event_time=timezone.now(), event_name="CreateEndpoint", service="sagemaker")
    return {"pk": event.pk}


CASES = [
    RouteCase("observability:activity_list", READ_ALL | TEAM | {"other_lead"}),
    RouteCase("observability:activity_detail", READ_ALL | TEAM, kwargs=event_kwargs, not_found={"other_lead"}),
    RouteCase("activity-event-list", READ_ALL | TEAM | {"other_lead"}, api=True),
    RouteCase("activity-event-detail", READ_ALL | TEAM, api=True, kwargs=event_kwargs, not_found={"other_lead"}),
]

PERSONAS = ["anonymous", *sorted(EVERYONE)]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.label)
def test_route_permissions(case, persona, world):
    run_case(case, world, persona, APIClient)
