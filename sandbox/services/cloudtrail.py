"""CloudTrail LookupEvents, answered from the sandbox's ledger of management calls.

Every mutating call the sandbox ledgers (its own handlers and the calls moto answered) is a
management event of the account and Region it was made in, with the caller as AWS records it:
the identity the access key belonged to at call time (an assumed-role session, an IAM user or
the account's root), the source IP, the request and response members (secrets and blobs
dropped), and the resources named in them. What AWS does not show in LookupEvents is left out:
data events (S3 object calls, SageMaker runtime) and read-only calls (the ledger keeps writes
only, so ``ReadOnly=true`` finds nothing). AWS_API_turn2.md §3: the last 90 days, one lookup
attribute, ``MaxResults`` 1-50, newest first, ``NextToken`` valid only with the same parameters.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta

from sandbox.core.errors import AwsError
from sandbox.core.paging import decode_token, encode_token
from sandbox.core.registry import operation

WINDOW = timedelta(days=90)
MAX_RESULTS = 50
_EVENT_NAMESPACE = uuid.UUID("6f1d3c2e-8a4b-4e55-9a57-5c2b1d0e7f10")
# Data events: not in LookupEvents (AWS logs them only to trails that select them).
_S3_DATA_EVENTS = {
    "PutObject", "DeleteObject", "DeleteObjects", "CopyObject", "PutObjectAcl", "PutObjectTagging",
    "DeleteObjectTagging", "PutObjectRetention", "PutObjectLegalHold", "CreateMultipartUpload", "UploadPart",
    "UploadPartCopy", "CompleteMultipartUpload", "AbortMultipartUpload", "RestoreObject",
}
_DATA_SERVICES = {"sagemaker-runtime", "s3-object-lambda"}
# Request/response members that name a resource -> CloudTrail's resource type.
_RESOURCE_MEMBERS = {
    "ProvisionedProductName": "AWS::ServiceCatalog::CloudFormationProvisionedProduct",
    "ProvisionedProductId": "AWS::ServiceCatalog::CloudFormationProvisionedProduct",
    "ProductId": "AWS::ServiceCatalog::CloudFormationProduct",
    "PortfolioId": "AWS::ServiceCatalog::Portfolio",
    "EndpointName": "AWS::SageMaker::Endpoint",
    "EndpointConfigName": "AWS::SageMaker::EndpointConfig",
    "ModelName": "AWS::SageMaker::Model",
    "ModelPackageGroupName": "AWS::SageMaker::ModelPackageGroup",
    "ModelPackageArn": "AWS::SageMaker::ModelPackage",
    "ModelCardName": "AWS::SageMaker::ModelCard",
    "DomainId": "AWS::SageMaker::Domain",
    "UserProfileName": "AWS::SageMaker::UserProfile",
    "ProjectName": "AWS::SageMaker::Project",
    "RoleName": "AWS::IAM::Role",
    "RoleArn": "AWS::IAM::Role",
    "UserName": "AWS::IAM::User",
    "bucketName": "AWS::S3::Bucket",
    "Bucket": "AWS::S3::Bucket",
    "AccountId": "AWS::Organizations::Account",
    "ResourceShareArn": "AWS::RAM::ResourceShare",
}
# ARN "service:resource-type" -> resource type, for members that carry any ARN (tagging calls).
_ARN_TYPES = {
    "sagemaker:endpoint": "AWS::SageMaker::Endpoint", "sagemaker:model-package": "AWS::SageMaker::ModelPackage",
    "sagemaker:model-package-group": "AWS::SageMaker::ModelPackageGroup", "sagemaker:domain": "AWS::SageMaker::Domain",
    "sagemaker:model-card": "AWS::SageMaker::ModelCard", "sagemaker:project": "AWS::SageMaker::Project",
    "servicecatalog:stack": "AWS::ServiceCatalog::CloudFormationProvisionedProduct",
    "iam:role": "AWS::IAM::Role",
}
_ATTRIBUTES = ("EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource",
               "AccessKeyId")


def _error(code: str, message: str) -> AwsError:
    return AwsError(code, message)


@operation("cloudtrail", "LookupEvents", mutating=False)
def lookup_events(ctx, params):
    """The caller account's management events in this Region, newest first (read-only, not ledgered)."""
    attributes = params.get("LookupAttributes") or []
    if len(attributes) > 1:
        raise _error("InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.")
    attribute = attributes[0] if attributes else None
    if attribute is not None:
        if attribute["AttributeKey"] not in _ATTRIBUTES:
            raise _error("InvalidLookupAttributesException",
                         f"{attribute['AttributeKey']} is not a valid lookup attribute key.")
        if attribute["AttributeKey"] == "ReadOnly" and attribute["AttributeValue"] not in ("true", "false"):
            raise _error("InvalidLookupAttributesException", "The value of ReadOnly must be true or false.")
        if len(attribute["AttributeValue"]) > 2000:
            raise _error("InvalidLookupAttributesException", "The attribute value is longer than 2000 characters.")
    if params.get("EventCategory") not in (None, "insight"):
        raise _error("InvalidEventCategoryException", "The event category is not valid.")
    max_results = params.get("MaxResults")
    if max_results is not None and not 1 <= max_results <= MAX_RESULTS:
        raise _error("InvalidMaxResultsException", f"MaxResults must be between 1 and {MAX_RESULTS}.")
    now = ctx.now()
    start, end = params.get("StartTime"), params.get("EndTime")
    if start is not None and end is not None and start > end:
        raise _error("InvalidTimeRangeException", "Start time must be before or equal to end time.")
    oldest = now - WINDOW
    start = max(start, oldest) if start is not None else oldest
    end = min(end, now) if end is not None else now
    scope = _token_scope(params)
    before_seq = None
    if params.get("NextToken"):
        before_seq = decode_token(params["NextToken"], scope)
        if before_seq is None:
            raise _error("InvalidNextTokenException", "Invalid NextToken. The token must come from a request "
                                                      "with the same parameters.")
    if params.get("EventCategory") == "insight":
        return {"Events": []}     # no trail here has Insights turned on
    size = max_results or MAX_RESULTS
    found: list[dict] = []
    more = False
    for entry in reversed(ctx.sandbox.ledger):      # seq order is time order: newest first
        if before_seq is not None and entry["seq"] >= before_seq:
            continue
        if entry["account"] != ctx.account_id or entry["region"] != ctx.region or not _is_management(entry):
            continue
        when = datetime.fromisoformat(entry["time"])
        if when > end:
            continue
        if when < start:
            break
        event = event_of(entry)
        if attribute is not None and not _matches(event, attribute):
            continue
        if len(found) == size:
            more = True
            break
        found.append(event)
    result = {"Events": found}
    if more:
        result["NextToken"] = encode_token(found[-1]["_seq"], scope)
    for event in found:
        del event["_seq"]
    return result


