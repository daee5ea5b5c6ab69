"""The request state machine table, exhaustively: every state × every action."""
import pytest

from portal.errors import InvalidTransition
from provisioning.models import RequestState as S
from provisioning.transitions import ACTION_LABELS, TRANSITIONS, allowed_actions, next_state

EXPECTED = {
    (S.DRAFT, "submit"): S.SUBMITTED, (S.SUBMITTED, "require_approval"): S.PENDING_APPROVAL,
    (S.SUBMITTED, "auto_approve"): S.APPROVED, (S.PENDING_APPROVAL, "approve"): S.APPROVED,
    (S.PENDING_APPROVAL, "reject"): S.REJECTED, (S.DRAFT, "cancel"): S.CANCELLED,
    (S.SUBMITTED, "cancel"): S.CANCELLED, (S.PENDING_APPROVAL, "cancel"): S.CANCELLED,
    (S.APPROVED, "cancel"): S.CANCELLED, (S.APPROVED, "start"): S.PROVISIONING,
    (S.PROVISIONING, "succeed"): S.AVAILABLE, (S.PROVISIONING, "fail"): S.FAILED,
    (S.AVAILABLE, "update"): S.UPDATING, (S.UPDATING, "succeed"): S.AVAILABLE, (S.UPDATING, "fail"): S.FAILED,
    (S.AVAILABLE, "terminate"): S.TERMINATING, (S.TERMINATING, "succeed"): S.TERMINATED,
    (S.TERMINATING, "fail"): S.FAILED, (S.FAILED, "retry_provision"): S.PROVISIONING,
    (S.FAILED, "retry_update"): S.UPDATING, (S.FAILED, "retry_terminate"): S.TERMINATING,
    (S.FAILED, "terminate"): S.TERMINATING,
}
ACTIONS = sorted(ACTION_LABELS)


def test_the_table_is_exactly_the_design():
    assert TRANSITIONS == EXPECTED


@pytest.mark.parametrize("state", S.values)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_state_and_action(state, action):
    if (state, action) in EXPECTED:
        assert next_state(state, action) == EXPECTED[(state, action)]
    else:
        with pytest.raises(InvalidTransition) as raised:
            next_state(state, action)
        assert "cannot" in raised.value.message and raised.value.status == 409


def test_terminal_states_have_no_way_out():
    for state in (S.REJECTED, S.CANCELLED, S.TERMINATED):
        assert allowed_actions(state) == set()
    assert "cancel" not in allowed_actions(S.PROVISIONING)   # too late once provisioning started
