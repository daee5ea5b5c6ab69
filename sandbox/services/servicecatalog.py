"""AWS Service Catalog, owned by the sandbox (moto's backend is never used): the catalog.

Administration (portfolios, products, versions, product and principal associations) and the
end-user view of it (SearchProducts, DescribeProduct, launch paths, provisioning parameters).
Provisioning lives in servicecatalog_provisioning, servicecatalog_inventory and
servicecatalog_plans; the boot catalog in servicecatalog_products; what products do in the
other services in servicecatalog_effects.

Access: an account sees its own portfolios and those shared with the organization. End users
launch through portfolios their principal is associated with (PrincipalType IAM or IAM_PATTERN);
the management account's own callers administer the catalog and may launch from it.
"""
from __future__ import annotations

import re
from collections import Counter

from sandbox.core.errors import AwsError
from sandbox.core.registry import operation, own_service
from sandbox.services.servicecatalog_effects import template_parameters
from sandbox.services.servicecatalog_model import (
    artifact_detail, artifact_summary, associate_principal, associate_product, choose_path, find_artifact, here,
    invalid, launch_paths, launch_role_arn, launchable_product, new_artifact, new_portfolio,
    new_product, not_found, owned_product, page, path_name, portfolio_detail, product_view_detail,
    product_view_summary, table, token_key, validate_request, validate_tags, visible_portfolios, visible_product,
    with_next_token,
)

SC = "servicecatalog"
own_service(SC)

MAX_PORTFOLIOS = 100
MAX_PRODUCTS = 350
MAX_PRODUCTS_PER_PORTFOLIO = 150
MAX_PATTERN_PRINCIPALS = 10
IAM_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(user|role|group)/\S+$")
IAM_PATTERN_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:iam:::(user|role|group)/\S+$")


# -- portfolios ---------------------------------------------------------------------------------
def _own_portfolio(ctx, portfolio_id: str) -> dict:
    portfolio = table(ctx, "portfolios").get(portfolio_id)
    if portfolio is None or not here(ctx, portfolio):
        raise not_found(f"Portfolio {portfolio_id} not found.")
    return portfolio


def _visible_portfolio(ctx, portfolio_id: str) -> dict:
    for portfolio in visible_portfolios(ctx):
        if portfolio["Id"] == portfolio_id:
            return portfolio
    raise not_found(f"Portfolio {portfolio_id} not found.")


def _idempotent(ctx, operation: str, token: str, kind: str) -> dict | None:
    """The item an earlier call with this idempotency token created, if any (ledgered as no effect)."""
    item_id = table(ctx, "tokens").get(token_key(ctx, operation, token))
    if item_id is None:
        return None
    ctx.ledger_note(key=token, effect=False)
    return table(ctx, kind)[item_id]


@operation(SC, "CreatePortfolio", key=lambda p: p.get("IdempotencyToken"))
def create_portfolio(ctx, params):
    """Create a portfolio in the caller's account. Idempotent per IdempotencyToken."""
    validate_request(ctx, params)
    portfolio = _idempotent(ctx, "CreatePortfolio", params["IdempotencyToken"], "portfolios")
    if portfolio is None:
        tags = validate_tags(params.get("Tags"))
        owned = [p for p in table(ctx, "portfolios").values() if here(ctx, p)]
        if len(owned) >= MAX_PORTFOLIOS:
            raise AwsError("LimitExceededException", f"The maximum number of portfolios ({MAX_PORTFOLIOS}) has "
                           "been reached.")
        portfolio = new_portfolio(ctx, account=ctx.account_id, region=ctx.region,
                                  display_name=params["DisplayName"], provider_name=params["ProviderName"],
                                  description=params.get("Description", ""), tags=tags)
        table(ctx, "tokens")[token_key(ctx, "CreatePortfolio", params["IdempotencyToken"])] = portfolio["Id"]
    return {"PortfolioDetail": portfolio_detail(portfolio), "Tags": portfolio["Tags"]}


@operation(SC, "DescribePortfolio")
def describe_portfolio(ctx, params):
    """A portfolio the caller owns or that is shared with its organization."""
    validate_request(ctx, params)
    portfolio = _visible_portfolio(ctx, params["Id"])
    return {"PortfolioDetail": portfolio_detail(portfolio), "Tags": portfolio["Tags"], "TagOptions": [],
            "Budgets": []}


@operation(SC, "ListPortfolios")
def list_portfolios(ctx, params):
    """The portfolios the caller's account owns, oldest first, paged."""
    validate_request(ctx, params)
    owned = [portfolio_detail(p) for p in table(ctx, "portfolios").values() if here(ctx, p)]
    items, next_token = page(ctx, owned, params, 100)
    return with_next_token({"PortfolioDetails": items}, next_token)


