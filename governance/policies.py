"""Who may do what with the governance models (see portal.permissions).

Stage 1 is the team lead's, stage 2 the model approver's (global, or narrowed to a line of
business by the role assignment), stage 3 the team's ML engineer's. Platform admins see everything
but decide nothing: approving models is not an administrator's job.
"""
from governance.models import ApprovalDecision, Deployment, ModelGroup, ModelVersion
from portal.models import GlobalRole, TeamRole
from portal.permissions import ALL_TEAM_ROLES, Rule, register

VIEWERS = frozenset({GlobalRole.PLATFORM_ADMIN, GlobalRole.MODEL_APPROVER, GlobalRole.AUDITOR,
                     GlobalRole.EXECUTIVE})
APPROVER = frozenset({GlobalRole.MODEL_APPROVER})
ADMIN = frozenset({GlobalRole.PLATFORM_ADMIN})
LEAD = frozenset({TeamRole.LEAD})
MLE = frozenset({TeamRole.ML_ENGINEER})


def register_governance_policies() -> None:
    register(ModelGroup, team_path="team", rules={"view": Rule(VIEWERS, ALL_TEAM_ROLES), "sync": Rule(ADMIN)})
    register(ModelVersion, team_path="team", rules={
        "view": Rule(VIEWERS, ALL_TEAM_ROLES),
        "approve_stage1": Rule(team_roles=LEAD),
        "approve_stage2": Rule(APPROVER),
        "signoff": Rule(team_roles=MLE),
        "promote": Rule(team_roles=LEAD),
        "deploy": Rule(APPROVER, MLE | LEAD),
        "rollback": Rule(team_roles=MLE | LEAD),
    })
    register(ApprovalDecision, team_path="version__team", rules={"view": Rule(VIEWERS, ALL_TEAM_ROLES)})
    register(Deployment, team_path="version__team", rules={"view": Rule(VIEWERS, ALL_TEAM_ROLES)})
