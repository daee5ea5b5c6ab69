"""AWS RAM (sandbox/services/ram.py): sharing SageMaker model cards, associations, managed
permissions, invitations for accounts outside the organization, idempotency and paging."""
import json

import pytest
from botocore.exceptions import ClientError

from sandbox.core.errors import AwsError
from sandbox.core.org_layout import ORGANIZATION_ID, ou_by_path
from sandbox.services.ram import MANAGED_PERMISSIONS, ORGANIZATION_ARN
from tests.sandbox.helpers import service_caller

OWNER = "222222222203"
DEV = "333333333311"         # fraud-detection-dev, in Workloads/NonProd
PROD = "333333333313"        # fraud-detection-prod, in Deployments/Prod
OUTSIDER = "999999999999"    # not in the organization
DEFAULT_PERMISSION, EXPORT_PERMISSION = MANAGED_PERMISSIONS
CARD_CONTENT = json.dumps({"model_overview": {"model_name": "fraud-xgboost"}})


call, error_of = service_caller("ram", OWNER)


def card(engine, name="fraud-card", account=OWNER) -> str:
    params = {"ModelCardName": name, "Content": CARD_CONTENT, "ModelCardStatus": "Draft"}
    return engine.invoke("sagemaker", "CreateModelCard", params, account_id=account)["ModelCardArn"]


def share(engine, **params) -> dict:
    return call(engine, "CreateResourceShare", name=params.pop("name", "cards"), **params)["resourceShare"]


def associations(engine, share_arn, kind, account=OWNER) -> dict:
    found = call(engine, "GetResourceShareAssociations", account, associationType=kind,
                 resourceShareArns=[share_arn])["resourceShareAssociations"]
    return {a["associatedEntity"]: a["status"] for a in found}


def can_describe(engine, card_arn, account) -> bool:
    """Whether ``account`` may describe the card by ARN (what the share grants it)."""
    try:
        engine.invoke("sagemaker", "DescribeModelCard", {"ModelCardName": card_arn}, account_id=account)
    except AwsError as error:
        assert error.code == "AccessDeniedException"
        return False
    return True


# -- permissions ----------------------------------------------------------------------------------
def test_list_permissions_for_model_cards(engine):
    permissions = call(engine, "ListPermissions", resourceType="sagemaker:ModelCard")["permissions"]
    assert [(p["arn"], p["isResourceTypeDefault"]) for p in permissions] == [
        ("arn:aws:ram::aws:permission/AWSRAMPermissionSageMakerModelCards", True),
        ("arn:aws:ram::aws:permission/AWSRAMPermissionSageMakerModelCardsAllowExport", False)]
    assert {p["permissionType"] for p in permissions} == {"AWS_MANAGED"}
    assert call(engine, "ListPermissions", resourceType="sagemaker:ModelCard",
                permissionType="CUSTOMER_MANAGED")["permissions"] == []
    assert error_of(engine, "ListPermissions", resourceType="sagemaker:Bogus").code == "InvalidParameterException"
    assert error_of(engine, "ListPermissions", permissionType="MINE").code == "InvalidParameterException"


# -- creating shares ------------------------------------------------------------------------------
def test_share_a_card_with_an_org_account(engine):
    card_arn = card(engine)
    created = share(engine, resourceArns=[card_arn], principals=[DEV], tags=[{"key": "team", "value": "fraud"}])
    assert created["resourceShareArn"].startswith(f"arn:aws:ram:us-east-1:{OWNER}:resource-share/")
    assert (created["status"], created["allowExternalPrincipals"], created["owningAccountId"]) == (
        "ACTIVE", True, OWNER)
    assert associations(engine, created["resourceShareArn"], "PRINCIPAL") == {DEV: "ASSOCIATED"}
    assert associations(engine, created["resourceShareArn"], "RESOURCE") == {card_arn: "ASSOCIATED"}
    assert call(engine, "GetResourceShareInvitations", DEV)["resourceShareInvitations"] == []
    permissions = call(engine, "ListResourceSharePermissions", DEV, resourceShareArn=created["resourceShareArn"])
    assert [p["arn"] for p in permissions["permissions"]] == [DEFAULT_PERMISSION]
    assert can_describe(engine, card_arn, DEV) and not can_describe(engine, card_arn, PROD)


