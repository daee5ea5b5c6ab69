"""Writes of the observability app: the CloudTrail activity sync and its retention purge.

The sync reads each account's management events with LookupEvents into ActivityEvent rows, a
bounded number of requests per account per run, paced to CloudTrail's 2 requests per second per
account and Region. Each account has a cursor: the end of the last window read in full
(``synced_until``) and, while a window is being read over several runs, its bounds and NextToken
(a token is only valid with the parameters it came from, so the window is fixed until it is read
to its end). A new window starts ``ACTIVITY_OVERLAP_SECONDS`` before ``synced_until``, so events
CloudTrail delivered late are picked up; rows are upserted on (account, event id), so re-reading
is harmless. A lease on the cursor (compare-and-set, never held during the AWS calls) keeps two
runs off the same account. No page view reads CloudTrail.
"""
import logging
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from observability import aws
from observability.models import ActivityEvent, ActivitySyncCursor, TargetKind
from portal.aws import AWS_ERRORS
from portal.models import AwsAccount
from portal.permissions import SYSTEM, require

log = logging.getLogger(__name__)

CLOUDTRAIL_WINDOW = timedelta(days=90)
PURGE_BATCH = 10000
# Resource types whose names the portal can resolve to its objects, in the order that makes one
# the event's main resource.
PP_TYPE = "AWS::ServiceCatalog::CloudFormationProvisionedProduct"
ENDPOINT_TYPE = "AWS::SageMaker::Endpoint"
PACKAGE_TYPE = "AWS::SageMaker::ModelPackage"
MAIN_RESOURCE_ORDER = (PP_TYPE, ENDPOINT_TYPE, PACKAGE_TYPE, "AWS::SageMaker::ModelPackageGroup",
                       "AWS::SageMaker::ModelCard")
_UPDATE_FIELDS = ["team", "environment", "event_time", "event_name", "service", "username", "principal_arn",
                  "identity_type", "access_key_id", "source_ip", "read_only", "error_code", "resource_type",
                  "resource_name", "resources", "target_kind", "target_id", "target_label", "via_portal",
                  "out_of_band", "detail", "synced_at"]


class Pacer:
    """At most ``rate`` calls per second per key (CloudTrail's LookupEvents limit is per account)."""

    def __init__(self, rate: float, sleep=time.sleep, clock=time.monotonic):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.sleep, self.clock = sleep, clock
        self.last: dict[str, float] = {}

    def wait(self, key: str) -> None:
        if key in self.last:
            remaining = self.last[key] + self.interval - self.clock()
            if remaining > 0:
                self.sleep(remaining)
        self.last[key] = self.clock()


def activity_sync(*, actor=SYSTEM, account_ids: list[str] | None = None, pacer: Pacer | None = None) -> dict:
    """Read new CloudTrail events of every active account (or ``account_ids``) into ActivityEvent.

    Side effects: ActivityEvent rows upserted; one ActivitySyncCursor per account moved on (its
    error recorded when an account fails; the others go on). At most
    ``ACTIVITY_MAX_LOOKUPS_PER_ACCOUNT`` LookupEvents calls per account. A repeat re-reads the
    overlap window and converges to the same rows; an account leased by a running sync is skipped.
    Returns ``{"accounts", "skipped", "failed", "requests", "events"}``.
    """
    require(actor, "add", ActivitySyncCursor)
    accounts = AwsAccount.objects.filter(status="ACTIVE").select_related("team").order_by("account_id")
    if account_ids is not None:
        accounts = accounts.filter(account_id__in=account_ids)
    pacer = pacer or Pacer(settings.ACTIVITY_LOOKUPS_PER_SECOND)
    summary = {"accounts": 0, "skipped": 0, "failed": 0, "requests": 0, "events": 0}
    portal_arn = None
    for account in accounts:
        if portal_arn is None:
            try:
                portal_arn = aws.portal_identity_arn()
            except AWS_ERRORS as error:
                log.warning("activity sync: cannot tell the portal's own identity (%s)", error)
                portal_arn = ""
        outcome = activity_sync_account(account=account, portal_arn=portal_arn, pacer=pacer)
        if outcome is None:
            summary["skipped"] += 1
            continue
        summary["accounts"] += 1
        summary["requests"] += outcome["requests"]
        summary["events"] += outcome["events"]
        summary["failed"] += 1 if outcome["error"] else 0
    return summary


