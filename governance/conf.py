"""Governance settings, read from Django settings when set there, else from the environment.

GOVERNANCE_CENTRAL_ACCOUNT_ID   the shared-services account holding the central model registry
                                (default "222222222203", the sandbox's shared-services account).
GOVERNANCE_EVENT_SECRET         shared secret EventBridge (API destination) or the sandbox's webhook
                                sends in the X-Portal-Event-Secret header; empty disables the endpoint.
GOVERNANCE_CARD_REQUIRED_LINES_OF_BUSINESS
                                lines of business whose models need an Approved model card before
                                stage 2 (comma-separated in the environment; "*" means every line).
                                Default empty: off until model cards exist (issue 7).
GOVERNANCE_DEPLOY_PRODUCT_NAME  the Service Catalog product that deploys to test and prod.
GOVERNANCE_DEPLOY_PRODUCT_VERSION  its provisioning artifact (version) name, default "v1.0".
GOVERNANCE_REMINDER_DAYS        a version waiting this many days for a decision reminds its deciders
                                (again every as many days); default 3.
GOVERNANCE_ESCALATION_DAYS      ... and after this many days it is escalated to the model approvers of
                                the team's line of business (once); default 7.
GOVERNANCE_FULL_SYNC_HOURS      how often the registry sync re-describes every version (the
                                incremental runs describe only new or changed ones).
"""
import os

from django.conf import settings

EVENT_HEADER = "X-Portal-Event-Secret"


def _get(name: str, default: str) -> str:
    return getattr(settings, name, None) if hasattr(settings, name) else os.environ.get(name, default)


def central_account_id() -> str:
    return str(_get("GOVERNANCE_CENTRAL_ACCOUNT_ID", "222222222203"))


def event_secret() -> str:
    return str(_get("GOVERNANCE_EVENT_SECRET", "") or "")


def card_required_lines_of_business() -> set[str]:
    value = _get("GOVERNANCE_CARD_REQUIRED_LINES_OF_BUSINESS", "")
    items = value.split(",") if isinstance(value, str) else list(value or [])
    return {item.strip() for item in items if item.strip()}


def deploy_product_name() -> str:
    return str(_get("GOVERNANCE_DEPLOY_PRODUCT_NAME", "MLOps Project: Multi-account Model Deploy"))


def deploy_product_version() -> str:
    return str(_get("GOVERNANCE_DEPLOY_PRODUCT_VERSION", "v1.0"))


def full_sync_hours() -> float:
    return float(_get("GOVERNANCE_FULL_SYNC_HOURS", "6"))


def reminder_days() -> int:
    return int(_get("GOVERNANCE_REMINDER_DAYS", "3"))


def escalation_days() -> int:
    return int(_get("GOVERNANCE_ESCALATION_DAYS", "7"))


def endpoint_instance_type() -> str:
    return str(_get("GOVERNANCE_ENDPOINT_INSTANCE_TYPE", "ml.m5.large"))
