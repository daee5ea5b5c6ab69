"""Reads shared by governance pages and API: always scoped with portal.permissions.scope first.

The model card gate: stage 2 asks ``model_card_required(version)`` (on when
GOVERNANCE_CARD_REQUIRED_LINES_OF_BUSINESS names the team's line of business, or "*") and
``model_card_approved(version)`` (an Approved card in governance.cards for the version or the dev
version it was promoted from).
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from governance import conf
from governance.models import ApprovalDecision, Deployment, DeploymentStatus, ModelGroup, ModelVersion, Stage
from governance.transitions import WAITING_FOR, progress_percent
from portal.permissions import SYSTEM, has_perm, scope, teams_for
from portal.selectors import active_delegations_to, delegations_of  # noqa: F401  (the core owns delegations)

DEPLOYED_STAGES = {"test": [Stage.IN_TEST, Stage.PROD_APPROVED, Stage.DEPLOYING_PROD], "prod": [Stage.IN_PROD]}


# -- the model card seam -----------------------------------------------------------------------
def model_card_required(version: ModelVersion) -> bool:
    """Whether stage 2 needs an Approved model card for this version (policy per line of business)."""
    lines = conf.card_required_lines_of_business()
    if not lines:
        return False
    return "*" in lines or (version.team is not None and version.team.line_of_business in lines)


def _with_approved_card(versions) -> set[int]:
    """Ids among ``versions`` (or the dev versions they were promoted from) that have an Approved
    model card (governance.cards). One query for any number of versions."""
    from governance.cards.selectors import versions_with_approved_card

    versions = list(versions)
    approved = versions_with_approved_card(
        {v.pk for v in versions} | {v.promoted_from_id for v in versions if v.promoted_from_id})
    return {v.pk for v in versions if v.pk in approved or v.promoted_from_id in approved}


def model_card_approved(version: ModelVersion) -> bool:
    """Is there an Approved model card for this version (or the dev version it was promoted from)?"""
    return version.pk in _with_approved_card([version])


def model_card_status(version: ModelVersion, approved_ids: set[int] | None = None) -> str:
    """What the queue shows: "approved", "missing" (required, none approved) or "not required".
    ``approved_ids`` (from ``_with_approved_card``) saves the query when showing many versions."""
    approved = version.pk in approved_ids if approved_ids is not None else model_card_approved(version)
    if approved:
        return "approved"
    return "missing" if model_card_required(version) else "not required"


CARD_FILTERS = ("approved", "none")   # ?card= on the model dashboard and /api/v1/model-versions/


def _approved_card_exists():
    """An Approved card documents the version or the dev version it was promoted from
    (index model_cards(model_version, status))."""
    from governance.cards.models import CardStatus, ModelCard

    approved = ModelCard.objects.filter(status=CardStatus.APPROVED)
    return Q(Exists(approved.filter(model_version_id=OuterRef("pk")))) | Q(
        Exists(approved.filter(model_version_id=OuterRef("promoted_from_id"))))


# -- scoping helpers ---------------------------------------------------------------------------
def _base_versions() -> QuerySet:
    return ModelVersion.objects.select_related("group", "team", "registered_by", "group__account")


def version_list_for_user(user, *, team: str = "", stage: str = "", approval_status: str = "",
                          deployed: str = "", card: str = "", q: str = "", registry: str = "chain") -> QuerySet:
    """Versions the user may see, filtered. ``registry``: "chain" (the versions with a promotion
    chain: dev versions and central ones registered there directly), "central" (central copies
    included) or "all". Every filter is backed by an index."""
    queryset = scope(user, _base_versions(), "view")
    if registry == "chain":
        queryset = queryset.filter(promoted_from__isnull=True)
    elif registry == "central":
        queryset = queryset.filter(group__is_central=True)
    if team:
        queryset = queryset.filter(team__slug=team)
    if stage:
        queryset = queryset.filter(stage=stage)
    if approval_status:
        queryset = queryset.filter(approval_status=approval_status)
    if deployed in DEPLOYED_STAGES:
        queryset = queryset.filter(stage__in=DEPLOYED_STAGES[deployed])
    if card in CARD_FILTERS:
        queryset = queryset.filter(_approved_card_exists() if card == "approved" else ~_approved_card_exists())
    if q:
        queryset = queryset.filter(group__name__startswith=q.strip())
    return queryset.order_by("-created_at", "-id")


LIVE_STAGES = {Stage.IN_TEST: ("test",), Stage.PROD_APPROVED: ("test",), Stage.DEPLOYING_PROD: ("test",),
               Stage.IN_PROD: ("prod", "test")}


def with_endpoints(queryset: QuerySet) -> QuerySet:
    """Adds ``live_deployments`` (succeeded, newest first): one query for a whole page."""
    return queryset.prefetch_related(Prefetch(
        "deployments", to_attr="live_deployments",
        queryset=Deployment.objects.filter(status=DeploymentStatus.SUCCEEDED).order_by("-created_at", "-id")))


def endpoints_of(version: ModelVersion) -> list[Deployment]:
    """Where the version serves now: its latest endpoint per environment its stage is live in."""
    found = {}
    for deployment in getattr(version, "live_deployments", []):
        if deployment.environment in LIVE_STAGES.get(version.stage, ()) and deployment.environment not in found:
            found[deployment.environment] = deployment
    return list(found.values())


def version_detail_for_user(user, pk: int) -> ModelVersion:
    """One visible version (404 otherwise) with its decisions and deployments."""
    queryset = scope(user, _base_versions(), "view").prefetch_related(
        Prefetch("decisions", queryset=ApprovalDecision.objects.select_related("actor")),
        Prefetch("deployments", queryset=Deployment.objects.order_by("-created_at", "-id")))
    return get_object_or_404(queryset, pk=pk)


def group_list_for_user(user, *, team: str = "", central: str = "") -> QuerySet:
    queryset = scope(user, ModelGroup.objects.select_related("team", "account"), "view")
    if team:
        queryset = queryset.filter(team__slug=team)
    if central in ("true", "false"):
        queryset = queryset.filter(is_central=central == "true")
    return queryset.order_by("name", "id")


# -- the approval queue ------------------------------------------------------------------------
def delegator_for(user, action: str, version: ModelVersion):
    """The delegator ``user`` currently stands in for who may ``action`` this version, or None."""
    for delegation in active_delegations_to(user):
        if delegation.delegator.is_active and has_perm(delegation.delegator, action, ModelVersion, version.team_id):
            return delegation.delegator
    return None


def _queue_condition(user) -> Q:
    """Versions waiting for a decision ``user`` may take in their own right."""
    conditions = Q(pk__in=[])
    for stage, action in ((1, "approve_stage1"), (2, "approve_stage2"), (3, "signoff")):
        teams = teams_for(user, ModelVersion, action)
        if teams is not None and not teams:
            continue
        condition = Q(stage=WAITING_FOR[stage])
        if teams is not None:
            condition &= Q(team_id__in=teams)
        if stage == 2 and user is not SYSTEM:   # not what they approved at stage 1
            condition &= ~Q(decisions__stage=1, decisions__actor=user)
        conditions |= condition
    return conditions


def approval_queue_for_user(user) -> QuerySet:
    """The versions waiting for a decision ``user`` may take: stage 1 in teams they lead, stage 2
    if they are a model approver (in their lines of business), stage 3 in teams where they are an
    ML engineer. Versions they registered, and stage 2 of versions they approved at stage 1, are
    left out (they could not decide them). A delegate also sees what their delegators could decide.
    Oldest first."""
    if not user.is_authenticated:
        return ModelVersion.objects.none()
    conditions = _queue_condition(user)
    for delegation in active_delegations_to(user):   # what they decide for colleagues who are away
        conditions |= _queue_condition(delegation.delegator) & ~Q(registered_by=delegation.delegator)
    queryset = ModelVersion.objects.filter(conditions, promoted_from__isnull=True)
    if user is not SYSTEM and getattr(user, "pk", None):
        queryset = queryset.exclude(registered_by=user)
    return (queryset.select_related("group", "team", "registered_by")
            .order_by("stage_changed_at", "id").distinct())


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        return None


def metric_rows(version: ModelVersion, prod: ModelVersion | None) -> list[dict]:
    """name, value, the prod version's value and the delta (Decimal) for each headline metric."""
    rows = []
    for name, value in sorted(version.metrics.items()):
        prod_value = prod.metrics.get(name) if prod else None
        current, baseline = _decimal(value), _decimal(prod_value)
        delta = current - baseline if current is not None and baseline is not None else None
        rows.append({"name": name, "value": value, "prod_value": prod_value, "delta": delta})
    return rows


