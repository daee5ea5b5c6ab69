"""The promotion chain's transition table, exhaustively: every (stage, action) pair."""
import pytest

from governance.models import Stage
from governance.transitions import (
    ACTION_LABELS, DECISION_ACTIONS, ORDER, REJECTED_STAGES, TRANSITIONS, WAITING_FOR, allowed_actions, next_stage,
    progress_percent,
)
from portal.errors import InvalidTransition

ACTIONS = sorted({action for _stage, action in TRANSITIONS})


@pytest.mark.parametrize("stage", Stage.values)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_pair_is_in_the_table_or_refused(stage, action):
    if (stage, action) in TRANSITIONS:
        assert next_stage(stage, action) == TRANSITIONS[(stage, action)]
    else:
        with pytest.raises(InvalidTransition) as error:
            next_stage(stage, action)
        assert error.value.status == 409 and ACTION_LABELS[action] in error.value.message


def test_the_happy_path_walks_the_chain_in_order():
    path = ["stage1_approve", "copied_to_central", "stage2_approve", "deploy_test", "deployed", "stage3_signoff",
            "deploy_prod", "deployed"]
    stage, seen = Stage.REGISTERED, [Stage.REGISTERED]
    for action in path:
        stage = next_stage(stage, action)
        seen.append(stage)
    assert seen == ORDER and progress_percent(stage) == 100


def test_rejections_end_the_chain_and_each_stage_has_one_decision():
    for rejected in REJECTED_STAGES:
        assert allowed_actions(rejected) == set()
    for stage, (approve, reject) in DECISION_ACTIONS.items():
        assert allowed_actions(WAITING_FOR[stage]) == {approve, reject}
        assert next_stage(WAITING_FOR[stage], reject) in REJECTED_STAGES


def test_rollback_returns_the_previous_version_to_prod():
    assert next_stage(Stage.IN_PROD, "rollback") == Stage.ROLLED_BACK
    assert next_stage(Stage.SUPERSEDED, "restore") == Stage.DEPLOYING_PROD
    assert allowed_actions(Stage.ROLLED_BACK) == set()


def test_failed_deployments_return_to_approved_for_a_retry():
    assert next_stage(Stage.DEPLOYING_TEST, "deploy_failed") == Stage.CENTRAL_APPROVED
    assert next_stage(Stage.DEPLOYING_PROD, "deploy_failed") == Stage.PROD_APPROVED
    with pytest.raises(InvalidTransition):   # production only after the sign-off
        next_stage(Stage.IN_TEST, "deploy_prod")