def test_what_can_be_shared(engine):
    card_arn = card(engine)
    other_account_card = card(engine, account=DEV)
    missing = card_arn.replace("fraud-card", "missing-card")
    assert error_of(engine, "CreateResourceShare", name="s", resourceArns=[missing]).code == "UnknownResourceException"
    subnet = f"arn:aws:ec2:us-east-1:{OWNER}:subnet/subnet-0abc"
    unsupported = error_of(engine, "CreateResourceShare", name="s", resourceArns=[subnet])
    assert (unsupported.code, unsupported.message) == ("MalformedArnException",
                                                       "You cannot share the selected resource type.")
    assert error_of(engine, "CreateResourceShare", name="s",
                    resourceArns=["not-an-arn"]).code == "MalformedArnException"
    assert error_of(engine, "CreateResourceShare", name="s",
                    resourceArns=[other_account_card]).code == "OperationNotPermittedException"
    assert error_of(engine, "CreateResourceShare", name="s", resourceArns=[card_arn],
                    permissionArns=[DEFAULT_PERMISSION, EXPORT_PERMISSION]).code == "InvalidParameterException"
    assert error_of(engine, "CreateResourceShare", name="s",
                    principals=["o-unknown"]).code == "InvalidParameterException"
    assert error_of(engine, "CreateResourceShare", name="s",
                    principals=["arn:aws:organizations::111111111111:organization/o-other"]).code == \
        "UnknownResourceException"
    assert call(engine, "GetResourceShares", resourceOwner="SELF")["resourceShares"] == []


def test_client_token_makes_creation_idempotent(engine):
    card_arn = card(engine)
    first = call(engine, "CreateResourceShare", name="cards", resourceArns=[card_arn], principals=[DEV],
                 clientToken="portal-request-1")
    again = call(engine, "CreateResourceShare", name="cards", resourceArns=[card_arn], principals=[DEV],
                 clientToken="portal-request-1")
    assert again["resourceShare"]["resourceShareArn"] == first["resourceShare"]["resourceShareArn"]
    assert again["clientToken"] == "portal-request-1"
    assert len(call(engine, "GetResourceShares", resourceOwner="SELF")["resourceShares"]) == 1
    mismatch = error_of(engine, "CreateResourceShare", name="other", clientToken="portal-request-1")
    assert mismatch.code == "IdempotentParameterMismatchException"
    assert call(engine, "CreateResourceShare", name="generated")["clientToken"]


# -- organization units, organization, outsiders ------------------------------------------------------
def test_org_and_ou_principals_cover_their_accounts(engine):
    card_arn = card(engine)
    workloads = f"arn:aws:organizations::111111111111:ou/{ORGANIZATION_ID}/{ou_by_path('Workloads').id}"
    share(engine, resourceArns=[card_arn], principals=[workloads])
    assert can_describe(engine, card_arn, DEV) and not can_describe(engine, card_arn, PROD)
    share(engine, name="everyone", resourceArns=[card_arn], principals=[ORGANIZATION_ARN])
    assert can_describe(engine, card_arn, PROD) and not can_describe(engine, card_arn, OUTSIDER)
    unknown_ou = f"arn:aws:organizations::111111111111:ou/{ORGANIZATION_ID}/ou-ml01-nothere"
    assert error_of(engine, "CreateResourceShare", name="s", principals=[unknown_ou]).code == "UnknownResourceException"


