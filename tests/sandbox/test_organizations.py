"""Organizations: the seeded organization, asynchronous CreateAccount with AWS's failure reasons
and limits, structure changes, tags and paging; through the engine, boto3 and the AWS CLI."""
import json
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from sandbox.core import org_layout
from sandbox.core.engine import Config, Sandbox
from sandbox.core.errors import AwsError
from sandbox.core.org_layout import MANAGEMENT_ACCOUNT_ID, ROOT_ID, team_account

FRAUD_DEV = team_account("fraud-detection", "dev")
SANDBOX_OU = org_layout.ou_by_path("Sandbox").id
WORKLOADS_NONPROD = org_layout.ou_by_path("Workloads/NonProd").id


def call(engine, operation, params=None, account_id=MANAGEMENT_ACCOUNT_ID):
    return engine.invoke("organizations", operation, params or {}, account_id=account_id)


def error_of(engine, operation, params=None, account_id=MANAGEMENT_ACCOUNT_ID) -> AwsError:
    with pytest.raises(AwsError) as caught:
        call(engine, operation, params, account_id)
    return caught.value


def list_all(client_call, key, **kwargs):
    items, token = [], None
    while True:
        page = client_call(**kwargs, **({"NextToken": token} if token else {}))
        items += page[key]
        token = page.get("NextToken")
        if not token:
            return items


@pytest.fixture
def slow_engine():
    """Account creation takes 60 s of sandbox time."""
    return Sandbox(Config(account_seconds=60))


# -- the seed -------------------------------------------------------------------------------------
def test_seeded_organization_matches_the_layout(aws):
    organizations = aws("organizations")
    accounts = list_all(organizations.list_accounts, "Accounts", MaxResults=5)
    seeded = {account["Id"]: account for account in accounts if account["Id"] in org_layout.ACCOUNTS_BY_ID}
    assert set(seeded) == set(org_layout.ACCOUNTS_BY_ID)
    fraud_dev = seeded[FRAUD_DEV]
    assert (fraud_dev["Name"], fraud_dev["State"], fraud_dev["JoinedMethod"]) == ("fraud-detection-dev", "ACTIVE",
                                                                                 "CREATED")
    assert fraud_dev["Paths"] == [f"o-mlplatform/r-ml01/ou-ml01-workload/{WORKLOADS_NONPROD}/{FRAUD_DEV}/"]
    assert "Status" not in fraud_dev   # retired on 9 Sep 2026
    roots = organizations.list_roots()["Roots"]
    assert [root["Id"] for root in roots] == [ROOT_ID]
    top = {ou["Name"] for ou in list_all(organizations.list_organizational_units_for_parent, "OrganizationalUnits",
                                         ParentId=ROOT_ID)}
    assert {"Security", "Infrastructure", "Workloads", "Deployments", "Sandbox"} <= top
    tags = organizations.list_tags_for_resource(ResourceId=FRAUD_DEV)["Tags"]
    assert {"Key": "team", "Value": "fraud-detection"} in tags
    organization = organizations.describe_organization()["Organization"]
    assert (organization["Id"], organization["MasterAccountId"]) == ("o-mlplatform", MANAGEMENT_ACCOUNT_ID)


def test_structure_navigation(aws):
    organizations = aws("organizations")
    ou = organizations.describe_organizational_unit(OrganizationalUnitId=WORKLOADS_NONPROD)["OrganizationalUnit"]
    assert ou["Name"] == "NonProd" and ou["Path"] == f"o-mlplatform/r-ml01/ou-ml01-workload/{WORKLOADS_NONPROD}/"
    assert organizations.list_parents(ChildId=FRAUD_DEV)["Parents"] == [
        {"Id": WORKLOADS_NONPROD, "Type": "ORGANIZATIONAL_UNIT"}]
    assert organizations.list_parents(ChildId="ou-ml01-workload")["Parents"] == [{"Id": ROOT_ID, "Type": "ROOT"}]
    children = organizations.list_children(ParentId="ou-ml01-workload", ChildType="ORGANIZATIONAL_UNIT")["Children"]
    assert {child["Id"] for child in children} == {"ou-ml01-wkldprod", WORKLOADS_NONPROD}
    accounts = list_all(organizations.list_accounts_for_parent, "Accounts", ParentId=WORKLOADS_NONPROD)
    assert {account["Name"] for account in accounts} >= {"fraud-detection-dev", "credit-risk-dev", "marketing-ml-dev"}
    with pytest.raises(ClientError) as caught:
        organizations.list_children(ParentId="ou-ml01-zzzzzzzz", ChildType="ACCOUNT")
    assert caught.value.response["Error"]["Code"] == "ParentNotFoundException"


