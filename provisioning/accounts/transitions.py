"""The account request state machine: one table, pure Python.

(state, action) -> next state. Anything not in the table raises ``InvalidTransition`` (HTTP 409
in the API, a message on the page).
"""
from portal.errors import InvalidTransition
from provisioning.accounts.models import AccountState as S

TRANSITIONS: dict[tuple[str, str], str] = {
    (S.SUBMITTED, "require_approval"): S.PENDING_APPROVAL,
    (S.PENDING_APPROVAL, "approve"): S.APPROVED,
    (S.PENDING_APPROVAL, "reject"): S.REJECTED,
    # Budgets above ACCOUNT_VENDING_SECOND_APPROVAL_BUDGET_USD: a first approval, then a second one by
    # another platform admin (the service checks who; the table only knows the order).
    (S.PENDING_APPROVAL, "approve_first"): S.PENDING_SECOND_APPROVAL,
    (S.PENDING_SECOND_APPROVAL, "approve"): S.APPROVED,
    (S.PENDING_SECOND_APPROVAL, "reject"): S.REJECTED,
    (S.PENDING_SECOND_APPROVAL, "cancel"): S.CANCELLED,
    (S.APPROVED, "enqueue"): S.QUEUED,
    (S.QUEUED, "start"): S.CREATING,
    (S.CREATING, "created"): S.MOVING_TO_OU,
    (S.MOVING_TO_OU, "moved"): S.BASELINING,
    (S.BASELINING, "finish"): S.READY,
    (S.CREATING, "fail"): S.FAILED,
    (S.MOVING_TO_OU, "fail"): S.FAILED,
    (S.BASELINING, "fail"): S.FAILED,
    (S.FAILED, "retry"): S.QUEUED,
    (S.SUBMITTED, "cancel"): S.CANCELLED,
    (S.PENDING_APPROVAL, "cancel"): S.CANCELLED,
    (S.APPROVED, "cancel"): S.CANCELLED,
    (S.QUEUED, "cancel"): S.CANCELLED,
    # Closing a ready account: a request, a platform admin's decision, then CloseAccount. A failed
    # close returns the account to ready with the reason in the step log.
    (S.READY, "request_close"): S.CLOSE_PENDING,
    (S.CLOSE_PENDING, "approve_close"): S.CLOSING,
    (S.CLOSE_PENDING, "reject_close"): S.READY,
    (S.CLOSING, "closed"): S.CLOSED,
    (S.CLOSING, "close_failed"): S.READY,
}

ACTION_LABELS = {"require_approval": "go for approval", "approve": "be approved",
                 "approve_first": "get its first approval", "reject": "be rejected",
                 "enqueue": "be queued", "start": "start", "created": "finish creating", "moved": "be placed",
                 "finish": "finish", "fail": "fail", "retry": "be retried", "cancel": "be cancelled",
                 "request_close": "be closed", "approve_close": "be closed", "reject_close": "keep running",
                 "closed": "finish closing", "close_failed": "fail closing"}


def next_state(state: str, action: str) -> str:
    """The state ``action`` leads to from ``state``; InvalidTransition when the table has no such edge."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        label = S(state).label.lower() if state in S.values else state
        raise InvalidTransition(
            f"This account request is {label}; it cannot {ACTION_LABELS.get(action, action)} now.") from None


def allowed_actions(state: str) -> set[str]:
    return {action for (source, action) in TRANSITIONS if source == state}
