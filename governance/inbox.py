"""Model versions waiting for a decision in the approvals inbox (portal.inbox): the queue is
``selectors.approval_queue_for_user`` (separation of duties and delegations applied); decisions go
through ``services.model_version_approve``/``model_version_reject``, which check the gates again."""
from django.urls import reverse

from governance import selectors, services
from governance.models import ModelVersion
from governance.transitions import WAITING_FOR
from portal.inbox import InboxKind, InboxRow, register_kind, risk_of
from portal.permissions import has_perm

KIND = "model_version"
STAGE_LABELS = {1: "Stage 1: team lead", 2: "Stage 2: model approver", 3: "Stage 3: production sign-off"}
STAGE_OF = {state: stage for stage, state in WAITING_FOR.items()}


def decides_something(user) -> bool:
    return any(has_perm(user, action, ModelVersion) for action in services.STAGE_ACTIONS.values())


def _metric_summary(version: ModelVersion, prod: ModelVersion | None) -> str:
    parts = []
    for metric in selectors.metric_rows(version, prod if prod and prod.pk != version.pk else None)[:3]:
        text = f"{metric['name']} {metric['value']}"
        if metric["prod_value"] is not None:
            text += f" (prod {metric['prod_value']})"
        parts.append(text)
    return ", ".join(parts)


def _rows(user, versions) -> list[InboxRow]:
    """Three queries for any number of versions: production baselines and approved cards."""
    prod = selectors.prod_versions_by_group(v.group_id for v in versions)
    approved = selectors._with_approved_card(versions)
    rows = []
    for version in versions:
        stage = STAGE_OF.get(version.stage)
        card = selectors.model_card_status(version, approved)
        metrics = _metric_summary(version, prod.get(version.group_id))
        team = version.team
        rows.append(InboxRow(
            kind=KIND, kind_label="Model version", id=version.pk, title=f"{version.group.name} v{version.version}",
            team=team.name if team else "", team_slug=team.slug if team else "",
            line_of_business=team.line_of_business if team else "",
            waiting_since=version.stage_changed_at or version.created_at or version.synced_at,
            url=reverse("governance:version_detail", args=[version.pk]),
            summary=f"{STAGE_LABELS.get(stage, '')}; card {card}" + (f"; {metrics}" if metrics else ""),
            risk=risk_of(high=stage == 3, medium=stage == 2),
            context={"stage": stage, "card_status": card, "datasets": version.upstream_dataset_count}))
    return rows


def register() -> None:
    register_kind(InboxKind(
        key=KIND, label="Model version", order=30, visible=decides_something, delegable=False,
        decidable=lambda user, delegate=None: selectors.approval_queue_for_user(user), rows=_rows,
        # on_behalf_of is not passed on: the governance gates find the delegator themselves
        approve=lambda *, actor, item, comment="", on_behalf_of=None: services.model_version_approve(
            actor=actor, version=item, comment=comment),
        deny=lambda *, actor, item, comment, on_behalf_of=None: services.model_version_reject(
            actor=actor, version=item, comment=comment)))
