"""The card state machine, exhaustively: every (action, status) pair."""
import pytest

from governance.cards import transitions
from governance.cards.models import CardStatus

D, P, A, X = CardStatus.DRAFT, CardStatus.PENDING_REVIEW, CardStatus.APPROVED, CardStatus.ARCHIVED
EXPECTED = {
    ("edit", D): D, ("submit", D): P, ("approve", P): A, ("send_back", P): D,
    ("archive", D): X, ("archive", P): X, ("archive", A): X,
}


@pytest.mark.parametrize("status", CardStatus.values)
@pytest.mark.parametrize("action", sorted(transitions.TRANSITIONS))
def test_every_pair(action, status):
    assert transitions.target(action, status) == EXPECTED.get((action, status))


def test_archived_is_terminal_and_read_only():
    assert transitions.allowed_actions(X) == []
    assert transitions.allowed_actions(D) == ["edit", "submit", "archive"]
