"""The model card state machine (DESIGN.md §5): one explicit table, pure Python.

action -> (allowed from-states, to-state). Archived is terminal (read-only, still exportable).
"""
from governance.cards.models import CardStatus

D, P, A, X = CardStatus.DRAFT, CardStatus.PENDING_REVIEW, CardStatus.APPROVED, CardStatus.ARCHIVED

TRANSITIONS: dict[str, tuple[frozenset, str]] = {
    "edit": (frozenset({D}), D),            # a content save: a new version, status unchanged
    "submit": (frozenset({D}), P),          # the author asks for review
    "approve": (frozenset({P}), A),         # the model approver approves
    "send_back": (frozenset({P}), D),       # the model approver returns it with a comment
    "archive": (frozenset({D, P, A}), X),   # retire the card; it stays readable and exportable
}

ACTION_LABELS = {"edit": "edit", "submit": "submit for review", "approve": "approve",
                 "send_back": "send back", "archive": "archive"}


def target(action: str, status: str) -> str | None:
    """The state ``action`` leads to from ``status``, or None when it is not allowed."""
    allowed, to = TRANSITIONS[action]
    return to if status in allowed else None


def allowed_actions(status: str) -> list[str]:
    return [action for action, (allowed, _to) in TRANSITIONS.items() if status in allowed]