def test_outside_the_organization_an_invitation_must_be_accepted(engine):
    card_arn = card(engine)
    created = share(engine, resourceArns=[card_arn], principals=[OUTSIDER])
    assert associations(engine, created["resourceShareArn"], "PRINCIPAL") == {OUTSIDER: "ASSOCIATING"}
    assert not can_describe(engine, card_arn, OUTSIDER)
    invitations = call(engine, "GetResourceShareInvitations", OUTSIDER)["resourceShareInvitations"]
    assert [(i["status"], i["senderAccountId"], i["receiverAccountId"]) for i in invitations] == [
        ("PENDING", OWNER, OUTSIDER)]
    assert call(engine, "GetResourceShares", OUTSIDER, resourceOwner="OTHER-ACCOUNTS")["resourceShares"] == []
    arn = invitations[0]["resourceShareInvitationArn"]
    assert error_of(engine, "AcceptResourceShareInvitation", DEV,
                    resourceShareInvitationArn=arn).code == "ResourceShareInvitationArnNotFoundException"

    accepted = call(engine, "AcceptResourceShareInvitation", OUTSIDER, resourceShareInvitationArn=arn)
    assert accepted["resourceShareInvitation"]["status"] == "ACCEPTED"
    assert associations(engine, created["resourceShareArn"], "PRINCIPAL") == {OUTSIDER: "ASSOCIATED"}
    assert can_describe(engine, card_arn, OUTSIDER)
    assert error_of(engine, "AcceptResourceShareInvitation", OUTSIDER,
                    resourceShareInvitationArn=arn).code == "ResourceShareInvitationAlreadyAcceptedException"
    shared = call(engine, "GetResourceShares", OUTSIDER, resourceOwner="OTHER-ACCOUNTS")["resourceShares"]
    assert [s["resourceShareArn"] for s in shared] == [created["resourceShareArn"]]


def test_a_rejected_invitation_fails_the_association(engine):
    created = share(engine, resourceArns=[card(engine)], principals=[OUTSIDER])
    invitation = call(engine, "GetResourceShareInvitations", OUTSIDER)["resourceShareInvitations"][0]
    rejected = call(engine, "RejectResourceShareInvitation", OUTSIDER,
                    resourceShareInvitationArn=invitation["resourceShareInvitationArn"], clientToken="no-thanks")
    assert rejected["resourceShareInvitation"]["status"] == "REJECTED"
    again = call(engine, "RejectResourceShareInvitation", OUTSIDER,
                 resourceShareInvitationArn=invitation["resourceShareInvitationArn"], clientToken="no-thanks")
    assert again["resourceShareInvitation"]["status"] == "REJECTED"
    assert associations(engine, created["resourceShareArn"], "PRINCIPAL") == {OUTSIDER: "FAILED"}
    assert error_of(engine, "AcceptResourceShareInvitation", OUTSIDER,
                    resourceShareInvitationArn=invitation["resourceShareInvitationArn"]).code == \
        "ResourceShareInvitationAlreadyRejectedException"


def test_accounts_created_later_are_in_the_organization(engine):
    status = engine.invoke("organizations", "CreateAccount", {"AccountName": "risk-sandbox",
                                                              "Email": "aws+risk-sandbox@mlplatform.example.com"},
                           account_id="111111111111")["CreateAccountStatus"]
    new_account = engine.invoke("organizations", "DescribeCreateAccountStatus",
                                {"CreateAccountRequestId": status["Id"]}, account_id="111111111111")[
        "CreateAccountStatus"]["AccountId"]
    card_arn = card(engine)
    created = share(engine, resourceArns=[card_arn], principals=[new_account], allowExternalPrincipals=False)
    assert associations(engine, created["resourceShareArn"], "PRINCIPAL") == {new_account: "ASSOCIATED"}
    assert can_describe(engine, card_arn, new_account)


