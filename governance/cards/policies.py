"""Who may do what with model cards (see portal.permissions).

Team members write cards and submit them; model approvers (global or per line of business) approve
or send back; platform admins see everything, run the sync and revoke shares but decide nothing.
"""
from governance.cards.models import ModelCard, ModelCardExport, ModelCardShare, ModelCardVersion
from portal.models import GlobalRole, TeamRole
from portal.permissions import ALL_TEAM_ROLES, Rule, register

VIEWERS = frozenset({GlobalRole.PLATFORM_ADMIN, GlobalRole.MODEL_APPROVER, GlobalRole.AUDITOR,
                     GlobalRole.EXECUTIVE})
APPROVER = frozenset({GlobalRole.MODEL_APPROVER})
ADMIN = frozenset({GlobalRole.PLATFORM_ADMIN})
AUTHORS = ALL_TEAM_ROLES


def register_card_policies() -> None:
    register(ModelCard, team_path="team", rules={
        "view": Rule(VIEWERS, ALL_TEAM_ROLES),
        "add": Rule(team_roles=AUTHORS),
        "change": Rule(team_roles=AUTHORS),
        "submit": Rule(team_roles=AUTHORS),
        "approve": Rule(APPROVER),
        "send_back": Rule(APPROVER),
        "archive": Rule(APPROVER, frozenset({TeamRole.LEAD})),
        "export": Rule(VIEWERS, ALL_TEAM_ROLES),
        "share_revoke": Rule(APPROVER | ADMIN),
        "sync": Rule(ADMIN),
    })
    register(ModelCardVersion, team_path="card__team", rules={"view": Rule(VIEWERS, ALL_TEAM_ROLES)})
    register(ModelCardShare, team_path="card__team", rules={"view": Rule(VIEWERS, ALL_TEAM_ROLES)})
    register(ModelCardExport, team_path="card__team", rules={"view": Rule(VIEWERS, ALL_TEAM_ROLES)})
