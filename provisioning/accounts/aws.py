"""The account vending app's own AWS calls (AWS Organizations, in the management/hub account);
baselining provisions products with provisioning.aws.
Small functions: plain values in, plain data out. Errors are botocore ``ClientError``s; use
``error_code`` / ``error_reason`` to read them."""
from botocore.exceptions import ClientError

from portal.aws import AWS_ERRORS, client
from provisioning.aws import AwsCallError

# AwsCallError: the Service Catalog calls of provisioning.aws that baselining reuses.
AwsErrors = (*AWS_ERRORS, AwsCallError)


def error_code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code", "")
    if isinstance(error, AwsCallError):
        return error.code
    return type(error).__name__


def error_reason(error: Exception) -> str:
    if isinstance(error, ClientError):
        return error.response.get("Reason", "") or error.response.get("Error", {}).get("Reason", "")
    return ""


def _org():
    """The hub's Organizations client (portal.aws reuses clients per process)."""
    return client("organizations")


def create_account(*, name: str, email: str, tags: dict[str, str]) -> dict:
    """CreateAccount; returns CreateAccountStatus (Id, State, maybe AccountId/FailureReason)."""
    return _org().create_account(AccountName=name, Email=email,
                                 Tags=[{"Key": k, "Value": v} for k, v in tags.items()])["CreateAccountStatus"]


def create_account_status(request_id: str) -> dict:
    return _org().describe_create_account_status(CreateAccountRequestId=request_id)["CreateAccountStatus"]


def find_create_statuses(name: str) -> list[dict]:
    """Every CreateAccount attempt (any state) for the account name, newest first."""
    found = []
    for page in _org().get_paginator("list_create_account_status").paginate():
        found += [status for status in page.get("CreateAccountStatuses", []) if status.get("AccountName") == name]
    return found


def list_accounts() -> list[dict]:
    """Every account of the organization: {id, name, email, state}."""
    accounts = []
    for page in _org().get_paginator("list_accounts").paginate():
        accounts += [{"id": a["Id"], "name": a.get("Name", ""), "email": a.get("Email", ""),
                      "state": a.get("State", "")} for a in page.get("Accounts", [])]
    return accounts


def find_account_by_email(email: str) -> dict | None:
    wanted = email.lower()
    return next((account for account in list_accounts() if account["email"].lower() == wanted), None)


def _roots(org) -> list[dict]:
    return [root for page in org.get_paginator("list_roots").paginate() for root in page.get("Roots", [])]


def _children_ous(org, parent_id: str) -> list[dict]:
    return [ou for page in org.get_paginator("list_organizational_units_for_parent").paginate(ParentId=parent_id)
            for ou in page.get("OrganizationalUnits", [])]


def _accounts_for_parent(org, parent_id: str) -> list[dict]:
    return [{"id": a["Id"], "name": a.get("Name", ""), "email": a.get("Email", ""), "state": a.get("State", "")}
            for page in org.get_paginator("list_accounts_for_parent").paginate(ParentId=parent_id)
            for a in page.get("Accounts", [])]


def ou_tree() -> list[dict]:
    """The organization depth first: [{path ('' for the root), id, depth, accounts: [...]}]."""
    org = _org()
    result = []

    def walk(parent_id: str, path: str, depth: int):
        result.append({"path": path, "id": parent_id, "depth": depth,
                       "accounts": _accounts_for_parent(org, parent_id)})
        for ou in sorted(_children_ous(org, parent_id), key=lambda item: item["Name"]):
            walk(ou["Id"], f"{path}/{ou['Name']}" if path else ou["Name"], depth + 1)

    for root in _roots(org):
        walk(root["Id"], "", 0)
    return result


def ou_id_for_path(path: str) -> str | None:
    """The OU id for a path such as "Workloads/NonProd" (None when no such OU)."""
    org = _org()
    roots = _roots(org)
    if not roots:
        return None
    current = roots[0]["Id"]
    for name in [part for part in path.split("/") if part]:
        match = next((ou for ou in _children_ous(org, current) if ou["Name"] == name), None)
        if match is None:
            return None
        current = match["Id"]
    return current


