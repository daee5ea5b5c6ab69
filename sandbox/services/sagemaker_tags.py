"""SageMaker AddTags / ListTags / DeleteTags for every resource the sandbox owns.

Each module that owns a SageMaker resource type registers how to reach a resource's tag list:
``register_taggable("model-package-group", tags_of)`` where ``tags_of(ctx, arn)`` returns the
record's mutable ``[{"Key", "Value"}]`` list, or None when no such resource exists.
"""
from __future__ import annotations

from typing import Callable

from sandbox.core.errors import AwsError
from sandbox.services.sagemaker_common import merge_tags, paginate, sagemaker_operation, split_arn

MAX_TAGS = 50
RESERVED_PREFIX = "aws:"

TAGGABLE: dict[str, Callable] = {}   # ARN resource type -> tags_of(ctx, arn)


def register_taggable(resource_type: str, tags_of: Callable) -> None:
    TAGGABLE[resource_type] = tags_of


def _tag_list(ctx, arn: str) -> list:
    _region, account, resource_type, _rest = split_arn(arn)
    tags_of = TAGGABLE.get(resource_type)
    tags = tags_of(ctx, arn) if tags_of and account == ctx.account_id else None
    if tags is None:
        raise AwsError("ValidationException", f"Resource {arn} does not exist or is not taggable.")
    return tags


def _check_not_reserved(keys) -> None:
    reserved = [key for key in keys if key.lower().startswith(RESERVED_PREFIX)]
    if reserved:
        raise AwsError("ValidationException",
                       f"Tag keys starting with '{RESERVED_PREFIX}' are reserved for AWS use: {', '.join(reserved)}")


@sagemaker_operation("AddTags", key=lambda p: p["ResourceArn"])
def add_tags(ctx, params):
    """Add or overwrite tags (same key replaces the value); at most 50 tags per resource."""
    tags = _tag_list(ctx, params["ResourceArn"])
    _check_not_reserved(tag["Key"] for tag in params["Tags"])
    merged = merge_tags(tags, params["Tags"])
    if len(merged) > MAX_TAGS:
        raise AwsError("ValidationException", f"A resource can have at most {MAX_TAGS} tags.")
    tags[:] = merged
    return {"Tags": params["Tags"]}


@sagemaker_operation("ListTags")
def list_tags(ctx, params):
    page, token = paginate(ctx, _tag_list(ctx, params["ResourceArn"]), params, default_size=MAX_TAGS)
    return {"Tags": page, **({"NextToken": token} if token else {})}


@sagemaker_operation("DeleteTags", key=lambda p: p["ResourceArn"])
def delete_tags(ctx, params):
    """Remove the given keys; keys the resource does not have are ignored, as in AWS."""
    tags = _tag_list(ctx, params["ResourceArn"])
    _check_not_reserved(params["TagKeys"])
    tags[:] = [tag for tag in tags if tag["Key"] not in params["TagKeys"]]
    return {}
