"""Who may read the activity view (see portal.permissions): auditors and platform admins every
account, team members their team's accounts. Nobody writes events but the sync (the system)."""
from observability.models import ActivityEvent, ActivitySyncCursor
from portal.models import GlobalRole
from portal.permissions import ALL_TEAM_ROLES, Rule, register

READ_ALL = frozenset({GlobalRole.PLATFORM_ADMIN, GlobalRole.AUDITOR})
ADMIN = frozenset({GlobalRole.PLATFORM_ADMIN})


def register_observability_policies() -> None:
    register(ActivityEvent, team_path="team", rules={"view": Rule(READ_ALL, ALL_TEAM_ROLES)})
    register(ActivitySyncCursor, team_path=None, rules={"view": Rule(READ_ALL), "add": Rule(ADMIN)})