def _take_lease(account: AwsAccount) -> str | None:
    ActivitySyncCursor.objects.get_or_create(account=account)
    now = timezone.now()
    owner = str(uuid.uuid4())
    taken = ActivitySyncCursor.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now), account=account,
    ).update(lease_until=now + timedelta(seconds=settings.ACTIVITY_LEASE_SECONDS), lease_owner=owner)
    return owner if taken else None


def activity_sync_account(*, account: AwsAccount, portal_arn: str, pacer: Pacer) -> dict | None:
    """One account's share of ``activity_sync``; None when another run holds its lease."""
    owner = _take_lease(account)
    if owner is None:
        return None
    cursor = ActivitySyncCursor.objects.get(account=account)
    now = timezone.now()
    if cursor.next_token:
        start, end, token = cursor.window_start, cursor.window_end, cursor.next_token
    else:
        start, end, token = _new_window(cursor, now)
    requests = events = 0
    error = ""
    try:
        while requests < settings.ACTIVITY_MAX_LOOKUPS_PER_ACCOUNT:
            pacer.wait(account.account_id)
            requests += 1
            try:
                page = aws.lookup_events(account_id=account.account_id, start=start, end=end, next_token=token)
            except aws.TokenExpired:
                start, end, token = _new_window(cursor, timezone.now())   # e.g. the window aged out
                continue
            events += _store(account, page["events"], portal_arn)
            token = page["next_token"]
            if not token:
                break
    except AWS_ERRORS as failure:
        error = f"LookupEvents failed: {failure}"
        log.warning("activity sync of %s: %s", account.account_id, error)
    fields = {"lease_until": None, "lease_owner": "", "last_run_at": timezone.now(), "last_requests": requests,
              "last_events": events, "last_error": error}
    if not error:
        if token:
            fields.update(window_start=start, window_end=end, next_token=token)
        else:
            fields.update(synced_until=end, window_start=None, window_end=None, next_token="")
    ActivitySyncCursor.objects.filter(pk=cursor.pk, lease_owner=owner).update(**fields)
    return {"requests": requests, "events": events, "error": error}


def _new_window(cursor: ActivitySyncCursor, now):
    oldest = now - CLOUDTRAIL_WINDOW + timedelta(minutes=1)
    if cursor.synced_until is None:
        start = now - timedelta(days=settings.ACTIVITY_INITIAL_DAYS)
    else:
        start = cursor.synced_until - timedelta(seconds=settings.ACTIVITY_OVERLAP_SECONDS)
    return max(start, oldest), now, ""


def _store(account: AwsAccount, events: list[dict], portal_arn: str) -> int:
    """Upsert one page of events (its own transaction: a crash later keeps what was read)."""
    if not events:
        return 0
    targets = _targets(account, events)
    role_marker = f":assumed-role/{settings.AWS_MEMBER_ROLE_NAME}/"
    rows = []
    for event in events:
        main = _main_resource(event["resources"])
        target = next((targets[(r["type"], r["name"])] for r in event["resources"]
                       if (r["type"], r["name"]) in targets), None)
        via_portal = role_marker in event["principal_arn"] or (bool(portal_arn) and event["principal_arn"] == portal_arn)
        changed = not event["read_only"] and not event["error_code"]
        rows.append(ActivityEvent(
            account=account, team_id=account.team_id, environment=account.environment,
            event_id=event["event_id"], event_time=event["event_time"], event_name=event["event_name"][:128],
            service=event["event_source"].removesuffix(".amazonaws.com")[:64], username=event["username"][:128],
            principal_arn=event["principal_arn"][:300], identity_type=event["identity_type"][:40],
            access_key_id=event["access_key_id"][:128], source_ip=event["source_ip"][:64],
            read_only=event["read_only"], error_code=event["error_code"][:128],
            resource_type=(main or {}).get("type", "")[:128], resource_name=(main or {}).get("name", "")[:512],
            resources=event["resources"], detail=event["record"],
            target_kind=target[0] if target else "", target_id=target[1] if target else None,
            target_label=target[2][:200] if target else "",
            via_portal=via_portal, out_of_band=bool(target) and changed and not via_portal,
        ))
    with transaction.atomic():
        ActivityEvent.objects.bulk_create(rows, update_conflicts=True, unique_fields=["account", "event_id"],
                                          update_fields=_UPDATE_FIELDS)
    return len(rows)


