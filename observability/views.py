"""Activity pages: the list of CloudTrail events with filters (keyset pages) and one event. Thin:
selectors read from the database only; no page view calls CloudTrail."""
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from observability import selectors
from observability.forms import ActivityFilterForm
from portal.pagination import InvalidCursor, keyset_page

PAGE_SIZE = 50


@login_required
def activity_list(request):
    if not selectors.can_see_activity(request.user):
        raise PermissionDenied("The activity view is for auditors, platform admins and team members.")
    choices = selectors.filter_choices(request.user)
    form = ActivityFilterForm(_filter_data(request.GET), **choices)
    events, next_cursor, cursor_error = [], None, ""
    if form.is_bound and not form.is_valid():
        filters = None
    else:
        filters = form.filters() if form.is_bound else {}
        queryset = selectors.activity_event_list(request.user, filters)
        try:
            events, next_cursor = keyset_page(queryset, "event_time", request.GET.get("cursor"), PAGE_SIZE)
        except InvalidCursor as error:
            cursor_error = str(error)
    query = request.GET.copy()
    query.pop("cursor", None)
    for event in events:
        event.target_url = selectors.target_url(event)
    return render(request, "observability/activity_list.html", {
        "form": form, "events": events, "next_cursor": next_cursor, "query": query.urlencode(),
        "is_first_page": not request.GET.get("cursor"), "cursor_error": cursor_error,
        "invalid": filters is None,
    }, status=400 if (filters is None or cursor_error) else 200)


def _filter_data(params):
    """The filter part of the query string (None when there is none: an unbound, empty form)."""
    data = params.copy()
    data.pop("cursor", None)
    return data or None


@login_required
def activity_detail(request, pk: int):
    if not selectors.can_see_activity(request.user):
        raise PermissionDenied("The activity view is for auditors, platform admins and team members.")
    event = selectors.activity_event_get(request.user, pk)
    return render(request, "observability/activity_detail.html", {
        "event": event, "target_url": selectors.target_url(event),
    })