def parent_of(account_id: str) -> str:
    return _org().list_parents(ChildId=account_id)["Parents"][0]["Id"]


def move_account(*, account_id: str, destination_id: str) -> bool:
    """Move the account under ``destination_id``; False when it is already there."""
    source = parent_of(account_id)
    if source == destination_id:
        return False
    try:
        _org().move_account(AccountId=account_id, SourceParentId=source, DestinationParentId=destination_id)
    except ClientError as error:
        if error_code(error) == "DuplicateAccountException":
            return False
        raise
    return True


def close_account(account_id: str) -> bool:
    """CloseAccount; False when the account was already closed."""
    try:
        _org().close_account(AccountId=account_id)
    except ClientError as error:
        if error_code(error) == "AccountAlreadyClosedException":
            return False
        raise
    return True


def tag_account(*, account_id: str, tags: dict[str, str]) -> None:
    """TagResource on the account (tags merge; a repeat is harmless)."""
    _org().tag_resource(ResourceId=account_id, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


# --- Control Tower Account Factory (a Service Catalog product in the hub) -------------------------
ACCOUNT_FACTORY = "AWS Control Tower Account Factory"


def _sc():
    return client("servicecatalog")


def account_factory_launch(ou_id: str) -> dict:
    """{product_id, artifact_id, path_id, ou_value}: what ProvisionProduct needs; ou_value is the
    ManagedOrganizationalUnit allowed value naming ``ou_id`` ('' when the OU is not offered)."""
    sc = _sc()
    views = sc.search_products(Filters={"FullTextSearch": [ACCOUNT_FACTORY]}).get("ProductViewSummaries", [])
    view = next(v for v in views if v["Name"] == ACCOUNT_FACTORY)
    product_id = view["ProductId"]
    artifacts = [a for a in sc.describe_product(Id=product_id).get("ProvisioningArtifacts", [])
                 if a.get("Guidance", "DEFAULT") != "DEPRECATED"]
    artifact_id = sorted(artifacts, key=lambda a: str(a.get("CreatedTime", "")))[-1]["Id"]
    path_id = sc.list_launch_paths(ProductId=product_id)["LaunchPathSummaries"][0]["Id"]
    parameters = sc.describe_provisioning_parameters(ProductId=product_id, ProvisioningArtifactId=artifact_id,
                                                     PathId=path_id)["ProvisioningArtifactParameters"]
    allowed = next((p.get("ParameterConstraints", {}).get("AllowedValues", []) for p in parameters
                    if p["ParameterKey"] == "ManagedOrganizationalUnit"), [])
    ou_value = next((value for value in allowed if value.endswith(f"({ou_id})")), "")
    return {"product_id": product_id, "artifact_id": artifact_id, "path_id": path_id, "ou_value": ou_value}


def account_factory_provision(*, name: str, token: str, launch: dict, parameters: dict) -> str:
    """ProvisionProduct with the request's token (a repeat returns the first record); the record id."""
    detail = _sc().provision_product(
        ProvisionedProductName=name, ProvisionToken=token, ProductId=launch["product_id"],
        ProvisioningArtifactId=launch["artifact_id"], PathId=launch["path_id"],
        ProvisioningParameters=[{"Key": k, "Value": v} for k, v in parameters.items()])["RecordDetail"]
    return detail["RecordId"]


def account_factory_record(record_id: str) -> dict:
    """{status, errors: [str], outputs: {key: value}} of the record."""
    response = _sc().describe_record(Id=record_id)
    detail = response["RecordDetail"]
    return {"status": detail.get("Status", ""),
            "errors": [f"{e.get('Code', '')}: {e.get('Description', '')}" for e in detail.get("RecordErrors", [])],
            "outputs": {o.get("OutputKey", ""): o.get("OutputValue", "") for o in response.get("RecordOutputs", [])}}