def test_member_accounts_cannot_read_the_organization_structure(aws):
    member = aws("organizations", account_id=FRAUD_DEV)
    assert member.describe_organization()["Organization"]["Id"] == "o-mlplatform"
    with pytest.raises(ClientError) as caught:
        member.list_accounts()
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"


# -- CreateAccount --------------------------------------------------------------------------------
def test_create_account_is_asynchronous(slow_engine):
    status = call(slow_engine, "CreateAccount", {"Email": "vision-dev@example.com", "AccountName": "vision-dev"})[
        "CreateAccountStatus"]
    assert status["State"] == "IN_PROGRESS" and "AccountId" not in status and "CompletedTimestamp" not in status
    assert status["Id"].startswith("car-")
    names = {account["Name"] for account in call(slow_engine, "ListAccounts", {"MaxResults": 20})["Accounts"]}
    assert "vision-dev" not in names
    slow_engine.advance_clock(61)
    done = call(slow_engine, "DescribeCreateAccountStatus", {"CreateAccountRequestId": status["Id"]})[
        "CreateAccountStatus"]
    assert done["State"] == "SUCCEEDED" and len(done["AccountId"]) == 12
    account = call(slow_engine, "DescribeAccount", {"AccountId": done["AccountId"]})["Account"]
    assert (account["Name"], account["Email"], account["State"], account["JoinedMethod"]) == (
        "vision-dev", "vision-dev@example.com", "ACTIVE", "CREATED")
    assert call(slow_engine, "ListParents", {"ChildId": done["AccountId"]})["Parents"][0]["Id"] == ROOT_ID


def test_created_account_gets_admin_and_portal_roles_once_created(slow_engine):
    status = call(slow_engine, "CreateAccount", {"Email": "roles@example.com", "AccountName": "roles"})[
        "CreateAccountStatus"]
    account_id = slow_engine.state["organizations"]["requests"][status["Id"]]["AccountId"]
    role_arn = f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole"
    assume = {"RoleArn": role_arn, "RoleSessionName": "bootstrap"}
    with pytest.raises(AwsError) as caught:
        slow_engine.invoke("sts", "AssumeRole", assume, account_id=MANAGEMENT_ACCOUNT_ID)
    assert caught.value.code == "AccessDenied"
    slow_engine.advance_clock(60)
    slow_engine.invoke("sts", "AssumeRole", assume, account_id=MANAGEMENT_ACCOUNT_ID)
    slow_engine.invoke("sts", "AssumeRole", {**assume, "RoleArn": f"arn:aws:iam::{account_id}:role/PortalExecutionRole"},
                       account_id=MANAGEMENT_ACCOUNT_ID)


def test_email_already_used_fails_asynchronously(slow_engine):
    used = org_layout.ACCOUNTS_BY_ID[FRAUD_DEV].email.upper()
    status = call(slow_engine, "CreateAccount", {"Email": used, "AccountName": "dup"})["CreateAccountStatus"]
    assert status["State"] == "IN_PROGRESS"
    slow_engine.advance_clock(60)
    done = call(slow_engine, "DescribeCreateAccountStatus", {"CreateAccountRequestId": status["Id"]})[
        "CreateAccountStatus"]
    assert (done["State"], done["FailureReason"]) == ("FAILED", "EMAIL_ALREADY_EXISTS")
    assert "AccountId" not in done


