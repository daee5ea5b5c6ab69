"""The account request state machine, declared for the workflow engine (``portal.workflow``).

(state, action) -> next state, who may take each action (permission-registry actions of
``AccountRequest``; None: only the portal itself) and the terminal states. Anything not in the
table raises ``InvalidTransition`` (HTTP 409 in the API, a message on the page).
"""
from portal import workflow
from portal.workflow import SYSTEM_ONLY
from provisioning.accounts.models import AccountRequest, AccountRequestStep, AccountState as S

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

# name: (label completing "it cannot ... now", permission-registry action or SYSTEM_ONLY, public event)
ACTIONS = {
    "require_approval": ("go for approval", SYSTEM_ONLY), "approve": ("be approved", "approve"),
    "approve_first": ("get its first approval", "approve"), "reject": ("be rejected", "approve", "deny"),
    "enqueue": ("be queued", SYSTEM_ONLY), "start": ("start", SYSTEM_ONLY),
    "created": ("finish creating", SYSTEM_ONLY), "moved": ("be placed", SYSTEM_ONLY),
    "finish": ("finish", SYSTEM_ONLY, "ready"), "fail": ("fail", SYSTEM_ONLY), "retry": ("be retried", "approve"),
    "cancel": ("be cancelled", "change"), "request_close": ("be closed", "change"),
    "approve_close": ("be closed", "approve"), "reject_close": ("keep running", "approve"),
    "closed": ("finish closing", SYSTEM_ONLY), "close_failed": ("fail closing", SYSTEM_ONLY),
}
ACTION_LABELS = {name: spec[0] for name, spec in ACTIONS.items()}
TERMINAL_STATES = frozenset({S.REJECTED, S.CANCELLED, S.CLOSED})


def _on_change(item, source, target, now) -> None:
    item.state_changed_at = now


MACHINE = workflow.register(workflow.Machine.declare(
    kind="account_request", model=AccountRequest, choices=S, terminal=TERMINAL_STATES, actions=ACTIONS,
    edges=TRANSITIONS, noun="account request", step_model=AccountRequestStep, on_change=_on_change,
    url=lambda item: f"/account-requests/{item.pk}/"))

next_state = MACHINE.next_state
allowed_actions = MACHINE.allowed_actions
