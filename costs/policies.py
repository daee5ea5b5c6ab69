"""Who may read costs and run the sync (see portal.permissions).

Cost reports: platform admins, auditors and executives (executives narrowed to their line of
business in ``costs.selectors.cost_scope``), and members of the team for that team's figures.
The sync is the system's (beat) or a platform admin's.
"""
from costs.models import BudgetAlert, CostAnomaly, CostDaily, CostForecast, CostMonthly, CostSyncRun, CostTeamDay
from portal.models import GlobalRole
from portal.permissions import ALL_TEAM_ROLES, Rule, register

ADMIN = frozenset({GlobalRole.PLATFORM_ADMIN})
COST_READERS = frozenset({GlobalRole.PLATFORM_ADMIN, GlobalRole.AUDITOR, GlobalRole.EXECUTIVE})


def register_cost_policies() -> None:
    for model in (CostDaily, CostMonthly, CostTeamDay, CostAnomaly, BudgetAlert):
        register(model, team_path="team", rules={"view": Rule(COST_READERS, ALL_TEAM_ROLES)})
    register(CostForecast, team_path=None, rules={"view": Rule(COST_READERS)})
    register(CostSyncRun, team_path=None, rules={"view": Rule(ADMIN | {GlobalRole.AUDITOR}), "add": Rule(ADMIN)})