def test_same_email_while_in_flight_is_a_concurrent_modification(slow_engine):
    first = call(slow_engine, "CreateAccount", {"Email": "twice@example.com", "AccountName": "twice"})
    second = call(slow_engine, "CreateAccount", {"Email": "twice@example.com", "AccountName": "twice"})
    slow_engine.advance_clock(60)
    states = [call(slow_engine, "DescribeCreateAccountStatus", {"CreateAccountRequestId": answer[
        "CreateAccountStatus"]["Id"]})["CreateAccountStatus"] for answer in (first, second)]
    assert states[0]["State"] == "SUCCEEDED"
    assert (states[1]["State"], states[1]["FailureReason"]) == ("FAILED", "CONCURRENT_ACCOUNT_MODIFICATION")
    ledger = [entry for entry in slow_engine.ledger if entry["operation"] == "CreateAccount"]
    assert [entry["key"] for entry in ledger] == ["twice@example.com", "twice@example.com"]


@pytest.mark.parametrize("email", ['"quoted"@example.com', ".dot@example.com", "name@-example.com", "x@exam_ple.com"])
def test_addresses_aws_refuses_fail_with_invalid_email(engine, email):
    status = call(engine, "CreateAccount", {"Email": email, "AccountName": "bad mail"})["CreateAccountStatus"]
    assert (status["State"], status["FailureReason"]) == ("FAILED", "INVALID_EMAIL")


def test_account_limit(engine):
    engine.config.max_accounts = len(org_layout.ACCOUNTS)
    status = call(engine, "CreateAccount", {"Email": "over@example.com", "AccountName": "over"})["CreateAccountStatus"]
    assert (status["State"], status["FailureReason"]) == ("FAILED", "ACCOUNT_LIMIT_EXCEEDED")


def test_scripted_record_failure_fails_the_next_creation(engine):
    engine.faults.add({"kind": "record_failure", "service": "organizations", "count": 1})
    failed = call(engine, "CreateAccount", {"Email": "f1@example.com", "AccountName": "f1"})["CreateAccountStatus"]
    passed = call(engine, "CreateAccount", {"Email": "f2@example.com", "AccountName": "f2"})["CreateAccountStatus"]
    assert (failed["State"], failed["FailureReason"]) == ("FAILED", "INTERNAL_FAILURE")
    assert passed["State"] == "SUCCEEDED"


def test_concurrent_creations_are_limited(slow_engine):
    for index in range(slow_engine.config.max_concurrent_account_operations):
        call(slow_engine, "CreateAccount", {"Email": f"c{index}@example.com", "AccountName": f"c{index}"})
    error = error_of(slow_engine, "CreateAccount", {"Email": "c9@example.com", "AccountName": "c9"})
    assert (error.code, error.extra["Reason"]) == ("ConstraintViolationException",
                                                   "ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED")
    assert len(slow_engine.state["organizations"]["requests"]) == 5   # the refused call left nothing behind
    slow_engine.advance_clock(60)
    call(slow_engine, "CreateAccount", {"Email": "c9@example.com", "AccountName": "c9"})


@pytest.mark.parametrize("params, reason", [
    ({"Email": "ok@example.com", "AccountName": "x" * 51}, "MAX_LENGTH_EXCEEDED"),
    ({"Email": "ok@example.com", "AccountName": "caf\u00e9"}, "INVALID_PATTERN"),
    ({"Email": "not-an-email", "AccountName": "x"}, "INVALID_PATTERN"),
    ({"Email": "a" * 60 + "@example.com", "AccountName": "x"}, "MAX_LENGTH_EXCEEDED"),
    ({"Email": "ok@example.com", "AccountName": "x", "IamUserAccessToBilling": "MAYBE"}, "INVALID_ENUM"),
    ({"Email": "ok@example.com", "AccountName": "x", "RoleName": "bad role"}, "INVALID_PATTERN"),
])
def test_create_account_input_validation(aws, params, reason):
    with pytest.raises(ClientError) as caught:
        aws("organizations").create_account(**params)
    error = caught.value.response
    assert (error["Error"]["Code"], error["Reason"]) == ("InvalidInputException", reason)


