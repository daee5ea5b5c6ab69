"""Service Catalog state and the rules every servicecatalog_* operation module shares.

Nothing here registers an operation. The state (``ctx.state``, JSON only) is global across accounts;
every entry carries its own ``account``/``region``:

    portfolios    {port-…: portfolio}     owner, display fields, principals, product ids, org share
    products      {prod-…: product}       owner, view fields, artifacts (templates), effect kind
    launch_paths  {lpv2-…: path}          portfolio + product, constraint summaries, launch role
    provisioned   {pp-…: product}         account, name, status, parameters, outputs, resources
    records       {rec-…: record}         type, timing, outcome, errors, outputs
    plans         {plan-…: plan}          target product, parameters, execution record
    tokens        {"acct|region|Op|token": id}   idempotency tokens -> first result
"""
from __future__ import annotations

import re
from datetime import datetime

from sandbox.core import paging
from sandbox.core.errors import AwsError
from sandbox.core.org_layout import MANAGEMENT_ACCOUNT_ID, PORTAL_ROLE
from sandbox.core.validation import check_input
from sandbox.services.sts import resolve_caller

PARTITION = "aws"
ACCOUNT_FACTORY_TYPE = "CONTROL_TOWER_ACCOUNT"


# -- errors -------------------------------------------------------------------------------------
def invalid(message: str) -> AwsError:
    return AwsError("InvalidParametersException", message)


def not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message)


# -- request validation ---------------------------------------------------------------------------
def validate_request(ctx, params: dict) -> None:
    """AWS's server-side checks botocore leaves out (max, pattern, enum): ValidationException."""
    check_input("servicecatalog", ctx.operation, params)


def validate_tags(tags: list[dict] | None) -> list[dict]:
    """Tags after the model's checks (count, lengths, pattern): each key at most once."""
    keys = [tag["Key"] for tag in tags or []]
    duplicate = next((key for key in keys if keys.count(key) > 1), None)
    if duplicate:
        raise invalid(f"Duplicate tag key: {duplicate}")
    return [{"Key": tag["Key"], "Value": tag["Value"]} for tag in tags or []]


def exactly_one(params: dict, *names: str, required: bool = True) -> str | None:
    """The one member of ``names`` that is set ("name or ID, not both"); None if optional and absent."""
    given = [name for name in names if params.get(name)]
    if len(given) > 1:
        raise invalid(f"Only one of {' or '.join(names)} may be specified.")
    if not given:
        if required:
            raise invalid(f"Either {' or '.join(names)} must be specified.")
        return None
    return given[0]


# -- paging -------------------------------------------------------------------------------------
def page(ctx, items: list, params: dict, max_size: int) -> tuple[list, str | None]:
    """One page by PageSize (0 or absent: ``max_size``) and PageToken, and the next page's token."""
    return paging.page(items, params.get("PageToken"), params.get("PageSize"), default_max=max_size,
                       scope=f"servicecatalog:{ctx.operation}", invalid_token=invalid("The page token is not valid."))


def with_next_token(response: dict, next_token: str | None) -> dict:
    if next_token:
        response["NextPageToken"] = next_token
    return response


# -- state --------------------------------------------------------------------------------------
def table(ctx, name: str) -> dict:
    return ctx.state.setdefault(name, {})


def now_iso(ctx) -> str:
    return ctx.now().isoformat()


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def token_key(ctx, operation: str, token: str) -> str:
    return f"{ctx.account_id}|{ctx.region}|{operation}|{token}"


def here(ctx, item: dict) -> bool:
    """Whether a stored item (portfolio, product, provisioned product, record, plan) belongs to the
    calling account and region."""
    return item["account"] == ctx.account_id and item["region"] == ctx.region


# -- who is calling -----------------------------------------------------------------------------
def caller_identity(ctx) -> tuple[str, str]:
    """(principal ARN, session ARN) of the caller, as records and provisioned products keep them.

    An assumed role is its IAM role ARN and its STS session ARN; long-term credentials are the
    management account's root. In-process calls without an access key (tests) act as the portal
    does: PortalExecutionRole in member accounts, root in the management account.
    """
    caller = resolve_caller(ctx.sandbox, ctx.access_key) if ctx.access_key else None
    if caller is not None and caller.session is not None:
        return caller.session["RoleArn"], caller.arn
    if caller is not None or ctx.account_id == MANAGEMENT_ACCOUNT_ID:
        root = f"arn:{PARTITION}:iam::{ctx.account_id}:root"
        return root, root
    return (f"arn:{PARTITION}:iam::{ctx.account_id}:role/{PORTAL_ROLE}",
            f"arn:{PARTITION}:sts::{ctx.account_id}:assumed-role/{PORTAL_ROLE}/portal")


def principal_matches(principal: dict, role_arn: str) -> bool:
    """IAM: the exact ARN. IAM_PATTERN: an ARN without account id, ``*``/``?`` after the type."""
    if principal["PrincipalType"] == "IAM":
        return principal["PrincipalARN"] == role_arn
    pattern = re.escape(principal["PrincipalARN"]).replace(r"\*", ".*").replace(r"\?", ".?")
    without_account = re.sub(r"^(arn:[^:]+:iam::)\d{12}:", r"\1:", role_arn)
    return re.fullmatch(pattern, without_account) is not None


