"""Provisioning requests in the approvals inbox (portal.inbox): the queue is
``selectors.approvals_for_user``; decisions go through ``services.request_approve``/``request_reject``."""
from django.urls import reverse

from portal.inbox import InboxKind, InboxRow, register_kind, risk_of, undecidable_rows
from portal.models import Environment
from portal.permissions import has_perm
from provisioning import selectors, services
from provisioning.models import ProvisioningRequest, RequestState

KIND = "provisioning_request"


def _row(item: ProvisioningRequest, reason: str = "") -> InboxRow:
    return InboxRow(
        kind=KIND, kind_label="Provisioning request", id=item.pk, title=item.name, team=item.team.name,
        team_slug=item.team.slug, line_of_business=item.team.line_of_business,
        waiting_since=item.submitted_at or item.state_changed_at,
        url=reverse("provisioning:request_detail", args=[item.pk]),
        summary=f"{item.product.name} {item.version.name} in {item.account.name}, by {item.requester.get_username()}"
                + (f". {item.approval_reason}" if item.approval_reason else ""),
        amount=item.estimated_monthly_usd, over_budget=item.over_budget,
        risk=risk_of(high=item.over_budget or item.account.environment == Environment.PROD,
                     medium=item.estimated_monthly_usd > 0),
        reason=reason, context={"requester": item.requester.get_username(), "account": item.account.name})


def _decidable(user, delegate=None):
    """The user's queue; for their delegate, minus the delegate's own requests."""
    items = selectors.approvals_for_user(user)
    return items.exclude(requester=delegate) if delegate is not None else items


def _rows(user, items) -> list[InboxRow]:
    return [_row(item) for item in items]


def _pending():
    return (ProvisioningRequest.objects.filter(state=RequestState.PENDING_APPROVAL)
            .select_related("team", "requester", "product", "account", "version").defer("secret_parameters"))


def _undecidable() -> list[InboxRow]:
    return undecidable_rows(_pending(), approver_ids=services.approver_ids, reason=services.undecidable_reason,
                            row=_row)


def register() -> None:
    register_kind(InboxKind(
        key=KIND, label="Provisioning request", order=10,
        visible=lambda user: has_perm(user, "approve", ProvisioningRequest),
        decidable=_decidable, rows=_rows,
        approve=lambda *, actor, item, comment="", on_behalf_of=None: services.request_approve(
            actor=actor, request=item, comment=comment, on_behalf_of=on_behalf_of),
        deny=lambda *, actor, item, comment, on_behalf_of=None: services.request_reject(
            actor=actor, request=item, comment=comment, on_behalf_of=on_behalf_of),
        undecidable=_undecidable, pending=_pending, deciders=services._approvers))