def test_update_share_and_resource_types(engine):
    share_arn = share(engine, name="before")["resourceShareArn"]
    updated = call(engine, "UpdateResourceShare", resourceShareArn=share_arn, name="after",
                   allowExternalPrincipals=False)["resourceShare"]
    assert (updated["name"], updated["allowExternalPrincipals"]) == ("after", False)
    assert error_of(engine, "AssociateResourceShare", resourceShareArn=share_arn,
                    principals=[OUTSIDER]).code == "OperationNotPermittedException"
    types = call(engine, "ListResourceTypes")["resourceTypes"]
    assert types == [{"resourceType": "sagemaker:ModelCard", "serviceName": "sagemaker",
                      "resourceRegionScope": "REGIONAL"}]
    assert call(engine, "ListResourceTypes", resourceRegionScope="GLOBAL")["resourceTypes"] == []
    assert call(engine, "EnableSharingWithAwsOrganization", "111111111111")["returnValue"] is True
    assert error_of(engine, "EnableSharingWithAwsOrganization", DEV).code == "OperationNotPermittedException"


@pytest.mark.usefixtures("boundary_clock")
def test_invitations_expire_after_seven_days(engine):
    share(engine, resourceArns=[card(engine)], principals=[OUTSIDER])
    engine.advance_clock(7 * 24 * 3600 + 1)
    invitation = call(engine, "GetResourceShareInvitations", OUTSIDER)["resourceShareInvitations"][0]
    assert invitation["status"] == "EXPIRED"
    assert error_of(engine, "AcceptResourceShareInvitation", OUTSIDER,
                    resourceShareInvitationArn=invitation["resourceShareInvitationArn"]).code == \
        "ResourceShareInvitationExpiredException"


def test_external_principals_can_be_refused(engine):
    failure = error_of(engine, "CreateResourceShare", name="internal", resourceArns=[card(engine)],
                       principals=[OUTSIDER], allowExternalPrincipals=False)
    assert failure.code == "OperationNotPermittedException"
    assert share(engine, name="internal", principals=[DEV], allowExternalPrincipals=False)["allowExternalPrincipals"] \
        is False


# -- changing and deleting shares ---------------------------------------------------------------------
def test_associate_disassociate_and_delete(engine):
    first, second = card(engine), card(engine, "churn-card")
    created = share(engine, resourceArns=[first])
    share_arn = created["resourceShareArn"]
    answered = call(engine, "AssociateResourceShare", resourceShareArn=share_arn, resourceArns=[second],
                    principals=[DEV, PROD])["resourceShareAssociations"]
    assert {(a["associatedEntity"], a["associationType"], a["status"]) for a in answered} == {
        (second, "RESOURCE", "ASSOCIATING"), (DEV, "PRINCIPAL", "ASSOCIATING"), (PROD, "PRINCIPAL", "ASSOCIATING")}
    assert associations(engine, share_arn, "PRINCIPAL") == {DEV: "ASSOCIATED", PROD: "ASSOCIATED"}
    assert can_describe(engine, second, PROD)

    removed = call(engine, "DisassociateResourceShare", resourceShareArn=share_arn, principals=[PROD])
    assert removed["resourceShareAssociations"][0]["status"] == "DISASSOCIATING"
    assert associations(engine, share_arn, "PRINCIPAL") == {DEV: "ASSOCIATED", PROD: "DISASSOCIATED"}
    assert not can_describe(engine, second, PROD) and can_describe(engine, second, DEV)
    assert error_of(engine, "DisassociateResourceShare", resourceShareArn=share_arn,
                    principals=[PROD]).code == "UnknownResourceException"
    assert error_of(engine, "AssociateResourceShare", DEV, resourceShareArn=share_arn,
                    principals=[PROD]).code == "UnknownResourceException"

    assert call(engine, "DeleteResourceShare", resourceShareArn=share_arn)["returnValue"] is True
    deleted = call(engine, "GetResourceShares", resourceOwner="SELF", resourceShareStatus="DELETED")["resourceShares"]
    assert [s["resourceShareArn"] for s in deleted] == [share_arn]
    assert not can_describe(engine, first, DEV)
    assert error_of(engine, "AssociateResourceShare", resourceShareArn=share_arn,
                    principals=[PROD]).code == "InvalidStateTransitionException"
    assert error_of(engine, "DeleteResourceShare", resourceShareArn=share_arn).code == "InvalidStateTransitionException"