def test_create_account_from_a_member_account_is_denied(engine):
    error = error_of(engine, "CreateAccount", {"Email": "m@example.com", "AccountName": "m"}, account_id=FRAUD_DEV)
    assert error.code == "AccessDeniedException"


def test_create_account_tags_land_on_the_account(engine):
    status = call(engine, "CreateAccount", {"Email": "tagged@example.com", "AccountName": "tagged",
                                            "Tags": [{"Key": "team", "Value": "vision"}]})["CreateAccountStatus"]
    tags = call(engine, "ListTagsForResource", {"ResourceId": status["AccountId"]})["Tags"]
    assert tags == [{"Key": "team", "Value": "vision"}]


def test_describe_unknown_create_account_request(aws):
    with pytest.raises(ClientError) as caught:
        aws("organizations").describe_create_account_status(CreateAccountRequestId="car-0123456789abcdef")
    assert caught.value.response["Error"]["Code"] == "CreateAccountStatusNotFoundException"


def test_list_create_account_status_filters_after_paging(slow_engine):
    call(slow_engine, "CreateAccount", {"Email": "p1@example.com", "AccountName": "p1"})
    slow_engine.advance_clock(60)
    call(slow_engine, "CreateAccount", {"Email": "p2@example.com", "AccountName": "p2"})
    first = call(slow_engine, "ListCreateAccountStatus", {"States": ["SUCCEEDED"], "MaxResults": 1})
    assert first["CreateAccountStatuses"] == [] and first["NextToken"]   # newest is IN_PROGRESS
    second = call(slow_engine, "ListCreateAccountStatus", {"States": ["SUCCEEDED"], "MaxResults": 1,
                                                           "NextToken": first["NextToken"]})
    assert [status["AccountName"] for status in second["CreateAccountStatuses"]] == ["p1"]
    assert "NextToken" not in second
    error = error_of(slow_engine, "ListCreateAccountStatus", {"NextToken": "garbage"})
    assert (error.code, error.extra["Reason"]) == ("InvalidInputException", "INVALID_NEXT_TOKEN")


def test_create_account_and_poll_through_boto3(aws, sandbox_server):
    organizations = aws("organizations")
    status = organizations.create_account(Email="boto-vend@example.com", AccountName="boto vend")[
        "CreateAccountStatus"]
    assert status["State"] == "SUCCEEDED"   # the session server's durations are zero
    listed = list_all(organizations.list_create_account_status, "CreateAccountStatuses", States=["SUCCEEDED"])
    assert status["Id"] in {entry["Id"] for entry in listed}
    account = organizations.describe_account(AccountId=status["AccountId"])["Account"]
    assert account["Email"] == "boto-vend@example.com"
    assert sandbox_server.engine.ledger[-1]["key"] == "boto-vend@example.com"


# -- Account Factory's internal operation ----------------------------------------------------------
def test_vend_account_creates_in_the_requested_ou_with_extra_roles(engine):
    answer = engine.invoke("organizations", "_VendAccount", {
        "AccountName": "vision-prod", "AccountEmail": "vision-prod@example.com", "ParentId": SANDBOX_OU,
        "Tags": [{"Key": "team", "Value": "vision"}], "ExtraRoles": [org_layout.CONTROL_TOWER_ROLE]},
        account_id=MANAGEMENT_ACCOUNT_ID, internal=True)
    account_id = answer["AccountId"]
    assert answer["CreateAccountStatus"]["State"] == "SUCCEEDED"
    assert call(engine, "ListParents", {"ChildId": account_id})["Parents"] == [
        {"Id": SANDBOX_OU, "Type": "ORGANIZATIONAL_UNIT"}]
    roles = engine.state["iam"]["roles"][account_id]
    assert set(roles) == {org_layout.PORTAL_ROLE, org_layout.CONTROL_TOWER_ROLE}


