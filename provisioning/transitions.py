"""The provisioning request state machine (DESIGN.md §5), declared for the workflow engine.

(state, action) -> next state, who may take each action (permission-registry actions of
``ProvisioningRequest``; None: only the portal itself), and the terminal states. Services move a
request with ``portal.workflow.transition``; anything not in the table raises ``InvalidTransition``
(HTTP 409 in the API, a message on the page).
"""
from django.urls import reverse

from portal import workflow
from portal.workflow import SYSTEM_ONLY
from provisioning.models import ProvisioningRequest, RequestState as S, RequestStep

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

# name: (label completing "it cannot ... now", permission-registry action or SYSTEM_ONLY, public event)
ACTIONS = {
    "submit": ("submit", "change"), "require_approval": ("send for approval", SYSTEM_ONLY),
    "auto_approve": ("approve automatically", SYSTEM_ONLY), "approve": ("approve", "approve"),
    "reject": ("reject", "approve", "deny"), "cancel": ("cancel", "change"),
    "start": ("start provisioning", SYSTEM_ONLY), "succeed": ("complete", SYSTEM_ONLY),
    "fail": ("fail", SYSTEM_ONLY), "update": ("update", "change"), "terminate": ("terminate", "change"),
    "retry_provision": ("retry", "change", "retry"), "retry_update": ("retry", "change", "retry"),
    "retry_terminate": ("retry", "change", "retry"),
}
ACTION_LABELS = {name: spec[0] for name, spec in ACTIONS.items()}
TERMINAL_STATES = frozenset({S.REJECTED, S.CANCELLED, S.TERMINATED})
SETTLED_STATES = frozenset({S.AVAILABLE, S.FAILED, S.TERMINATED, S.REJECTED, S.CANCELLED})


def _on_change(request, source, target, now) -> None:
    request.state_changed_at = request.last_step_at = now
    request.finished_at = now if target in SETTLED_STATES else None


MACHINE = workflow.register(workflow.Machine.declare(
    kind="provisioning_request", model=ProvisioningRequest, choices=S, terminal=TERMINAL_STATES,
    actions=ACTIONS, edges=TRANSITIONS, noun="request", step_model=RequestStep, on_change=_on_change,
    url=lambda request: reverse("provisioning:request_detail", args=[request.pk])))

next_state = MACHINE.next_state
allowed_actions = MACHINE.allowed_actions
