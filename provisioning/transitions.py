"""The provisioning request state machine (DESIGN.md §5): one table, pure Python.

(state, action) -> next state. Services call ``next_state``; anything not in the table raises
``InvalidTransition`` (HTTP 409 in the API, a message on the page).
"""
from portal.errors import InvalidTransition
from provisioning.models import RequestState as S

TRANSITIONS: dict[tuple[str, str], str] = {
    (S.DRAFT, "submit"): S.SUBMITTED,
    (S.SUBMITTED, "require_approval"): S.PENDING_APPROVAL,
    (S.SUBMITTED, "auto_approve"): S.APPROVED,
    (S.PENDING_APPROVAL, "approve"): S.APPROVED,
    (S.PENDING_APPROVAL, "reject"): S.REJECTED,
    (S.DRAFT, "cancel"): S.CANCELLED,
    (S.SUBMITTED, "cancel"): S.CANCELLED,
    (S.PENDING_APPROVAL, "cancel"): S.CANCELLED,
    (S.APPROVED, "cancel"): S.CANCELLED,
    (S.APPROVED, "start"): S.PROVISIONING,
    (S.PROVISIONING, "succeed"): S.AVAILABLE,
    (S.PROVISIONING, "fail"): S.FAILED,
    (S.AVAILABLE, "update"): S.UPDATING,
    (S.UPDATING, "succeed"): S.AVAILABLE,
    (S.UPDATING, "fail"): S.FAILED,
    (S.AVAILABLE, "terminate"): S.TERMINATING,
    (S.TERMINATING, "succeed"): S.TERMINATED,
    (S.TERMINATING, "fail"): S.FAILED,
    # A failed operation may be retried (the same kind of operation again) or, when a product
    # exists in AWS, terminated.
    (S.FAILED, "retry_provision"): S.PROVISIONING,
    (S.FAILED, "retry_update"): S.UPDATING,
    (S.FAILED, "retry_terminate"): S.TERMINATING,
    (S.FAILED, "terminate"): S.TERMINATING,
}

ACTION_LABELS = {
    "submit": "submit", "require_approval": "send for approval", "auto_approve": "approve automatically",
    "approve": "approve", "reject": "reject", "cancel": "cancel", "start": "start provisioning",
    "succeed": "complete", "fail": "fail", "update": "update", "terminate": "terminate",
    "retry_provision": "retry", "retry_update": "retry", "retry_terminate": "retry",
}

TERMINAL_STATES = frozenset({S.REJECTED, S.CANCELLED, S.TERMINATED})


def next_state(state: str, action: str) -> str:
    """The state ``action`` leads to from ``state``; InvalidTransition when the table has no such edge."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        label = S(state).label.lower() if state in S.values else state
        raise InvalidTransition(
            f"This request is {label}; it cannot {ACTION_LABELS.get(action, action)} now.") from None


def allowed_actions(state: str) -> set[str]:
    return {action for (source, action) in TRANSITIONS if source == state}
