"""Service Catalog calls of the provisioning app: small functions in, plain data out.

Catalog reads run as the hub account; provisioning runs in the target (member) account through
``portal.aws.client``, which assumes the portal's role there. Every list is paged to the end.
``classify`` sorts AWS errors into what the caller should do with them.
"""
from botocore.exceptions import BotoCoreError, ClientError

from portal.aws import client

SC = "servicecatalog"
THROTTLING_CODES = {"Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
                    "RequestLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown"}
VALIDATION_CODES = {"InvalidParametersException", "ValidationException", "ValidationError",
                    "DuplicateResourceException", "ResourceNotFoundException", "InvalidStateException",
                    "AccessDenied", "AccessDeniedException", "UnrecognizedClientException"}


class AwsCallError(Exception):
    """An AWS call that failed. ``kind``: throttled | invalid (AWS refused the input: do not
    retry) | transient (network or 5xx: retry)."""

    def __init__(self, kind: str, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.kind, self.code, self.message = kind, code, message


def classify(error: Exception) -> AwsCallError:
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        code, message = info.get("Code", "Unknown"), info.get("Message", str(error))
        if code in THROTTLING_CODES:
            return AwsCallError("throttled", code, message)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
        if code in VALIDATION_CODES or 400 <= status < 500:
            return AwsCallError("invalid", code, message)
        return AwsCallError("transient", code, message)
    return AwsCallError("transient", type(error).__name__, str(error))


def _client(account_id: str | None = None, service: str = SC):
    """A Service Catalog (or ``service``) client, in ``account_id`` through the portal's role; a
    failure to get one (e.g. AssumeRole refused) is classified like any other AWS error."""
    try:
        return client(service, account_id)
    except (ClientError, BotoCoreError) as error:
        raise classify(error) from error


def _call(fn, **params) -> dict:
    try:
        return fn(**params)
    except (ClientError, BotoCoreError) as error:
        raise classify(error) from error


# -- catalog (hub account) ------------------------------------------------------------------
def search_products(sc=None) -> list[dict]:
    """Every product the hub can launch: ProductViewSummary dicts (SearchProducts, all pages)."""
    sc = sc or _client()
    products, params = [], {"PageSize": 100}
    while True:
        response = _call(sc.search_products, **params)
        products.extend(response.get("ProductViewSummaries", []))
        if not response.get("NextPageToken"):
            return products
        params["PageToken"] = response["NextPageToken"]


def describe_product(product_id: str, sc=None) -> dict:
    """{summary, versions: [{id, name, description, guidance, created}]}"""
    response = _call((sc or _client()).describe_product, Id=product_id)
    return {"summary": response["ProductViewSummary"],
            "versions": [{"id": a["Id"], "name": a.get("Name", ""), "description": a.get("Description", ""),
                          "guidance": a.get("Guidance", "DEFAULT"), "created": a.get("CreatedTime")}
                         for a in response.get("ProvisioningArtifacts", [])]}


def list_launch_paths(product_id: str, sc=None) -> list[dict]:
    """[{id, name, constraints: [{Type, Description}]}] (ListLaunchPaths, all pages)."""
    sc = sc or _client()
    paths, params = [], {"ProductId": product_id, "PageSize": 20}
    while True:
        response = _call(sc.list_launch_paths, **params)
        paths.extend({"id": p["Id"], "name": p.get("Name", ""), "constraints": p.get("ConstraintSummaries", [])}
                     for p in response.get("LaunchPathSummaries", []))
        if not response.get("NextPageToken"):
            return paths
        params["PageToken"] = response["NextPageToken"]


def provisioning_parameters(product_id: str, artifact_id: str, path_id: str, sc=None) -> dict:
    """{parameters: [...as AWS gives them], outputs: [{Key, Description}]}"""
    response = _call((sc or _client()).describe_provisioning_parameters, ProductId=product_id,
                     ProvisioningArtifactId=artifact_id, PathId=path_id)
    return {"parameters": response.get("ProvisioningArtifactParameters", []),
            "outputs": response.get("ProvisioningArtifactOutputKeys") or response.get("ProvisioningArtifactOutputs", [])}


def catalog_snapshot() -> list[dict]:
    """The whole launchable catalog as the hub sees it: [{summary, paths, versions: [{id, name,
    description, guidance, created, parameters, outputs}]}]. Read-only."""
    sc = _client()
    snapshot = []
    for summary in search_products(sc):
        product_id = summary["ProductId"]
        described = describe_product(product_id, sc)
        paths = list_launch_paths(product_id, sc)
        versions = []
        for version in described["versions"]:
            parameters = (provisioning_parameters(product_id, version["id"], paths[0]["id"], sc) if paths
                          else {"parameters": [], "outputs": []})
            versions.append({**version, **parameters})
        snapshot.append({"summary": summary, "paths": paths, "versions": versions})
    return snapshot


# -- provisioning (member account) --------------------------------------------------------
def _record(detail: dict) -> dict:
    return {"record_id": detail["RecordId"], "status": detail.get("Status", ""),
            "pp_id": detail.get("ProvisionedProductId", ""), "record_type": detail.get("RecordType", ""),
            "errors": [{"code": e.get("Code", ""), "description": e.get("Description", "")}
                       for e in detail.get("RecordErrors", [])]}


def _parameters(values: dict) -> list[dict]:
    return [{"Key": key, "Value": str(value)} for key, value in values.items()]


def provision_product(*, account_id: str, name: str, token: str, product_id: str, artifact_id: str,
                      path_id: str, parameters: dict, tags: dict) -> dict:
    """ProvisionProduct with the caller's token (a repeat returns the first record)."""
    params = {"ProvisionedProductName": name, "ProvisionToken": token, "ProductId": product_id,
              "ProvisioningArtifactId": artifact_id, "ProvisioningParameters": _parameters(parameters),
              "Tags": [{"Key": k, "Value": v} for k, v in tags.items() if v]}
    if path_id:
        params["PathId"] = path_id
    return _record(_call(_client(account_id).provision_product, **params)["RecordDetail"])


def update_provisioned_product(*, account_id: str, pp_id: str, token: str, artifact_id: str,
                               parameters: dict) -> dict:
    response = _call(_client(account_id).update_provisioned_product, ProvisionedProductId=pp_id,
                     UpdateToken=token, ProvisioningArtifactId=artifact_id,
                     ProvisioningParameters=_parameters(parameters))
    return _record(response["RecordDetail"])


def terminate_provisioned_product(*, account_id: str, pp_id: str, token: str, ignore_errors: bool = False) -> dict:
    response = _call(_client(account_id).terminate_provisioned_product, ProvisionedProductId=pp_id,
                     TerminateToken=token, IgnoreErrors=ignore_errors)
    return _record(response["RecordDetail"])


def describe_record(*, account_id: str, record_id: str) -> dict:
    """The record's status, errors and every output (RecordOutputs, all pages)."""
    sc = _client(account_id)
    params, outputs = {"Id": record_id, "PageSize": 20}, []
    while True:
        response = _call(sc.describe_record, **params)
        outputs.extend({"OutputKey": o.get("OutputKey", ""), "OutputValue": o.get("OutputValue", ""),
                        "Description": o.get("Description", "")} for o in response.get("RecordOutputs", []))
        if not response.get("NextPageToken"):
            break
        params["PageToken"] = response["NextPageToken"]
    record = _record(response["RecordDetail"])
    record["outputs"] = outputs
    return record


def describe_provisioned_product(*, account_id: str, pp_id: str) -> dict | None:
    """{status, status_message, last_record_id, artifact_id}, or None when it no longer exists."""
    try:
        response = _call(_client(account_id).describe_provisioned_product, Id=pp_id)
    except AwsCallError as error:
        if error.code == "ResourceNotFoundException":
            return None
        raise
    detail = response["ProvisionedProductDetail"]
    return {"status": detail.get("Status", ""), "status_message": detail.get("StatusMessage") or "",
            "last_record_id": detail.get("LastRecordId", ""), "artifact_id": detail.get("ProvisioningArtifactId", "")}


def plan_update(*, account_id: str, name: str, token: str, product_id: str, artifact_id: str, path_id: str,
                parameters: dict) -> str:
    """CreateProvisionedProductPlan for an update; returns the plan id."""
    params = {"PlanName": f"preview-{token[-20:]}", "PlanType": "CLOUDFORMATION", "ProductId": product_id,
              "ProvisionedProductName": name, "ProvisioningArtifactId": artifact_id, "IdempotencyToken": token,
              "ProvisioningParameters": [{"Key": k, "Value": str(v)} for k, v in parameters.items()]}
    if path_id:
        params["PathId"] = path_id
    return _call(_client(account_id).create_provisioned_product_plan, **params)["PlanId"]


def describe_plan(*, account_id: str, plan_id: str) -> dict:
    """{status, message, changes: [{action, logical_id, type, replacement}]}"""
    response = _call(_client(account_id).describe_provisioned_product_plan, PlanId=plan_id)
    details = response["ProvisionedProductPlanDetails"]
    return {"status": details.get("Status", ""), "message": details.get("StatusMessage", ""),
            "changes": [{"action": c.get("Action", ""), "logical_id": c.get("LogicalResourceId", ""),
                         "type": c.get("ResourceType", ""), "replacement": c.get("Replacement", "")}
                        for c in response.get("ResourceChanges", [])]}


def delete_plan(*, account_id: str, plan_id: str) -> None:
    _call(_client(account_id).delete_provisioned_product_plan, PlanId=plan_id)


# -- the accounts' network (EC2, in the member account) ----------------------------------------
def account_network(account_id: str) -> dict[str, str] | None:
    """The network SageMaker workloads of ``account_id`` use: its default VPC (else its first),
    that VPC's subnets (ordered by Availability Zone) and its ``default`` security group, as
    parameter values {VpcId, SubnetIds, SecurityGroupIds} (lists comma-separated). None when the
    account has no VPC with subnets (DescribeVpcs, DescribeSubnets, DescribeSecurityGroups)."""
    ec2 = _client(account_id, "ec2")

    def every(operation: str, key: str, **params) -> list[dict]:
        try:
            return [item for page in ec2.get_paginator(operation).paginate(**params) for item in page.get(key, [])]
        except (ClientError, BotoCoreError) as error:
            raise classify(error) from error

    vpcs = sorted(every("describe_vpcs", "Vpcs"), key=lambda vpc: (not vpc.get("IsDefault"), vpc["VpcId"]))
    if not vpcs:
        return None
    vpc_id = vpcs[0]["VpcId"]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    subnets = sorted(every("describe_subnets", "Subnets", Filters=in_vpc),
                     key=lambda subnet: (subnet.get("AvailabilityZone", ""), subnet["SubnetId"]))
    if not subnets:
        return None
    groups = every("describe_security_groups", "SecurityGroups",
                   Filters=[*in_vpc, {"Name": "group-name", "Values": ["default"]}])
    return {"VpcId": vpc_id, "SubnetIds": ",".join(subnet["SubnetId"] for subnet in subnets),
            "SecurityGroupIds": ",".join(group["GroupId"] for group in groups)}