def test_association_filters(engine):
    card_arn = card(engine)
    share_arn = share(engine, resourceArns=[card_arn], principals=[DEV, PROD])["resourceShareArn"]
    call(engine, "DisassociateResourceShare", resourceShareArn=share_arn, principals=[PROD])
    by_status = call(engine, "GetResourceShareAssociations", associationType="PRINCIPAL",
                     associationStatus="ASSOCIATED")["resourceShareAssociations"]
    assert [a["associatedEntity"] for a in by_status] == [DEV]
    by_resource = call(engine, "GetResourceShareAssociations", associationType="RESOURCE", resourceArn=card_arn)
    assert [a["resourceShareArn"] for a in by_resource["resourceShareAssociations"]] == [share_arn]
    refused = error_of(engine, "GetResourceShareAssociations", associationType="PRINCIPAL", resourceArn=card_arn)
    assert refused.code == "InvalidParameterException" and "PRINCIPAL" in refused.message
    assert error_of(engine, "GetResourceShareAssociations", associationType="RESOURCE",
                    principal=DEV).code == "InvalidParameterException"


# -- listings -------------------------------------------------------------------------------------
def test_get_resource_shares_filters_and_pages(engine):
    card_arn = card(engine)
    for name in ("alpha", "beta", "gamma"):
        share(engine, name=name, resourceArns=[card_arn], principals=[DEV],
              tags=[{"key": "stage", "value": "dev" if name != "gamma" else "prod"}],
              permissionArns=[EXPORT_PERMISSION] if name == "beta" else [])
    first = call(engine, "GetResourceShares", resourceOwner="SELF", maxResults=2)
    rest = call(engine, "GetResourceShares", resourceOwner="SELF", maxResults=2, nextToken=first["nextToken"])
    assert [s["name"] for s in first["resourceShares"] + rest["resourceShares"]] == ["alpha", "beta", "gamma"]
    tagged = call(engine, "GetResourceShares", resourceOwner="SELF",
                  tagFilters=[{"tagKey": "stage", "tagValues": ["prod"]}])["resourceShares"]
    assert [s["name"] for s in tagged] == ["gamma"]
    exporting = call(engine, "GetResourceShares", resourceOwner="SELF", permissionArn=EXPORT_PERMISSION)
    assert [s["name"] for s in exporting["resourceShares"]] == ["beta"]
    received = call(engine, "GetResourceShares", DEV, resourceOwner="OTHER-ACCOUNTS", name="beta")["resourceShares"]
    assert [s["owningAccountId"] for s in received] == [OWNER]
    assert error_of(engine, "GetResourceShares", resourceOwner="SELF",
                    nextToken="garbage").code == "InvalidNextTokenException"
    assert error_of(engine, "GetResourceShares", resourceOwner="EVERYONE").code == "InvalidParameterException"


def test_list_resources_and_principals(engine):
    card_arn = card(engine)
    share_arn = share(engine, resourceArns=[card_arn], principals=[DEV])["resourceShareArn"]
    mine = call(engine, "ListResources", resourceOwner="SELF", resourceType="sagemaker:ModelCard")["resources"]
    assert [(r["arn"], r["type"], r["resourceShareArn"], r["status"]) for r in mine] == [
        (card_arn, "sagemaker:ModelCard", share_arn, "AVAILABLE")]
    received = call(engine, "ListResources", DEV, resourceOwner="OTHER-ACCOUNTS")["resources"]
    assert [r["arn"] for r in received] == [card_arn]
    assert call(engine, "ListResources", PROD, resourceOwner="OTHER-ACCOUNTS")["resources"] == []
    assert error_of(engine, "ListResources", resourceOwner="SELF",
                    resourceType="ec2:Subnet").code == "InvalidResourceTypeException"
    principals = call(engine, "ListPrincipals", resourceOwner="SELF", resourceArn=card_arn)["principals"]
    assert [(p["id"], p["external"]) for p in principals] == [(DEV, False)]
    owners = call(engine, "ListPrincipals", DEV, resourceOwner="OTHER-ACCOUNTS")["principals"]
    assert [p["id"] for p in owners] == [OWNER]


