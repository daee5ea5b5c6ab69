"""Service Catalog inventory: records, provisioned products and their outputs, as the caller's
account sees them. Every read first settles the records whose time has come."""
from __future__ import annotations

from sandbox.core.registry import operation
from sandbox.services.servicecatalog_model import (
    caller_identity, here, invalid, not_found, page, table, validate_request, with_next_token,
)
from sandbox.services.servicecatalog_provisioning import (
    SC, TERMINATE, find_pp, outputs_list, pp_attributes, pp_detail, record_detail, settle,
)


def access_filter(ctx, params: dict):
    """AccessLevelFilter (Account|Role|User, value ``self``) as a predicate on items with UserArn*."""
    level = params.get("AccessLevelFilter") or {"Key": "Account", "Value": "self"}
    if level.get("Value", "self") != "self":
        raise invalid("The AccessLevelFilter value must be 'self'.")
    role_arn, session_arn = caller_identity(ctx)
    key = level.get("Key", "Account")
    return lambda item: (key == "Account" or (key == "Role" and item["UserArn"] == role_arn)
                         or (key == "User" and item["UserArnSession"] == session_arn))


@operation(SC, "DescribeRecord")
def describe_record(ctx, params):
    """A record of the caller's account, with its outputs once it SUCCEEDED (paged)."""
    validate_request(ctx, params)
    settle(ctx)
    record = table(ctx, "records").get(params["Id"])
    if record is None or not here(ctx, record):
        raise not_found(f"Record {params['Id']} not found.")
    outputs = []
    if record["outcome"] == "SUCCEEDED" and record["RecordType"] != TERMINATE:
        outputs = outputs_list(record["outputs"], table(ctx, "products")[record["ProductId"]],
                                record["ProvisioningArtifactId"])
    items, next_token = page(ctx, outputs, params, 20)
    return with_next_token({"RecordDetail": record_detail(ctx, record), "RecordOutputs": items}, next_token)


@operation(SC, "ListRecordHistory")
def list_record_history(ctx, params):
    """The caller's records, newest first; SearchFilter ``product`` or ``provisionedproduct``."""
    validate_request(ctx, params)
    settle(ctx)
    visible = access_filter(ctx, params)
    search = params.get("SearchFilter") or {}
    fields = {"product": "ProductId", "provisionedproduct": "ProvisionedProductId"}
    if search and search.get("Key") not in fields:
        raise invalid("SearchFilter Key must be one of: product, provisionedproduct.")
    matching = [record for record in table(ctx, "records").values()
                if here(ctx, record) and visible(record)
                and (not search or record[fields[search["Key"]]] == search.get("Value"))]
    matching.sort(key=lambda record: record["seq"], reverse=True)
    items, next_token = page(ctx, matching, params, 20)
    return with_next_token({"RecordDetails": [record_detail(ctx, record) for record in items]}, next_token)


@operation(SC, "DescribeProvisionedProduct")
def describe_provisioned_product(ctx, params):
    """One provisioned product of the caller's account by Id xor Name."""
    validate_request(ctx, params)
    settle(ctx)
    return {"ProvisionedProductDetail": pp_detail(find_pp(ctx, params)), "CloudWatchDashboards": []}


_SEARCH_FIELDS = {
    "arn": "Arn", "createdtime": "CreatedTime", "id": "Id", "lastrecordid": "LastRecordId",
    "idempotencytoken": "IdempotencyToken", "name": "Name", "physicalid": "PhysicalId", "productid": "ProductId",
    "provisioningartifactid": "ProvisioningArtifactId", "type": "Type", "status": "Status", "userarn": "UserArn",
    "userarnsession": "UserArnSession", "lastprovisioningrecordid": "LastProvisioningRecordId",
    "lastsuccessfulprovisioningrecordid": "LastSuccessfulProvisioningRecordId", "productname": "ProductName",
    "provisioningartifactname": "ProvisioningArtifactName",
}
_SORT_FIELDS = {"arn": "Arn", "id": "Id", "name": "Name", "lastRecordId": "LastRecordId"}


def _matches_query(attributes: dict, term: str) -> bool:
    """One SearchQuery term: ``field:value`` (case-insensitive substring), ``tags.key:value``,
    ``tags:text``, or free text matched against name, id, ARN and product name."""
    field, separator, wanted = term.partition(":")
    wanted, field = wanted.lower(), field.lower()
    if field.startswith("tags.") and wanted:
        return any(tag["Key"].lower() == field[5:] and tag["Value"].lower() == wanted for tag in attributes["Tags"])
    if field == "tags":
        return any(wanted in tag["Key"].lower() or wanted in tag["Value"].lower() for tag in attributes["Tags"])
    if field in _SEARCH_FIELDS and separator:
        return wanted in str(attributes.get(_SEARCH_FIELDS[field], "")).lower()
    text = term.lower()
    return any(text in str(attributes.get(name, "")).lower() for name in ("Name", "Id", "Arn", "ProductName"))


@operation(SC, "SearchProvisionedProducts")
def search_provisioned_products(ctx, params):
    """The caller's provisioned products matching every SearchQuery term, optionally sorted, paged."""
    validate_request(ctx, params)
    settle(ctx)
    filters = params.get("Filters") or {}
    if set(filters) - {"SearchQuery"}:
        raise invalid("Only the SearchQuery filter is supported.")
    sort_by = params.get("SortBy")
    if sort_by and sort_by not in _SORT_FIELDS:
        raise invalid(f"SortBy must be one of: {', '.join(_SORT_FIELDS)}.")
    visible = access_filter(ctx, params)
    found = [pp_attributes(ctx, pp) for pp in table(ctx, "provisioned").values() if here(ctx, pp) and visible(pp)]
    found = [attributes for attributes in found
             if all(_matches_query(attributes, term) for term in filters.get("SearchQuery", []))]
    if sort_by:
        found.sort(key=lambda attributes: attributes.get(_SORT_FIELDS[sort_by]) or "",
                   reverse=params.get("SortOrder") == "DESCENDING")
    items, next_token = page(ctx, found, params, 100)
    return with_next_token({"ProvisionedProducts": items, "TotalResultsCount": len(found)}, next_token)


@operation(SC, "ScanProvisionedProducts")
def scan_provisioned_products(ctx, params):
    """Every provisioned product of the caller's account (AccessLevelFilter applies), paged."""
    validate_request(ctx, params)
    settle(ctx)
    visible = access_filter(ctx, params)
    found = [pp_detail(pp) for pp in table(ctx, "provisioned").values() if here(ctx, pp) and visible(pp)]
    items, next_token = page(ctx, found, params, 20)
    return with_next_token({"ProvisionedProducts": items}, next_token)


@operation(SC, "GetProvisionedProductOutputs")
def get_provisioned_product_outputs(ctx, params):
    """The outputs of the provisioned product's last successful provisioning or update."""
    validate_request(ctx, params)
    settle(ctx)
    pp = find_pp(ctx, params, "ProvisionedProductId", "ProvisionedProductName")
    outputs = outputs_list(pp["outputs"], table(ctx, "products")[pp["ProductId"]], pp["ProvisioningArtifactId"])
    wanted = params.get("OutputKeys")
    if wanted:
        outputs = [output for output in outputs if output["OutputKey"] in wanted]
    items, next_token = page(ctx, outputs, params, 20)
    return with_next_token({"Outputs": items}, next_token)
