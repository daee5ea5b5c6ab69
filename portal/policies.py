"""Who may do what with the core models (see portal.permissions)."""
from portal.models import (ApiToken, AuditEvent, AwsAccount, GlobalRole, Membership, RoleAssignment, Team, TeamRole,
                           TeamWebhook, WebhookDelivery)
from portal.permissions import ALL_TEAM_ROLES, Rule, register

ADMIN = frozenset({GlobalRole.PLATFORM_ADMIN})
READ_ALL = frozenset({GlobalRole.PLATFORM_ADMIN, GlobalRole.AUDITOR})
EVERY_GLOBAL_ROLE = frozenset(GlobalRole.values)
LEAD = frozenset({TeamRole.LEAD})


def register_core_policies() -> None:
    register(Team, team_path="id", rules={
        "view": Rule(EVERY_GLOBAL_ROLE, ALL_TEAM_ROLES),
        "add": Rule(ADMIN), "change": Rule(ADMIN), "delete": Rule(ADMIN),
    })
    register(Membership, team_path="team", rules={
        "view": Rule(READ_ALL, ALL_TEAM_ROLES),
        "add": Rule(ADMIN), "change": Rule(ADMIN), "delete": Rule(ADMIN),
    })
    register(RoleAssignment, team_path=None, rules={
        "view": Rule(READ_ALL), "add": Rule(ADMIN), "delete": Rule(ADMIN),
    })
    register(AwsAccount, team_path="team", rules={
        "view": Rule(EVERY_GLOBAL_ROLE, ALL_TEAM_ROLES), "change": Rule(ADMIN),
    })
    register(AuditEvent, team_path="team", rules={"view": Rule(READ_ALL)})
    # Webhooks: the team's lead (or a platform admin) manages them; members and auditors read the history.
    register(TeamWebhook, team_path="team", rules={
        "view": Rule(READ_ALL, ALL_TEAM_ROLES),
        "add": Rule(ADMIN, LEAD), "change": Rule(ADMIN, LEAD), "delete": Rule(ADMIN, LEAD),
    })
    register(WebhookDelivery, team_path="webhook__team", rules={
        "view": Rule(READ_ALL, ALL_TEAM_ROLES), "change": Rule(ADMIN, LEAD),
    })
    # Tokens are personal: every signed-in user manages their own (querysets filter by owner).
    register(ApiToken, team_path=None, rules={})