def _token_scope(params: dict) -> str:
    """Tokens are bound to the request's other parameters, as AWS's are."""
    same = {key: params.get(key) for key in ("LookupAttributes", "StartTime", "EndTime", "EventCategory")}
    text = json.dumps(same, sort_keys=True, default=str)
    return "LookupEvents:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _is_management(entry: dict) -> bool:
    if entry["service"] in _DATA_SERVICES or entry["operation"].startswith("_"):   # "_": sandbox-internal
        return False
    return not (entry["service"] == "s3" and entry["operation"] in _S3_DATA_EVENTS)


def _matches(event: dict, attribute: dict) -> bool:
    key, value = attribute["AttributeKey"], attribute["AttributeValue"]
    if key == "ResourceType":
        return any(resource.get("ResourceType") == value for resource in event["Resources"])
    if key == "ResourceName":
        return any(resource.get("ResourceName") == value for resource in event["Resources"])
    return event.get(key) == value


def event_id(entry: dict) -> str:
    """Stable per ledger entry (a reset starts seq again at 1, so the time is part of it)."""
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{entry['seq']}|{entry['time']}|{entry['account']}"))


def _event_source(service: str) -> str:
    return f"{service}.amazonaws.com"


def _username(identity: dict) -> str:
    if identity["type"] == "AssumedRole":
        return identity["session_name"]
    if identity["type"] == "IAMUser":
        return identity["user_name"]
    return "root"


