"""The observability app's AWS calls (the only boto3 here): CloudTrail LookupEvents, read as plain data."""
import json
from datetime import datetime

from botocore.exceptions import ClientError

from portal.aws import client

MAX_RESULTS = 50       # LookupEvents' page size limit (AWS_API_turn2.md §3)


class TokenExpired(Exception):
    """LookupEvents refused the NextToken (InvalidNextTokenException): it no longer fits the window."""


def lookup_events(*, account_id: str, start: datetime, end: datetime, next_token: str = "") -> dict:
    """One LookupEvents page of ``account_id``'s management events in [start, end], newest first:
    ``{"events": [plain event], "next_token": str}``. Raises TokenExpired for a token that no
    longer fits the window, botocore's errors (portal.aws.AWS_ERRORS) otherwise."""
    params = {"StartTime": start, "EndTime": end, "MaxResults": MAX_RESULTS}
    if next_token:
        params["NextToken"] = next_token
    try:
        response = client("cloudtrail", account_id).lookup_events(**params)
    except ClientError as failure:
        if next_token and failure.response["Error"]["Code"] == "InvalidNextTokenException":
            raise TokenExpired(failure.response["Error"].get("Message", "")) from failure
        raise
    return {"events": [_plain(event) for event in response.get("Events", [])],
            "next_token": response.get("NextToken") or ""}


def portal_identity_arn() -> str:
    """The ARN of the portal's own hub credentials (its calls in the hub account are the portal's)."""
    return client("sts").get_caller_identity()["Arn"]


def _plain(event: dict) -> dict:
    try:
        record = json.loads(event.get("CloudTrailEvent") or "{}")
    except ValueError:
        record = {}
    identity = record.get("userIdentity") or {}
    return {
        "event_id": event["EventId"], "event_name": event.get("EventName", ""), "event_time": event["EventTime"],
        "event_source": event.get("EventSource", ""), "username": event.get("Username", ""),
        "access_key_id": event.get("AccessKeyId", ""), "read_only": event.get("ReadOnly") == "true",
        "resources": [{"type": r.get("ResourceType", ""), "name": r.get("ResourceName", "")}
                      for r in event.get("Resources", [])],
        "principal_arn": identity.get("arn", ""), "identity_type": identity.get("type", ""),
        "source_ip": record.get("sourceIPAddress", ""), "error_code": record.get("errorCode", ""),
        "record": record,
    }