# -- products (administration) -------------------------------------------------------------------
@operation(SC, "CreateProduct", key=lambda p: p.get("IdempotencyToken"))
def create_product(ctx, params):
    """Create a product with its first version. The template is not fetched: the version has no
    parameters and provisioning it only records the provisioned product. Idempotent per token."""
    validate_request(ctx, params)
    product = _idempotent(ctx, "CreateProduct", params["IdempotencyToken"], "products")
    if product is None:
        tags = validate_tags(params.get("Tags"))
        version = params.get("ProvisioningArtifactParameters")
        sources = set((version or {}).get("Info", {})) & {"LoadTemplateFromURL", "ImportFromPhysicalId"}
        if len(sources) != 1:
            raise invalid("ProvisioningArtifactParameters.Info must specify exactly one of LoadTemplateFromURL "
                          "or ImportFromPhysicalId.")
        owned = [p for p in table(ctx, "products").values() if here(ctx, p)]
        if len(owned) >= MAX_PRODUCTS:
            raise AwsError("LimitExceededException", f"The maximum number of products ({MAX_PRODUCTS}) has been "
                           "reached.")
        source = sources.pop()
        artifact = new_artifact(ctx, name=version.get("Name", "v1"), description=version.get("Description", ""),
                                artifact_type=version.get("Type", "CLOUD_FORMATION_TEMPLATE"),
                                info={"TemplateUrl": version["Info"][source]})
        product = new_product(ctx, account=ctx.account_id, region=ctx.region, name=params["Name"],
                              owner=params["Owner"], product_type=params["ProductType"], artifacts=[artifact],
                              tags=tags, ShortDescription=params.get("Description"),
                              Distributor=params.get("Distributor"), SupportEmail=params.get("SupportEmail"),
                              SupportDescription=params.get("SupportDescription"),
                              SupportUrl=params.get("SupportUrl"))
        table(ctx, "tokens")[token_key(ctx, "CreateProduct", params["IdempotencyToken"])] = product["Id"]
    return {"ProductViewDetail": product_view_detail(product, _has_default_path(ctx, product)),
            "ProvisioningArtifactDetail": artifact_detail(product["artifacts"][0]), "Tags": product["Tags"]}


def _has_default_path(ctx, product: dict) -> bool:
    """Admin view: the product sits in exactly one portfolio."""
    return sum(1 for path in table(ctx, "launch_paths").values() if path["product_id"] == product["Id"]) == 1


@operation(SC, "DescribeProductAsAdmin")
def describe_product_as_admin(ctx, params):
    """A product of the caller's account (or of SourcePortfolioId, an imported portfolio) with its versions."""
    validate_request(ctx, params)
    if params.get("SourcePortfolioId"):
        _visible_portfolio(ctx, params["SourcePortfolioId"])
    product = visible_product(ctx, params, "Id", "Name")
    summaries = [{key: value for key, value in artifact_summary(artifact).items() if key != "Guidance"}
                 for artifact in product["artifacts"]]
    return {"ProductViewDetail": product_view_detail(product, _has_default_path(ctx, product)),
            "ProvisioningArtifactSummaries": summaries, "Tags": product["Tags"], "TagOptions": [], "Budgets": []}


def _matches_filters(product: dict, filters: dict) -> bool:
    """ProductViewFilters: every given key must match one of its values."""
    for key, wanted in (filters or {}).items():
        if key == "FullTextSearch":
            text = " ".join(product.get(field, "") for field in ("Name", "Owner", "ShortDescription", "Distributor"))
            if not any(value.lower() in text.lower() for value in wanted):
                return False
        elif key == "Owner" and product["Owner"] not in wanted:
            return False
        elif key == "ProductType" and product["Type"] not in wanted:
            return False
        elif key == "SourceProductId" and product["Id"] not in wanted:
            return False
    return True


_PRODUCT_SORT_KEYS = {"Title": lambda p: p["Name"].lower(), "VersionCount": lambda p: len(p["artifacts"]),
                      "CreationDate": lambda p: p["CreatedTime"]}


def _sorted_products(items: list, params: dict, product_of=lambda item: item) -> list:
    """``items`` in SortBy/SortOrder order (unsorted without SortBy); ``product_of`` finds the product."""
    if not params.get("SortBy"):
        return items
    key = _PRODUCT_SORT_KEYS[params["SortBy"]]
    return sorted(items, key=lambda item: key(product_of(item)), reverse=params.get("SortOrder") == "DESCENDING")


