"""The activity page and API: scoping, filters, keyset pages, bad input, links, query counts."""
from datetime import datetime, timedelta, timezone

import pytest
from django.urls import reverse

from observability.models import ActivityEvent, TargetKind

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 31, 23, 0, tzinfo=timezone.utc)


@pytest.fixture
def events(world):
    """30 events in the team's account, 10 in the other team's, a few with distinct values."""
    made = []
    for index in range(30):
        made.append(ActivityEvent(account=world.account, team=world.team, environment="dev", event_id=f"own-{index}",
                                  event_time=T0 - timedelta(minutes=index), event_name="CreateEndpoint" if index % 3 else
                                  "DeleteEndpoint", service="sagemaker", username="alice" if index < 5 else "bob",
                                  resource_name=f"endpoint-{index % 4}", out_of_band=index == 7))
    for index in range(10):
        made.append(ActivityEvent(account=world.other_account, team=world.other_team, environment="dev",
                                  event_id=f"other-{index}", event_time=T0 - timedelta(minutes=index, seconds=30),
                                  event_name="CreateBucket", service="s3", username="carol"))
    return ActivityEvent.objects.bulk_create(made)


def _ids(response):
    return [row["event_id"] for row in response.json()["results"]]


def test_team_members_see_their_teams_events_only(api_client, world, events):
    api_client.force_login(world["other_lead"])
    listed = api_client.get(reverse("activity-event-list"), {"page_size": 100})
    assert sorted(_ids(listed)) == sorted(f"other-{index}" for index in range(10))
    own_event = next(event for event in events if event.team_id == world.team.pk)
    assert api_client.get(reverse("activity-event-detail", args=[own_event.pk])).status_code == 404
    assert api_client.get(reverse("activity-event-list"), {"team": world.team.slug}).status_code == 404
    assert api_client.get(reverse("activity-event-list"), {"account": world.account.account_id}).status_code == 404
    api_client.force_login(world["auditor"])
    assert len(_ids(api_client.get(reverse("activity-event-list"), {"page_size": 100}))) == 40


def test_filters_narrow_the_list(api_client, world, events):
    api_client.force_login(world["platform_admin"])
    url = reverse("activity-event-list")

    def ids(**params):
        return _ids(api_client.get(url, {"page_size": 100, **params}))

    assert len(ids(team=world.other_team.slug)) == 10
    assert len(ids(account=world.account.account_id)) == 30
    assert len(ids(environment="dev")) == 40 and ids(environment="prod") == []
    assert len(ids(user="alice")) == 5
    assert len(ids(service="s3")) == 10
    assert len(ids(event_name="DeleteEndpoint")) == 10
    assert len(ids(resource="endpoint-1")) == 8
    assert ids(out_of_band="true") == ["own-7"]
    since = (T0 - timedelta(minutes=2)).isoformat()
    assert ids(since=since, account=world.account.account_id) == ["own-0", "own-1", "own-2"]
    assert ids(until=(T0 - timedelta(minutes=29)).isoformat(), account=world.account.account_id) == ["own-29"]


def test_keyset_pages_cover_everything_once_newest_first(api_client, world, events):
    api_client.force_login(world["platform_admin"])
    seen, url, params = [], reverse("activity-event-list"), {"page_size": 7}
    while url:
        body = api_client.get(url, params).json()
        seen += [row["event_id"] for row in body["results"]]
        url, params = body["next"], {}
    expected = [event.event_id for event in sorted(events, key=lambda e: (e.event_time, e.pk), reverse=True)]
    assert seen == expected


@pytest.mark.parametrize("params, field", [
    ({"account": "12"}, "account"), ({"environment": "moon"}, "environment"), ({"since": "yesterday"}, "since"),
    ({"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, "until"), ({"cursor": "garbage!"}, "cursor"),
    ({"page_size": "1000"}, "page_size"), ({"page_size": "x"}, "page_size"), ({"service": "Bad Name"}, "service"),
])
def test_bad_input_is_400_naming_the_field(api_client, world, params, field):
    api_client.force_login(world["platform_admin"])
    response = api_client.get(reverse("activity-event-list"), params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    if field != "page_size":             # the page has a fixed page size
        page = api_client.get(reverse("observability:activity_list"), params)
        assert page.status_code == 400


def test_list_query_count_does_not_grow_with_the_page(api_client, world, events, django_assert_max_num_queries):
    api_client.force_login(world["platform_admin"])
    with django_assert_max_num_queries(8):   # session, user, roles, the page
        assert len(_ids(api_client.get(reverse("activity-event-list"), {"page_size": 40}))) == 40
    with django_assert_max_num_queries(13):   # + the page's navigation (the approvals badge reads delegations)
        response = api_client.get(reverse("observability:activity_list"))
    assert response.status_code == 200 and response.content.count(b'data-testid="activity-event"') == 40


def test_an_event_links_to_the_portal_object_and_shows_out_of_band(client, world, events):
    event = events[7]
    ActivityEvent.objects.filter(pk=event.pk).update(target_kind=TargetKind.PROVISIONING_REQUEST, target_id=42,
                                                     target_label="Provisioning request fraud-domain")
    client.force_login(world["lead"])
    page = client.get(reverse("observability:activity_detail", args=[event.pk]))
    assert page.status_code == 200
    assert reverse("provisioning:request_detail", kwargs={"pk": 42}).encode() in page.content
    assert b'data-testid="out-of-band"' in page.content
    listed = client.get(reverse("observability:activity_list"), {"out_of_band": "on"})
    assert listed.content.count(b'data-testid="activity-event"') == 1
