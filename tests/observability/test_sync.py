"""The CloudTrail activity sync: idempotent (twice = once), paged, bounded, leased, retained."""
from datetime import timedelta

import pytest
from django.utils import timezone

from observability import services
from observability.models import ActivityEvent, ActivitySyncCursor
from tests.observability.conftest import client_as

pytestmark = pytest.mark.django_db

FRAUD_DEV = "333333333311"
CREDIT_DEV = "333333333321"


def _groups(server, account_id, count, prefix, **who):
    sagemaker = client_as(server, "sagemaker", account_id, **who)
    for index in range(count):
        sagemaker.create_model_package_group(ModelPackageGroupName=f"{prefix}-{index}")


def _rows():
    return sorted(ActivityEvent.objects.values_list("account__account_id", "event_id", "event_name", "resource_name",
                                                    "username", "team_id"))


def test_sync_twice_stores_what_once_does(world, trail_sandbox, no_sleep):
    waits, pacer = no_sleep
    _groups(trail_sandbox, FRAUD_DEV, 3, "fraud", session="alice")
    _groups(trail_sandbox, CREDIT_DEV, 2, "credit", session="bob")
    first = services.activity_sync(account_ids=[FRAUD_DEV, CREDIT_DEV], pacer=pacer)
    once = _rows()
    assert first["failed"] == 0 and first["accounts"] == 2
    fraud = [row for row in once if row[0] == FRAUD_DEV and row[2] == "CreateModelPackageGroup"]
    assert sorted(row[3] for row in fraud) == ["fraud-0", "fraud-1", "fraud-2"]
    assert {row[4] for row in fraud} == {"alice"} and {row[5] for row in fraud} == {world.team.pk}
    services.activity_sync(account_ids=[FRAUD_DEV, CREDIT_DEV], pacer=pacer)
    assert _rows() == once                                    # the overlap was re-read: nothing doubled
    _groups(trail_sandbox, FRAUD_DEV, 1, "later", session="alice")
    services.activity_sync(account_ids=[FRAUD_DEV, CREDIT_DEV], pacer=pacer)
    assert len(_rows()) == len(once) + 1
    event = ActivityEvent.objects.get(resource_name="later-0")
    assert event.service == "sagemaker" and event.environment == "dev"
    assert event.principal_arn == f"arn:aws:sts::{FRAUD_DEV}:assumed-role/PortalExecutionRole/alice"
    assert event.detail["eventName"] == "CreateModelPackageGroup"
    assert event.via_portal                                    # the portal's role, whatever the session
    assert not event.out_of_band                               # and not a resource the portal made


def test_paging_is_bounded_per_run_and_continues_the_same_window(world, trail_sandbox, no_sleep, settings):
    waits, pacer = no_sleep
    settings.ACTIVITY_MAX_LOOKUPS_PER_ACCOUNT = 2
    _groups(trail_sandbox, FRAUD_DEV, 120, "many")
    first = services.activity_sync(account_ids=[FRAUD_DEV], pacer=pacer)
    assert first["requests"] == 2 and first["events"] == 100
    cursor = ActivitySyncCursor.objects.get(account__account_id=FRAUD_DEV)
    assert cursor.next_token and cursor.synced_until is None and cursor.lease_until is None
    assert waits and all(0 < wait <= 0.5 for wait in waits)   # 2 requests per second per account
    second = services.activity_sync(account_ids=[FRAUD_DEV], pacer=pacer)
    assert second["requests"] == 1
    names = set(ActivityEvent.objects.filter(event_name="CreateModelPackageGroup").values_list("resource_name", flat=True))
    assert names == {f"many-{index}" for index in range(120)}
    cursor.refresh_from_db()
    assert cursor.next_token == "" and cursor.synced_until is not None
    before = _rows()
    services.activity_sync(account_ids=[FRAUD_DEV], pacer=pacer)
    assert _rows() == before


def test_a_leased_account_is_skipped(world, trail_sandbox, no_sleep):
    _waits, pacer = no_sleep
    ActivitySyncCursor.objects.create(account=world.account, lease_until=timezone.now() + timedelta(minutes=5),
                                      lease_owner="other-run")
    summary = services.activity_sync(account_ids=[FRAUD_DEV], pacer=pacer)
    assert summary["skipped"] == 1 and summary["requests"] == 0


def test_an_account_that_fails_keeps_its_cursor_and_the_others_go_on(world, trail_sandbox, no_sleep, settings):
    _waits, pacer = no_sleep
    settings.AWS_MAX_ATTEMPTS = 1
    trail_sandbox.engine.faults.add({"service": "cloudtrail", "operation": "LookupEvents", "kind": "error",
                                     "code": "AccessDeniedException", "message": "no", "count": 1})
    summary = services.activity_sync(account_ids=[FRAUD_DEV, CREDIT_DEV], pacer=pacer)
    assert summary["failed"] == 1 and summary["accounts"] == 2
    failed = ActivitySyncCursor.objects.get(account__account_id=FRAUD_DEV)
    assert "AccessDenied" in failed.last_error and failed.synced_until is None and failed.lease_until is None
    assert ActivitySyncCursor.objects.get(account__account_id=CREDIT_DEV).synced_until is not None


def test_out_of_band_changes_to_portal_resources_are_marked(world, trail_sandbox, no_sleep):
    from governance.models import ModelGroup, ModelVersion

    _waits, pacer = no_sleep
    sagemaker = client_as(trail_sandbox, "sagemaker", FRAUD_DEV, session="pipeline")
    sagemaker.create_model_package_group(ModelPackageGroupName="oob")
    arn = sagemaker.create_model_package(ModelPackageGroupName="oob", ModelApprovalStatus="PendingManualApproval",
                                         InferenceSpecification={"Containers": [{"Image": "x.dkr.ecr/y:1"}],
                                                                 "SupportedContentTypes": ["text/csv"],
                                                                 "SupportedResponseMIMETypes": ["text/csv"]},
                                         )["ModelPackageArn"]
    group = ModelGroup.objects.create(team=world.team, account=world.account, name="oob", arn=f"{arn}-group")
    version = ModelVersion.objects.create(group=group, team=world.team, version=1, arn=arn)
    outside = client_as(trail_sandbox, "sagemaker", FRAUD_DEV, role="OrganizationAccountAccessRole",
                        session="console-user")
    outside.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    services.activity_sync(account_ids=[FRAUD_DEV], pacer=pacer)
    change = ActivityEvent.objects.get(event_name="UpdateModelPackage")
    assert change.username == "console-user" and not change.via_portal
    assert change.out_of_band and change.target_id == version.pk and change.target_kind == "model_version"
    made = ActivityEvent.objects.get(event_name="CreateModelPackage")
    assert made.via_portal and not made.out_of_band and made.target_id == version.pk


def test_purge_deletes_events_past_retention_only(world, settings):
    settings.ACTIVITY_RETENTION_DAYS = 30
    now = timezone.now()
    for index, age in enumerate((31, 29)):
        ActivityEvent.objects.create(account=world.account, team=world.team, environment="dev", event_id=f"e{index}",
                                     event_time=now - timedelta(days=age), event_name="X", service="s")
    assert services.activity_purge(now=now) == 1
    assert list(ActivityEvent.objects.values_list("event_id", flat=True)) == ["e1"]
    assert services.activity_purge(now=now) == 0