@operation(SC, "SearchProductsAsAdmin")
def search_products_as_admin(ctx, params):
    """The caller's products (or those of PortfolioId), filtered, sorted and paged (at most 20)."""
    validate_request(ctx, params)
    if params.get("PortfolioId"):
        portfolio = _visible_portfolio(ctx, params["PortfolioId"])
        products = [table(ctx, "products")[product_id] for product_id in portfolio["product_ids"]]
    else:
        products = [p for p in table(ctx, "products").values() if here(ctx, p)]
    products = _sorted_products([p for p in products if _matches_filters(p, params.get("Filters"))], params)
    items, next_token = page(ctx, products, params, 20)
    return with_next_token({"ProductViewDetails": [product_view_detail(p, _has_default_path(ctx, p))
                                                   for p in items]}, next_token)


@operation(SC, "AssociateProductWithPortfolio", key=lambda p: f"{p.get('PortfolioId')}/{p.get('ProductId')}")
def associate_product_with_portfolio(ctx, params):
    """Add a product to one of the caller's portfolios (a launch path). Repeating it changes nothing."""
    validate_request(ctx, params)
    portfolio = _own_portfolio(ctx, params["PortfolioId"])
    if params.get("SourcePortfolioId"):
        source = _visible_portfolio(ctx, params["SourcePortfolioId"])
        if params["ProductId"] not in source["product_ids"]:
            raise not_found(f"Product {params['ProductId']} not found in portfolio {source['Id']}.")
        product = table(ctx, "products")[params["ProductId"]]
    else:
        product = owned_product(ctx, params["ProductId"])
    if product["Id"] not in portfolio["product_ids"] and len(portfolio["product_ids"]) >= MAX_PRODUCTS_PER_PORTFOLIO:
        raise AwsError("LimitExceededException", f"The maximum number of products per portfolio "
                       f"({MAX_PRODUCTS_PER_PORTFOLIO}) has been reached.")
    ctx.ledger_note(effect=associate_product(ctx, portfolio, product))
    return {}


# -- principals ----------------------------------------------------------------------------------
@operation(SC, "AssociatePrincipalWithPortfolio",
           key=lambda p: f"{p.get('PortfolioId')}/{p.get('PrincipalARN')}")
def associate_principal_with_portfolio(ctx, params):
    """Let an IAM principal (IAM) or every principal matching a pattern without account id
    (IAM_PATTERN, e.g. ``arn:aws:iam:::role/PortalExecutionRole``) launch from the portfolio.
    On a shared portfolio the association is the recipient account's own. Repeating it changes nothing."""
    validate_request(ctx, params)
    portfolio = _visible_portfolio(ctx, params["PortfolioId"])
    arn, principal_type = params["PrincipalARN"], params["PrincipalType"]
    if principal_type == "IAM" and not IAM_PRINCIPAL.match(arn):
        raise invalid(f"Invalid PrincipalARN {arn}: an IAM principal ARN must include its account id.")
    if principal_type == "IAM_PATTERN" and (not IAM_PATTERN_PRINCIPAL.match(arn) or "*" in arn.split("/")[0]):
        raise invalid(f"Invalid PrincipalARN {arn}: an IAM_PATTERN must have the form "
                      "arn:partition:iam:::resource-type/resource-id, wildcards only in the resource id.")
    principals = _principals_of(ctx, portfolio)
    patterns = sum(1 for principal in principals if principal["PrincipalType"] == "IAM_PATTERN")
    if principal_type == "IAM_PATTERN" and patterns >= MAX_PATTERN_PRINCIPALS:
        raise AwsError("LimitExceededException", f"A portfolio can have at most {MAX_PATTERN_PRINCIPALS} "
                       "principals of type IAM_PATTERN.")
    ctx.ledger_note(effect=associate_principal(principals, arn, principal_type))
    return {}


def _principals_of(ctx, portfolio: dict) -> list[dict]:
    """The principal list the caller manages: the owner's, or this recipient account's own."""
    if portfolio["account"] == ctx.account_id:
        return portfolio["principals"]
    return portfolio["recipient_principals"].setdefault(ctx.account_id, [])


@operation(SC, "ListPrincipalsForPortfolio")
def list_principals_for_portfolio(ctx, params):
    """The principals associated with a portfolio, as the calling account manages them, paged."""
    validate_request(ctx, params)
    portfolio = _visible_portfolio(ctx, params["PortfolioId"])
    items, next_token = page(ctx, list(_principals_of(ctx, portfolio)), params, 20)
    return with_next_token({"Principals": items}, next_token)


