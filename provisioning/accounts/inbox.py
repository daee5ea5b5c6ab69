"""Account requests (and closures) in the approvals inbox (portal.inbox); decisions go through
``services.account_request_approve``/``account_request_reject``."""
from django.db.models import Q
from django.urls import reverse

from portal.inbox import InboxKind, InboxRow, register_kind, risk_of, undecidable_rows
from portal.models import Environment
from portal.permissions import has_perm, teams_for, users_with_perm
from provisioning.accounts import selectors, services
from provisioning.accounts.models import AWAITING_DECISION, AccountApproval, AccountRequest, AccountState

KIND = "account_request"


def decidable_for_user(user, delegate=None):
    """Requests waiting for a decision ``user`` may take now: platform admins' scope, not their own
    request, not a second approval of a request they approved first (in person or through a
    delegate). With ``delegate``: the same holds for the delegate too."""
    teams = teams_for(user, AccountRequest, "approve")
    items = AccountRequest.objects.filter(state__in=[*AWAITING_DECISION, AccountState.CLOSE_PENDING])
    if teams is not None:
        items = items.filter(team_id__in=teams)
    people = [user] + ([delegate] if delegate is not None else [])
    items = items.exclude(Q(requester__in=people) & Q(state__in=AWAITING_DECISION)).exclude(
        pk__in=AccountApproval.objects.filter(Q(decided_by__in=people) | Q(on_behalf_of__in=people),
                                              decision=AccountApproval.Decision.APPROVE,
                                              request__state=AccountState.PENDING_SECOND_APPROVAL)
        .values("request_id"))
    return selectors.with_approvals(items.select_related("team", "requester")).order_by("state_changed_at", "id")


def _row(item: AccountRequest, reason: str = "") -> InboxRow:
    closing = item.state == AccountState.CLOSE_PENDING
    given = sum(1 for a in item.approvals.all() if a.decision == AccountApproval.Decision.APPROVE)
    if closing:
        summary = f"Close account {item.account_id} ({item.environment}, {item.ou_path})"
    else:
        summary = (f"{item.get_environment_display()} account in {item.ou_path}, "
                   f"${item.monthly_budget_usd:,}/month, by {item.requester.get_username()}; "
                   f"approvals {given} of {item.approvals_required}")
    return InboxRow(
        kind=KIND, kind_label="Account closure" if closing else "Account request", id=item.pk,
        title=item.account_name, team=item.team.name, team_slug=item.team.slug,
        line_of_business=item.team.line_of_business, waiting_since=item.state_changed_at,
        url=reverse("account_vending:request_detail", args=[item.pk]), summary=summary,
        amount=item.monthly_budget_usd,
        risk=risk_of(high=closing or item.environment == Environment.PROD or item.approvals_required > 1,
                     medium=item.monthly_budget_usd > 0),
        reason=reason, context={"ou_path": item.ou_path, "approvals_given": given,
                                "approvals_required": item.approvals_required, "closure": closing})


def _rows(user, items) -> list[InboxRow]:
    return [_row(item) for item in items]


def _pending():
    return selectors.with_approvals(AccountRequest.objects.filter(
        state__in=[*AWAITING_DECISION, AccountState.CLOSE_PENDING]).select_related("team", "requester"))


def _deciders(item: AccountRequest):
    return users_with_perm("approve", AccountRequest, item.team_id).exclude(pk=item.requester_id)


def _undecidable() -> list[InboxRow]:
    items = selectors.with_approvals(AccountRequest.objects.filter(state__in=AWAITING_DECISION)
                                     .select_related("team", "requester"))
    return undecidable_rows(items, approver_ids=services.approver_ids, reason=services.undecidable_reason,
                            row=_row)


def register() -> None:
    register_kind(InboxKind(
        key=KIND, label="Account request", order=20,
        visible=lambda user: has_perm(user, "approve", AccountRequest),
        decidable=decidable_for_user, rows=_rows,
        approve=lambda *, actor, item, comment="", on_behalf_of=None: services.account_request_approve(
            actor=actor, request=item, comment=comment, on_behalf_of=on_behalf_of),
        deny=lambda *, actor, item, comment, on_behalf_of=None: services.account_request_reject(
            actor=actor, request=item, comment=comment, on_behalf_of=on_behalf_of),
        undecidable=_undecidable, pending=_pending, deciders=_deciders))