def _main_resource(resources: list[dict]) -> dict | None:
    for resource_type in MAIN_RESOURCE_ORDER:
        for resource in resources:
            if resource["type"] == resource_type:
                return resource
    return resources[0] if resources else None


def _targets(account: AwsAccount, events: list[dict]) -> dict[tuple[str, str], tuple[str, int, str]]:
    """(resource type, name) -> (target kind, id for its page, label), for resources the portal made.

    One query per kind of resource present on the page (at most four)."""
    from governance.models import Deployment, ModelVersion
    from provisioning.models import ProvisionedProduct, ProvisioningRequest

    names: dict[str, set[str]] = {PP_TYPE: set(), ENDPOINT_TYPE: set(), PACKAGE_TYPE: set()}
    for event in events:
        for resource in event["resources"]:
            if resource["type"] in names and resource["name"]:
                names[resource["type"]].add(resource["name"])
    found: dict[tuple[str, str], tuple[str, int, str]] = {}
    if names[PP_TYPE]:
        products = ProvisionedProduct.objects.filter(Q(pp_id__in=names[PP_TYPE]) | Q(name__in=names[PP_TYPE]),
                                                     account=account).order_by("pk")
        for pp_id, name, request_id in products.values_list("pp_id", "name", "request_id"):
            target = (TargetKind.PROVISIONED_PRODUCT, request_id, f"Provisioned product {name}")
            found[(PP_TYPE, pp_id)] = found[(PP_TYPE, name)] = target
        missing = names[PP_TYPE] - {name for _type, name in found}
        if missing:
            requests = ProvisioningRequest.objects.filter(
                Q(provisioned_product_id__in=missing) | Q(name__in=missing), account=account).order_by("pk")
            for pk, name, pp_id in requests.values_list("pk", "name", "provisioned_product_id"):
                target = (TargetKind.PROVISIONING_REQUEST, pk, f"Provisioning request {name}")
                found[(PP_TYPE, name)] = target
                if pp_id:
                    found[(PP_TYPE, pp_id)] = target
    if names[ENDPOINT_TYPE]:
        deployments = Deployment.objects.filter(endpoint_name__in=names[ENDPOINT_TYPE],
                                                account_id=account.account_id).order_by("pk")
        for endpoint, version_id in deployments.values_list("endpoint_name", "version_id"):
            found[(ENDPOINT_TYPE, endpoint)] = (TargetKind.ENDPOINT, version_id, f"Endpoint {endpoint}")
    if names[PACKAGE_TYPE]:
        versions = ModelVersion.objects.filter(Q(arn__in=names[PACKAGE_TYPE]) | Q(central_arn__in=names[PACKAGE_TYPE]))
        for pk, arn, central_arn, group, number in versions.values_list("pk", "arn", "central_arn", "group__name",
                                                                         "version"):
            target = (TargetKind.MODEL_VERSION, pk, f"Model {group} v{number}")
            found[(PACKAGE_TYPE, arn)] = target
            if central_arn:
                found[(PACKAGE_TYPE, central_arn)] = target
    return found


def activity_purge(*, actor=SYSTEM, now=None) -> int:
    """Delete events older than ``ACTIVITY_RETENTION_DAYS`` in batches (beat, daily). Returns how
    many were deleted; a repeat deletes nothing more."""
    require(actor, "add", ActivitySyncCursor)
    cutoff = (now or timezone.now()) - timedelta(days=settings.ACTIVITY_RETENTION_DAYS)
    deleted = 0
    while True:
        ids = list(ActivityEvent.objects.filter(event_time__lt=cutoff).order_by().values_list("pk", flat=True)[:PURGE_BATCH])
        if not ids:
            return deleted
        deleted += ActivityEvent.objects.filter(pk__in=ids).delete()[0]