def prod_versions_by_group(group_ids) -> dict[int, ModelVersion]:
    """The version in production for each group (one query)."""
    return {version.group_id: version for version in
            ModelVersion.objects.filter(group_id__in=set(group_ids), stage=Stage.IN_PROD)}


def with_context(versions, *, now=None) -> list[dict]:
    """Queue rows: the version plus the context to decide (metrics vs prod with deltas, card
    status, lineage summary, requester's note, age, which stage). Three queries whatever the count."""
    versions = list(versions)
    now = now or timezone.now()
    prod = prod_versions_by_group(v.group_id for v in versions)
    approved_cards = _with_approved_card(versions)
    stage_of = {state: stage for stage, state in WAITING_FOR.items()}
    rows = []
    for version in versions:
        baseline = prod.get(version.group_id)
        waited = now - (version.stage_changed_at or version.created_at or now)
        rows.append({"version": version, "stage": stage_of.get(version.stage), "prod": baseline,
                     "metrics": metric_rows(version, baseline if baseline and baseline.pk != version.pk else None),
                     "card_status": model_card_status(version, approved_cards), "age": waited,
                     "age_days": max(waited, timedelta(0)).days, "note": version.description,
                     "datasets": version.upstream_dataset_count, "progress": progress_percent(version.stage),
                     "endpoints": endpoints_of(version)})
    return rows


def previous_prod_version(version: ModelVersion) -> ModelVersion | None:
    """The version that was in production before ``version`` (the rollback target)."""
    return (ModelVersion.objects.filter(group_id=version.group_id, stage=Stage.SUPERSEDED)
            .exclude(pk=version.pk).order_by("-stage_changed_at", "-id").first())


def current_deployments(version: ModelVersion) -> dict[str, Deployment]:
    """The latest successful deployment per environment."""
    found = {}
    for deployment in version.deployments.all():
        if deployment.status == DeploymentStatus.SUCCEEDED and deployment.environment not in found:
            found[deployment.environment] = deployment
    return found


def is_model_approver_for(user, version: ModelVersion) -> bool:
    """A model approver whose role covers the version's team (its line of business)."""
    return has_perm(user, "approve_stage2", ModelVersion, version.team_id)