# -- catalog views ------------------------------------------------------------------------------
def portfolio_arn(portfolio: dict) -> str:
    return f"arn:{PARTITION}:catalog:{portfolio['region']}:{portfolio['account']}:portfolio/{portfolio['Id']}"


def product_arn(product: dict) -> str:
    return f"arn:{PARTITION}:catalog:{product['region']}:{product['account']}:product/{product['Id']}"


def portfolio_detail(portfolio: dict) -> dict:
    detail = {"Id": portfolio["Id"], "ARN": portfolio_arn(portfolio), "DisplayName": portfolio["DisplayName"],
              "CreatedTime": parse_time(portfolio["CreatedTime"]), "ProviderName": portfolio["ProviderName"]}
    if portfolio.get("Description"):
        detail["Description"] = portfolio["Description"]
    return detail


def product_view_summary(product: dict, has_default_path: bool) -> dict:
    summary = {"Id": product["ViewId"], "ProductId": product["Id"], "Name": product["Name"],
               "Owner": product["Owner"], "Type": product["Type"], "HasDefaultPath": has_default_path}
    for field in ("ShortDescription", "Distributor", "SupportEmail", "SupportDescription", "SupportUrl"):
        if product.get(field):
            summary[field] = product[field]
    return summary


def product_view_detail(product: dict, has_default_path: bool) -> dict:
    return {"ProductViewSummary": product_view_summary(product, has_default_path), "Status": "AVAILABLE",
            "ProductARN": product_arn(product), "CreatedTime": parse_time(product["CreatedTime"])}


def artifact_detail(artifact: dict) -> dict:
    """ProvisioningArtifactDetail (admin view of one version)."""
    detail = {"Id": artifact["Id"], "Name": artifact["Name"], "Type": artifact["Type"],
              "CreatedTime": parse_time(artifact["CreatedTime"]), "Active": artifact["Active"],
              "Guidance": artifact["Guidance"]}
    if artifact.get("Description"):
        detail["Description"] = artifact["Description"]
    return detail


def artifact_summary(artifact: dict) -> dict:
    """ProvisioningArtifact (end-user view of one version, as DescribeProduct lists them)."""
    summary = {"Id": artifact["Id"], "Name": artifact["Name"],
               "CreatedTime": parse_time(artifact["CreatedTime"]), "Guidance": artifact["Guidance"]}
    if artifact.get("Description"):
        summary["Description"] = artifact["Description"]
    return summary


def find_artifact(product: dict, params: dict) -> dict:
    """The artifact named by ProvisioningArtifactId xor ProvisioningArtifactName."""
    member = exactly_one(params, "ProvisioningArtifactId", "ProvisioningArtifactName")
    wanted = params[member]
    field = "Id" if member == "ProvisioningArtifactId" else "Name"
    for artifact in product["artifacts"]:
        if artifact[field] == wanted:
            return artifact
    raise not_found(f"Provisioning artifact {wanted} not found for product {product['Id']}.")


def tags_list(tags: dict[str, str]) -> list[dict]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def tags_dict(tags: list[dict] | None) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags or []}


# -- catalog construction (used by the admin operations and by the seed) -----------------------
def new_portfolio(ctx, *, account: str, region: str, display_name: str, provider_name: str,
                  description: str = "", tags: list[dict] | None = None,
                  shared_with_organization: bool = False) -> dict:
    """Create and store a portfolio owned by ``account``."""
    portfolio = {
        "Id": ctx.new_id("port-"), "account": account, "region": region, "DisplayName": display_name,
        "ProviderName": provider_name, "Description": description, "CreatedTime": now_iso(ctx),
        "Tags": tags or [], "principals": [], "recipient_principals": {}, "product_ids": [],
        "shared_with_organization": shared_with_organization,
    }
    table(ctx, "portfolios")[portfolio["Id"]] = portfolio
    return portfolio


def new_artifact(ctx, *, name: str, description: str = "", template: dict | None = None,
                 guidance: str = "DEFAULT", artifact_type: str = "CLOUD_FORMATION_TEMPLATE",
                 info: dict | None = None) -> dict:
    """A provisioning artifact (product version). ``template``: parameters, outputs, resources."""
    return {
        "Id": ctx.new_id("pa-"), "Name": name, "Description": description, "Type": artifact_type,
        "CreatedTime": now_iso(ctx), "Active": True, "Guidance": guidance, "info": info or {},
        "template": template or {"parameters": [], "outputs": [], "resources": []},
    }


