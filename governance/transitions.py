"""The model version promotion chain (DESIGN.md §5): one table, pure Python.

(stage, action) -> next stage, declared for the workflow engine (``portal.workflow``) with who may
take each action (permission-registry actions of ``ModelVersion``; None: only the portal itself).
Anything not in the table raises ``InvalidTransition`` (HTTP 409 in the API, a message on the page).

    registered --stage 1--> dev_approved --copy--> in_central --stage 2--> central_approved
      --deploy--> deploying_test --> in_test --stage 3--> prod_approved --deploy--> deploying_prod
      --> in_prod --(another version goes live)--> superseded; in_prod --rollback--> rolled_back
    A rejection at stage 1, 2 or 3 ends the chain (the version returns to its team).
"""
from governance.models import ModelVersion, Stage as S
from portal import workflow
from portal.workflow import SYSTEM_ONLY

TRANSITIONS: dict[tuple[str, str], str] = {
    (S.REGISTERED, "stage1_approve"): S.DEV_APPROVED,
    (S.REGISTERED, "stage1_reject"): S.DEV_REJECTED,
    (S.DEV_APPROVED, "copied_to_central"): S.IN_CENTRAL,
    (S.IN_CENTRAL, "stage2_approve"): S.CENTRAL_APPROVED,
    (S.IN_CENTRAL, "stage2_reject"): S.CENTRAL_REJECTED,
    (S.CENTRAL_APPROVED, "deploy_test"): S.DEPLOYING_TEST,
    (S.DEPLOYING_TEST, "deployed"): S.IN_TEST,
    (S.DEPLOYING_TEST, "deploy_failed"): S.CENTRAL_APPROVED,
    (S.IN_TEST, "stage3_signoff"): S.PROD_APPROVED,
    (S.IN_TEST, "stage3_reject"): S.TEST_REJECTED,
    (S.PROD_APPROVED, "deploy_prod"): S.DEPLOYING_PROD,
    (S.DEPLOYING_PROD, "deployed"): S.IN_PROD,
    (S.DEPLOYING_PROD, "deploy_failed"): S.PROD_APPROVED,
    (S.IN_PROD, "supersede"): S.SUPERSEDED,
    (S.IN_PROD, "rollback"): S.ROLLED_BACK,
    # Rollback target: the version that was in production before goes back to it.
    (S.SUPERSEDED, "restore"): S.DEPLOYING_PROD,
}

# name: (label completing "it cannot ... now", permission-registry action or SYSTEM_ONLY, public event).
# Decisions name the stage's permission; the service also lets a delegate decide for its principal.
ACTIONS = {
    "stage1_approve": ("be approved by the team lead", "approve_stage1", "approve"),
    "stage1_reject": ("be rejected by the team lead", "approve_stage1", "deny"),
    "copied_to_central": ("be copied to the central registry", SYSTEM_ONLY),
    "stage2_approve": ("be approved by a model approver", "approve_stage2", "approve"),
    "stage2_reject": ("be rejected by a model approver", "approve_stage2", "deny"),
    "deploy_test": ("be deployed to test", SYSTEM_ONLY), "deploy_prod": ("be deployed to production", SYSTEM_ONLY),
    "deployed": ("finish deploying", SYSTEM_ONLY), "deploy_failed": ("fail deploying", SYSTEM_ONLY),
    "stage3_signoff": ("be signed off for production", "signoff", "approve"),
    "stage3_reject": ("be rejected after testing", "signoff", "deny"),
    "supersede": ("be replaced in production", SYSTEM_ONLY), "rollback": ("be rolled back", "rollback"),
    "restore": ("be restored to production", "rollback"),
}
ACTION_LABELS = {name: spec[0] for name, spec in ACTIONS.items()}

# The decision each stage takes, and the stage a version waits in for it.
DECISION_ACTIONS = {1: ("stage1_approve", "stage1_reject"), 2: ("stage2_approve", "stage2_reject"),
                    3: ("stage3_signoff", "stage3_reject")}
WAITING_FOR = {1: S.REGISTERED, 2: S.IN_CENTRAL, 3: S.IN_TEST}
REJECTED_STAGES = frozenset({S.DEV_REJECTED, S.CENTRAL_REJECTED, S.TEST_REJECTED})
DEPLOYING = frozenset({S.DEPLOYING_TEST, S.DEPLOYING_PROD})
# Position in the chain (for progress bars): rejected/retired stages show where they stopped.
ORDER = [S.REGISTERED, S.DEV_APPROVED, S.IN_CENTRAL, S.CENTRAL_APPROVED, S.DEPLOYING_TEST, S.IN_TEST,
         S.PROD_APPROVED, S.DEPLOYING_PROD, S.IN_PROD]
PROGRESS = {**{stage: index for index, stage in enumerate(ORDER)}, S.DEV_REJECTED: 0, S.CENTRAL_REJECTED: 2,
            S.TEST_REJECTED: 5, S.SUPERSEDED: len(ORDER) - 1, S.ROLLED_BACK: len(ORDER) - 1}


TERMINAL_STATES = REJECTED_STAGES | {S.ROLLED_BACK}


def _on_change(version, source, target, now) -> None:
    version.stage_changed_at = now


MACHINE = workflow.register(workflow.Machine.declare(
    kind="model_version", model=ModelVersion, choices=S, terminal=TERMINAL_STATES, actions=ACTIONS,
    edges=TRANSITIONS, noun="version", state_field="stage", on_change=_on_change,
    save_fields=("stage_changed_at", "synced_at"), url=lambda version: f"/models/versions/{version.pk}/"))

next_stage = MACHINE.next_state
allowed_actions = MACHINE.allowed_actions


def progress_percent(stage: str) -> int:
    return round(100 * PROGRESS.get(stage, 0) / (len(ORDER) - 1))