# -- end-user view --------------------------------------------------------------------------------
@operation(SC, "SearchProducts")
def search_products(ctx, params):
    """The products the caller may launch (a launch path through an associated portfolio),
    filtered, sorted and paged (at most 100), with Owner and ProductType aggregations."""
    validate_request(ctx, params)
    launchable = []
    for product in table(ctx, "products").values():
        paths = launch_paths(ctx, product) if product["region"] == ctx.region else []
        if paths and _matches_filters(product, params.get("Filters")):
            launchable.append((product, paths))
    matching = _sorted_products(launchable, params, lambda pair: pair[0])
    items, next_token = page(ctx, matching, params, 100)
    aggregations = {
        field: [{"Value": value, "ApproximateCount": count}
                for value, count in Counter(product[member] for product, _paths in matching).items()]
        for field, member in (("Owner", "Owner"), ("ProductType", "Type"))}
    return with_next_token({"ProductViewSummaries": [product_view_summary(p, len(paths) == 1) for p, paths in items],
                            "ProductViewAggregations": aggregations}, next_token)


@operation(SC, "DescribeProduct")
def describe_product(ctx, params):
    """A launchable product with its active versions and the caller's launch paths."""
    validate_request(ctx, params)
    product, paths = launchable_product(ctx, {"ProductId": params.get("Id"), "ProductName": params.get("Name")})
    return {"ProductViewSummary": product_view_summary(product, len(paths) == 1),
            "ProvisioningArtifacts": [artifact_summary(a) for a in product["artifacts"] if a["Active"]],
            "Budgets": [], "LaunchPaths": [{"Id": path["Id"], "Name": path_name(ctx, path)} for path in paths]}


@operation(SC, "ListLaunchPaths")
def list_launch_paths(ctx, params):
    """The caller's launch paths of a product, with their constraint summaries, paged."""
    validate_request(ctx, params)
    _product, paths = launchable_product(ctx, {"ProductId": params["ProductId"]})
    summaries = [{"Id": path["Id"], "ConstraintSummaries": path["constraints"],
                  "Tags": table(ctx, "portfolios")[path["portfolio_id"]]["Tags"], "Name": path_name(ctx, path)}
                 for path in paths]
    items, next_token = page(ctx, summaries, params, 20)
    return with_next_token({"LaunchPathSummaries": items}, next_token)


@operation(SC, "DescribeProvisioningParameters")
def describe_provisioning_parameters(ctx, params):
    """What the launch form needs: parameters with their constraints (as strings), the path's
    constraint summaries, usage instructions and the template's outputs."""
    validate_request(ctx, params)
    product, paths = launchable_product(ctx, params)
    artifact = find_artifact(product, params)
    path = choose_path(ctx, paths, params)
    outputs = artifact["template"]["outputs"]
    instructions = [{"Type": "rules", "Value": "{}"}, {"Type": "version", "Value": "2010-09-09"},
                    {"Type": "tagUpdateOnProvisionedProduct", "Value": "NOT_ALLOWED"}]
    role = launch_role_arn(path, ctx.account_id)
    if role:
        instructions.append({"Type": "launchAsRole", "Value": role})
    return {"ProvisioningArtifactParameters": template_parameters(ctx, product, artifact),
            "ConstraintSummaries": path["constraints"], "UsageInstructions": instructions, "TagOptions": [],
            "ProvisioningArtifactOutputs": outputs, "ProvisioningArtifactOutputKeys": outputs}


@operation(SC, "ListProvisioningArtifacts")
def list_provisioning_artifacts(ctx, params):
    """Every version of a product the caller owns or sees through a shared portfolio."""
    validate_request(ctx, params)
    product = visible_product(ctx, {"ProductId": params["ProductId"]})
    return {"ProvisioningArtifactDetails": [artifact_detail(a) for a in product["artifacts"]]}


@operation(SC, "DescribeProvisioningArtifact")
def describe_provisioning_artifact(ctx, params):
    """One version of a product; Verbose adds the template URL, IncludeProvisioningArtifactParameters
    its parameters."""
    validate_request(ctx, params)
    product = visible_product(ctx, params)
    artifact = find_artifact(product, params)
    answer = {"ProvisioningArtifactDetail": artifact_detail(artifact), "Status": "AVAILABLE"}
    if params.get("Verbose") and artifact["info"]:
        answer["Info"] = dict(artifact["info"])
    if params.get("IncludeProvisioningArtifactParameters"):
        answer["ProvisioningArtifactParameters"] = template_parameters(ctx, product, artifact)
    return answer