def resources_of(trail: dict) -> list[dict]:
    """The resources named in the request (and the response of a create), without repeats."""
    found: list[dict] = []
    seen: set[tuple] = set()

    def add(resource_type, name):
        if not isinstance(name, str) or not name or (resource_type, name) in seen:
            return
        seen.add((resource_type, name))
        found.append({**({"ResourceType": resource_type} if resource_type else {}), "ResourceName": name})

    def walk(document, depth=0):
        if not isinstance(document, dict) or depth > 2:
            return
        for member, value in document.items():
            if member in _RESOURCE_MEMBERS:
                add(_RESOURCE_MEMBERS[member], value)
            elif member in ("ResourceArn", "ResourceARN", "Arn") and isinstance(value, str):
                add(_arn_type(value), value)
            elif isinstance(value, dict):
                walk(value, depth + 1)

    walk(trail.get("request"))
    walk(trail.get("response"))
    return found


def _arn_type(arn: str) -> str | None:
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None
    resource = parts[5].split("/", 1)[0]
    return _ARN_TYPES.get(f"{parts[2]}:{resource}")


def _user_identity(identity: dict, access_key: str | None) -> dict:
    """CloudTrail's userIdentity element for the caller."""
    if identity["type"] == "AssumedRole":
        role_name = identity["role_arn"].rsplit("/", 1)[-1]
        role_id = identity["principal"].split(":", 1)[0]
        return {
            "type": "AssumedRole", "principalId": identity["principal"], "arn": identity["arn"],
            "accountId": identity["account"], "accessKeyId": access_key,
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": role_id, "arn": identity["role_arn"],
                                  "accountId": identity["account"], "userName": role_name},
                "attributes": {"creationDate": _zulu(identity.get("issued")), "mfaAuthenticated": "false"},
            },
        }
    document = {"type": identity["type"], "principalId": identity["principal"], "arn": identity["arn"],
                "accountId": identity["account"]}
    if access_key:
        document["accessKeyId"] = access_key
    if identity["type"] == "IAMUser":
        document["userName"] = identity["user_name"]
    return document


def _zulu(iso: str | None) -> str | None:
    if not iso:
        return None
    return datetime.fromisoformat(iso).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_of(entry: dict) -> dict:
    """The LookupEvents ``Event`` of one ledger entry (``_seq`` kept for paging)."""
    trail = entry.get("trail") or {"identity": {"type": "Root", "arn": f"arn:aws:iam::{entry['account']}:root",
                                                "account": entry["account"], "principal": entry["account"]},
                                   "access_key": None, "source_ip": "AWS Internal", "request": None,
                                   "response": None, "error_message": None}
    identity = trail["identity"]
    access_key = trail.get("access_key")
    identifier = event_id(entry)
    record = {
        "eventVersion": "1.09", "userIdentity": _user_identity(identity, access_key),
        "eventTime": _zulu(entry["time"]), "eventSource": _event_source(entry["service"]),
        "eventName": entry["operation"], "awsRegion": entry["region"],
        "sourceIPAddress": trail.get("source_ip") or "AWS Internal",
        "userAgent": "sandbox", "requestParameters": trail.get("request"),
        "responseElements": trail.get("response"),
        "requestID": str(uuid.uuid5(_EVENT_NAMESPACE, f"request|{identifier}")), "eventID": identifier,
        "readOnly": False, "eventType": "AwsApiCall", "managementEvent": True,
        "recipientAccountId": entry["account"], "eventCategory": "Management",
    }
    if entry["outcome"] != "ok":
        record["errorCode"] = entry["outcome"]
        record["errorMessage"] = trail.get("error_message") or entry["outcome"]
    resources = resources_of(trail)
    if resources:
        record["resources"] = [{"type": r.get("ResourceType"), "ARN" if r["ResourceName"].startswith("arn:") else "name":
                                r["ResourceName"], "accountId": entry["account"]} for r in resources]
    event = {
        "EventId": identifier, "EventName": entry["operation"], "ReadOnly": "false",
        "EventTime": datetime.fromisoformat(entry["time"]), "EventSource": _event_source(entry["service"]),
        "Username": _username(identity), "Resources": resources,
        "CloudTrailEvent": json.dumps(record, separators=(",", ":")), "_seq": entry["seq"],
    }
    if access_key:
        event["AccessKeyId"] = access_key
    return event
