"""The account request state machine, exhaustively."""
import pytest

from portal.errors import InvalidTransition
from provisioning.accounts.models import AccountState
from provisioning.accounts.transitions import ACTION_LABELS, TRANSITIONS, allowed_actions, next_state

ACTIONS = sorted({action for _, action in TRANSITIONS})


@pytest.mark.parametrize("state", AccountState.values)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_state_action_pair(state, action):
    if (state, action) in TRANSITIONS:
        assert next_state(state, action) == TRANSITIONS[(state, action)]
    else:
        with pytest.raises(InvalidTransition):
            next_state(state, action)


def test_terminal_states_allow_nothing_and_cancel_stops_before_creating():
    for state in ("closed", "rejected", "cancelled"):
        assert allowed_actions(state) == set()
    assert allowed_actions("ready") == {"request_close"}
    assert {s for (s, a) in TRANSITIONS if a == "cancel"} == {"submitted", "pending_approval",
                                                              "pending_second_approval", "approved", "queued"}
    assert set(ACTIONS) <= set(ACTION_LABELS)


def test_happy_path():
    state = "submitted"
    for action in ("require_approval", "approve", "enqueue", "start", "created", "moved", "finish"):
        state = next_state(state, action)
    assert state == "ready"
    for action in ("request_close", "approve_close", "closed"):
        state = next_state(state, action)
    assert state == "closed"


def test_two_approval_path():
    state = next_state("pending_approval", "approve_first")
    assert state == "pending_second_approval"
    assert allowed_actions(state) == {"approve", "reject", "cancel"}
    assert next_state(state, "approve") == "approved"
    assert next_state(state, "reject") == "rejected"
    with pytest.raises(InvalidTransition, match="waiting for a second approval; it cannot get its first approval"):
        next_state(state, "approve_first")
