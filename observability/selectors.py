"""Reads of the activity view, shared by the page and the API: scoped to what the user may see
before anything else, filtered, in keyset order (newest first). Never calls AWS."""
from django.http import Http404
from django.urls import reverse

from observability.models import ActivityEvent, TargetKind
from portal.models import AwsAccount, Team
from portal.permissions import has_perm, scope

TARGET_ROUTES = {
    TargetKind.PROVISIONED_PRODUCT: "provisioning:request_detail",
    TargetKind.PROVISIONING_REQUEST: "provisioning:request_detail",
    TargetKind.ENDPOINT: "governance:version_detail",
    TargetKind.MODEL_VERSION: "governance:version_detail",
}
# filter name -> model field (exact match; each has its own index ending in the list order)
EXACT_FILTERS = {"environment": "environment", "user": "username", "service": "service",
                 "event_name": "event_name", "resource": "resource_name"}


def can_see_activity(user) -> bool:
    return has_perm(user, "view", ActivityEvent)


def activity_events_for_user(user):
    """Every event ``user`` may see (auditors and platform admins: all; team members: their teams')."""
    return scope(user, ActivityEvent.objects.select_related("account", "team"), "view")


def activity_event_list(user, filters: dict):
    """The user's events narrowed by ``filters`` (cleaned by ActivityFilterForm), newest first.

    A team or account outside the user's scope raises Http404, as opening it would."""
    events = activity_events_for_user(user)
    team = filters.get("team")
    if team:
        visible = scope(user, Team.objects.filter(slug=team))
        team_id = visible.values_list("pk", flat=True).first()
        if team_id is None:
            raise Http404("No such team")
        events = events.filter(team_id=team_id)
    account = filters.get("account")
    if account:
        account_pk = scope(user, AwsAccount.objects.filter(account_id=account)).values_list("pk", flat=True).first()
        if account_pk is None:
            raise Http404("No such account")
        events = events.filter(account_id=account_pk)
    for name, field in EXACT_FILTERS.items():
        if filters.get(name):
            events = events.filter(**{field: filters[name]})
    if filters.get("since"):
        events = events.filter(event_time__gte=filters["since"])
    if filters.get("until"):
        events = events.filter(event_time__lte=filters["until"])
    if filters.get("out_of_band"):
        events = events.filter(out_of_band=True)
    return events.order_by("-event_time", "-id")


def activity_event_get(user, pk: int) -> ActivityEvent:
    """One event the user may see; others' answer 404."""
    event = activity_events_for_user(user).filter(pk=pk).first()
    if event is None:
        raise Http404("No such event")
    return event


def target_url(event: ActivityEvent) -> str | None:
    """The page of the portal object the event concerns, when the sync could tell."""
    route = TARGET_ROUTES.get(event.target_kind)
    if not route or event.target_id is None:
        return None
    return reverse(route, kwargs={"pk": event.target_id})


def filter_choices(user) -> dict:
    """Teams and accounts for the filter form's menus (only those the user may see)."""
    return {
        "teams": list(scope(user, Team.objects.order_by("name")).values_list("slug", "name")),
        "accounts": list(scope(user, AwsAccount.objects.order_by("name")).values_list("account_id", "name")),
    }