def new_product(ctx, *, account: str, region: str, name: str, owner: str, product_type: str,
                artifacts: list[dict], effect: str | None = None,
                provisioned_type: str = "CFN_STACK", tags: list[dict] | None = None, **view_fields) -> dict:
    """Create and store a product owned by ``account``. ``effect`` names what provisioning does
    (servicecatalog_effects.EFFECTS); ``view_fields``: ShortDescription, Distributor, Support*."""
    product = {
        "Id": ctx.new_id("prod-"), "ViewId": ctx.new_id("prodview-"), "account": account, "region": region,
        "Name": name, "Owner": owner, "Type": product_type, "CreatedTime": now_iso(ctx),
        "Tags": tags or [], "artifacts": artifacts, "effect": effect, "provisioned_type": provisioned_type,
        **{key: value for key, value in view_fields.items() if value},
    }
    table(ctx, "products")[product["Id"]] = product
    return product


def associate_product(ctx, portfolio: dict, product: dict, *, constraints: list[dict] | None = None,
                      launch_role_name: str | None = None) -> bool:
    """Add ``product`` to ``portfolio`` with a launch path; False when it already was there."""
    if product["Id"] in portfolio["product_ids"]:
        return False
    portfolio["product_ids"].append(product["Id"])
    path_id = ctx.new_id("lpv2-")
    table(ctx, "launch_paths")[path_id] = {
        "Id": path_id, "portfolio_id": portfolio["Id"], "product_id": product["Id"],
        "constraints": constraints or [], "launch_role_name": launch_role_name,
    }
    return True


def associate_principal(principals: list[dict], principal_arn: str, principal_type: str) -> bool:
    """Add an IAM principal (or IAM_PATTERN) to a portfolio's ``principals``; False when already there."""
    principal = {"PrincipalARN": principal_arn, "PrincipalType": principal_type}
    if principal in principals:
        return False
    principals.append(principal)
    return True


# -- what the caller may see and launch ----------------------------------------------------------
def visible_portfolios(ctx) -> list[dict]:
    """The calling account's own portfolios and those shared with the organization, this region."""
    return [portfolio for portfolio in table(ctx, "portfolios").values()
            if portfolio["region"] == ctx.region
            and (portfolio["account"] == ctx.account_id or portfolio["shared_with_organization"])]


def is_associated(ctx, portfolio: dict) -> bool:
    """Whether the caller's principal may launch through ``portfolio``.

    The management account's own callers administer the catalog and are always associated.
    """
    if ctx.account_id == portfolio["account"] == MANAGEMENT_ACCOUNT_ID:
        return True
    role_arn, _session = caller_identity(ctx)
    principals = portfolio["principals"] + portfolio["recipient_principals"].get(ctx.account_id, [])
    return any(principal_matches(principal, role_arn) for principal in principals)


def owned_product(ctx, product_id: str) -> dict:
    """A product of the calling account (admin operations)."""
    product = table(ctx, "products").get(product_id)
    if product is None or not here(ctx, product):
        raise not_found(f"Product {product_id} not found.")
    return product


def visible_product(ctx, params: dict, id_member: str = "ProductId", name_member: str = "ProductName") -> dict:
    """The product named by ``id_member`` xor ``name_member`` among those the caller can see."""
    member = exactly_one(params, id_member, name_member)
    wanted = params[member]
    candidates = {product_id for portfolio in visible_portfolios(ctx) for product_id in portfolio["product_ids"]}
    for product in table(ctx, "products").values():
        identifier = product["Id"] if member == id_member else product["Name"]
        if (here(ctx, product) or product["Id"] in candidates) and identifier == wanted:
            return product
    raise not_found(f"Product {wanted} not found.")


def launch_paths(ctx, product: dict) -> list[dict]:
    """Launch paths of ``product`` through portfolios the caller sees and is associated with."""
    portfolios = {portfolio["Id"]: portfolio for portfolio in visible_portfolios(ctx)}
    return [path for path in table(ctx, "launch_paths").values()
            if path["product_id"] == product["Id"] and path["portfolio_id"] in portfolios
            and is_associated(ctx, portfolios[path["portfolio_id"]])]


def launchable_product(ctx, params: dict) -> tuple[dict, list[dict]]:
    """(product, launch paths) for an end-user call; a product without paths cannot be used."""
    product = visible_product(ctx, params)
    paths = launch_paths(ctx, product)
    if not paths:
        raise invalid(f"No launch paths found for resource: {product['Id']}")
    return product, paths


def choose_path(ctx, paths: list[dict], params: dict) -> dict:
    """The path named by PathId xor PathName; may be omitted only when there is one path."""
    member = exactly_one(params, "PathId", "PathName", required=False)
    if member is None:
        if len(paths) > 1:
            raise invalid("The product has more than one launch path. Specify PathId or PathName.")
        return paths[0]
    for path in paths:
        if (member == "PathId" and path["Id"] == params["PathId"]) or (
                member == "PathName" and path_name(ctx, path) == params["PathName"]):
            return path
    raise not_found(f"Launch path {params[member]} not found.")


def path_name(ctx, path: dict) -> str:
    """A launch path is named after its portfolio."""
    return table(ctx, "portfolios")[path["portfolio_id"]]["DisplayName"]


def launch_role_arn(path: dict, account: str) -> str | None:
    """The launch constraint's role, resolved in the provisioning account (LocalRoleName)."""
    if not path["launch_role_name"]:
        return None
    return f"arn:{PARTITION}:iam::{account}:role/{path['launch_role_name']}"