def test_vend_account_raises_the_failure_reason(engine):
    used = org_layout.ACCOUNTS_BY_ID[FRAUD_DEV].email
    with pytest.raises(AwsError) as caught:
        engine.invoke("organizations", "_VendAccount", {"AccountName": "dup", "AccountEmail": used,
                                                        "ParentId": SANDBOX_OU},
                      account_id=MANAGEMENT_ACCOUNT_ID, internal=True)
    assert caught.value.code == "EMAIL_ALREADY_EXISTS"
    statuses = call(engine, "ListCreateAccountStatus", {"States": ["FAILED"]})["CreateAccountStatuses"]
    assert [status["AccountName"] for status in statuses] == ["dup"]


def test_internal_operations_are_not_reachable_over_http(sandbox_server):
    request = urllib.request.Request(sandbox_server.url, method="POST", data=b"{}", headers={
        "X-Amz-Target": "AWSOrganizationsV20161128._VendAccount", "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/organizations/aws4_request, "
                         "SignedHeaders=host, Signature=0"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 501
    assert json.loads(caught.value.read())["__type"] == "NotImplementedException"


# -- changing the structure -----------------------------------------------------------------------
def test_move_account_rules(engine):
    move = {"AccountId": FRAUD_DEV, "SourceParentId": WORKLOADS_NONPROD, "DestinationParentId": SANDBOX_OU}
    call(engine, "MoveAccount", move)
    assert call(engine, "ListParents", {"ChildId": FRAUD_DEV})["Parents"][0]["Id"] == SANDBOX_OU
    assert error_of(engine, "MoveAccount", {**move, "SourceParentId": SANDBOX_OU}).code == "DuplicateAccountException"
    assert error_of(engine, "MoveAccount", {**move, "SourceParentId": "ou-ml01-zzzzzzzz",
                                            "DestinationParentId": ROOT_ID}).code == "SourceParentNotFoundException"
    assert error_of(engine, "MoveAccount", {**move, "SourceParentId": SANDBOX_OU,
                                            "DestinationParentId": "ou-ml01-zzzzzzzz"}).code == (
        "DestinationParentNotFoundException")
    assert error_of(engine, "MoveAccount", {**move, "AccountId": "999999999999", "SourceParentId": SANDBOX_OU,
                                            "DestinationParentId": ROOT_ID}).code == "AccountNotFoundException"
    bad = error_of(engine, "MoveAccount", {**move, "DestinationParentId": "nope"})
    assert (bad.code, bad.extra["Reason"]) == ("InvalidInputException", "INVALID_PATTERN")


def test_organizational_unit_lifecycle(engine):
    created = call(engine, "CreateOrganizationalUnit", {"ParentId": SANDBOX_OU, "Name": "Experiments"})[
        "OrganizationalUnit"]
    assert created["Path"] == f"o-mlplatform/r-ml01/{SANDBOX_OU}/{created['Id']}/"
    duplicate = error_of(engine, "CreateOrganizationalUnit", {"ParentId": SANDBOX_OU, "Name": "Experiments"})
    assert duplicate.code == "DuplicateOrganizationalUnitException"
    renamed = call(engine, "UpdateOrganizationalUnit", {"OrganizationalUnitId": created["Id"], "Name": "Labs"})
    assert renamed["OrganizationalUnit"]["Name"] == "Labs"
    call(engine, "MoveAccount", {"AccountId": FRAUD_DEV, "SourceParentId": WORKLOADS_NONPROD,
                                 "DestinationParentId": created["Id"]})
    assert error_of(engine, "DeleteOrganizationalUnit", {"OrganizationalUnitId": created["Id"]}).code == (
        "OrganizationalUnitNotEmptyException")
    call(engine, "MoveAccount", {"AccountId": FRAUD_DEV, "SourceParentId": created["Id"],
                                 "DestinationParentId": WORKLOADS_NONPROD})
    call(engine, "DeleteOrganizationalUnit", {"OrganizationalUnitId": created["Id"]})
    assert error_of(engine, "DescribeOrganizationalUnit", {"OrganizationalUnitId": created["Id"]}).code == (
        "OrganizationalUnitNotFoundException")


def test_close_account_goes_pending_then_closed(slow_engine):
    call(slow_engine, "CloseAccount", {"AccountId": FRAUD_DEV})
    assert call(slow_engine, "DescribeAccount", {"AccountId": FRAUD_DEV})["Account"]["State"] == "PENDING_CLOSURE"
    assert error_of(slow_engine, "CloseAccount", {"AccountId": FRAUD_DEV}).code == "AccountAlreadyClosedException"
    slow_engine.advance_clock(60)
    assert call(slow_engine, "DescribeAccount", {"AccountId": FRAUD_DEV})["Account"]["State"] == "CLOSED"
    management = error_of(slow_engine, "CloseAccount", {"AccountId": MANAGEMENT_ACCOUNT_ID})
    assert management.extra["Reason"] == "CANNOT_CLOSE_MANAGEMENT_ACCOUNT"


def test_close_account_quota_per_30_days(engine):
    members = [account.id for account in org_layout.ACCOUNTS if account.id != MANAGEMENT_ACCOUNT_ID]
    for account_id in members[:10]:
        call(engine, "CloseAccount", {"AccountId": account_id})
    error = error_of(engine, "CloseAccount", {"AccountId": members[10]})
    assert error.extra["Reason"] == "CLOSE_ACCOUNT_QUOTA_EXCEEDED"
    engine.advance_clock(timedelta(days=31).total_seconds())
    call(engine, "CloseAccount", {"AccountId": members[10]})


# -- tags and paging ------------------------------------------------------------------------------
def test_tag_untag_and_list_tags(aws):
    organizations = aws("organizations")
    organizations.tag_resource(ResourceId=SANDBOX_OU, Tags=[{"Key": "owner", "Value": "platform"},
                                                            {"Key": "tier", "Value": ""}])
    organizations.tag_resource(ResourceId=SANDBOX_OU, Tags=[{"Key": "owner", "Value": "ml-platform"}])
    tags = {tag["Key"]: tag["Value"] for tag in organizations.list_tags_for_resource(ResourceId=SANDBOX_OU)["Tags"]}
    assert tags == {"owner": "ml-platform", "tier": ""}
    organizations.untag_resource(ResourceId=SANDBOX_OU, TagKeys=["owner", "absent"])
    assert organizations.list_tags_for_resource(ResourceId=SANDBOX_OU)["Tags"] == [{"Key": "tier", "Value": ""}]
    with pytest.raises(ClientError) as caught:
        organizations.tag_resource(ResourceId="999999999999", Tags=[{"Key": "a", "Value": "b"}])
    assert caught.value.response["Error"]["Code"] == "TargetNotFoundException"


def test_tag_limit(engine):
    tags = [{"Key": f"k{index}", "Value": "v"} for index in range(51)]
    error = error_of(engine, "TagResource", {"ResourceId": FRAUD_DEV, "Tags": tags})
    assert error.extra["Reason"] == "MAX_TAG_LIMIT_EXCEEDED"
    duplicate = error_of(engine, "TagResource", {"ResourceId": FRAUD_DEV, "Tags": [{"Key": "a", "Value": "1"},
                                                                                  {"Key": "a", "Value": "2"}]})
    assert duplicate.extra["Reason"] == "DUPLICATE_TAG_KEY"


def test_paging_through_boto3_paginator(aws):
    paginator = aws("organizations").get_paginator("list_accounts")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 4}))
    assert all(len(page["Accounts"]) <= 4 for page in pages) and len(pages) >= 4
    ids = [account["Id"] for page in pages for account in page["Accounts"]]
    assert len(ids) == len(set(ids)) >= len(org_layout.ACCOUNTS)
    with pytest.raises(ClientError) as caught:
        aws("organizations").list_accounts(MaxResults=21)
    assert caught.value.response["Reason"] == "MAX_VALUE_EXCEEDED"
