"""The model card state machine (DESIGN.md §5), declared for the workflow engine (``portal.workflow``).

(status, action) -> status, who may take each action (permission-registry actions of
``ModelCard``) and the terminal status. Archived is terminal (read-only, still exportable).
``edit`` is a content save: a new version, status unchanged.
"""
from governance.cards.models import CardStatus, ModelCard
from portal import workflow

D, P, A, X = CardStatus.DRAFT, CardStatus.PENDING_REVIEW, CardStatus.APPROVED, CardStatus.ARCHIVED

EDGES: dict[tuple[str, str], str] = {
    (D, "edit"): D,            # a content save: a new version, status unchanged
    (D, "submit"): P,          # the author asks for review
    (P, "approve"): A,         # the model approver approves
    (P, "send_back"): D,       # the model approver returns it with a comment
    (D, "archive"): X, (P, "archive"): X, (A, "archive"): X,   # retired; readable and exportable
}
# name: (label completing "it cannot ... now", permission-registry action, public event)
ACTIONS = {"edit": ("be edited", "change"), "submit": ("be submitted for review", "submit"),
           "approve": ("be approved", "approve"), "send_back": ("be sent back", "send_back", "deny"),
           "archive": ("be archived", "archive")}
ACTION_LABELS = {"edit": "edit", "submit": "submit for review", "approve": "approve",
                 "send_back": "send back", "archive": "archive"}


MACHINE = workflow.register(workflow.Machine.declare(
    kind="model_card", model=ModelCard, choices=CardStatus, terminal={X}, actions=ACTIONS, edges=EDGES,
    noun="card", state_field="status", save_fields=("updated_at",),
    url=lambda card: f"/model-cards/{card.pk}/"))

# action -> (allowed from-states, to-state): the table as the card pages read it.
TRANSITIONS: dict[str, tuple[frozenset, str]] = {
    action: (frozenset(source for (source, name) in EDGES if name == action),
             next(target for (_source, name), target in EDGES.items() if name == action))
    for action in ACTIONS}


def target(action: str, status: str) -> str | None:
    """The state ``action`` leads to from ``status``, or None when it is not allowed."""
    return MACHINE.target(action, status)


def allowed_actions(status: str) -> list[str]:
    return [action for action in ACTIONS if MACHINE.target(action, status) is not None]