# -- over HTTP (rest-json) ------------------------------------------------------------------------
def test_ram_through_boto3(aws):
    cards = aws("sagemaker", account_id=OWNER)
    card_arn = cards.create_model_card(ModelCardName="ram-http-card", Content=CARD_CONTENT,
                                       ModelCardStatus="Draft")["ModelCardArn"]
    ram = aws("ram", account_id=OWNER)
    assert len(ram.list_permissions(resourceType="sagemaker:ModelCard")["permissions"]) == 2
    created = ram.create_resource_share(name="ram-http", resourceArns=[card_arn], principals=[DEV],
                                        permissionArns=[EXPORT_PERMISSION], clientToken="ram-http-1",
                                        tags=[{"key": "team", "value": "fraud-detection"}])
    share_arn = created["resourceShare"]["resourceShareArn"]
    assert created["clientToken"] == "ram-http-1"
    added = ram.associate_resource_share(resourceShareArn=share_arn, principals=[PROD])
    assert added["resourceShareAssociations"][0]["status"] == "ASSOCIATING"
    principals = ram.get_resource_share_associations(associationType="PRINCIPAL", resourceShareArns=[share_arn])
    assert {a["associatedEntity"]: a["status"] for a in principals["resourceShareAssociations"]} == {
        DEV: "ASSOCIATED", PROD: "ASSOCIATED"}
    assert [p["arn"] for p in ram.list_resource_share_permissions(resourceShareArn=share_arn)["permissions"]] == [
        EXPORT_PERMISSION]
    assert any(r["arn"] == card_arn for r in ram.list_resources(resourceOwner="SELF")["resources"])
    shared_with = ram.list_principals(resourceOwner="SELF", resourceArn=card_arn)["principals"]
    assert {p["id"] for p in shared_with} == {DEV, PROD}
    own = ram.get_resource_shares(resourceOwner="SELF", resourceShareArns=[share_arn])["resourceShares"]
    assert own[0]["tags"] == [{"key": "team", "value": "fraud-detection"}]

    consumer = aws("ram", account_id=DEV)
    received = consumer.get_resource_shares(resourceOwner="OTHER-ACCOUNTS")["resourceShares"]
    assert share_arn in {s["resourceShareArn"] for s in received}
    assert consumer.get_resource_share_invitations()["resourceShareInvitations"] == []
    nowhere = f"arn:aws:ram:us-east-1:{OWNER}:resource-share-invitation/nope"
    for answer in (consumer.accept_resource_share_invitation, consumer.reject_resource_share_invitation):
        with pytest.raises(ClientError) as unknown:
            answer(resourceShareInvitationArn=nowhere)
        assert unknown.value.response["Error"]["Code"] == "ResourceShareInvitationArnNotFoundException"
    renamed = ram.update_resource_share(resourceShareArn=share_arn, name="ram-http-renamed")["resourceShare"]
    assert renamed["name"] == "ram-http-renamed"
    assert ram.list_resource_types()["resourceTypes"][0]["resourceType"] == "sagemaker:ModelCard"
    assert aws("ram").enable_sharing_with_aws_organization()["returnValue"] is True

    ram.disassociate_resource_share(resourceShareArn=share_arn, principals=[PROD])
    assert ram.delete_resource_share(resourceShareArn=share_arn, clientToken="ram-http-delete")["returnValue"] is True
    with pytest.raises(ClientError) as malformed:
        ram.create_resource_share(name="bad", resourceArns=[f"arn:aws:ec2:us-east-1:{OWNER}:subnet/subnet-1"])
    assert malformed.value.response["Error"]["Code"] == "MalformedArnException"


def test_list_permissions_through_the_cli(aws_cli):
    listed = aws_cli("ram", "list-permissions", "--resource-type", "sagemaker:ModelCard")
    assert [p["name"] for p in listed.json["permissions"]] == [
        "AWSRAMPermissionSageMakerModelCards", "AWSRAMPermissionSageMakerModelCardsAllowExport"]
