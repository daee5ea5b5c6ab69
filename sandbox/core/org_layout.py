"""The deterministic organization every sandbox boots with (docs/sandbox.md, "The deterministic
organization"). Plain data: the Organizations seeder turns it into state, and other modules
(Account Factory, Cost Explorer history, SageMaker registries) read it to agree with it.
Accounts created later live only in the Organizations state.
"""
from __future__ import annotations

from dataclasses import dataclass, field

MANAGEMENT_ACCOUNT_ID = "111111111111"
HOME_REGION = "us-east-1"
ORGANIZATION_ID = "o-mlplatform"
ROOT_ID = "r-ml01"
# When the seeded accounts joined: before the 13 months of cost history.
SEED_JOINED = "2024-06-03T09:00:00+00:00"

PORTAL_ROLE = "PortalExecutionRole"              # the portal's spoke role in every account
ORG_ACCESS_ROLE = "OrganizationAccountAccessRole"  # admin role of accounts created by Organizations
CONTROL_TOWER_ROLE = "AWSControlTowerExecution"    # admin role of Account Factory accounts
EMAIL_DOMAIN = "mlplatform.example.com"


@dataclass(frozen=True)
class OrgUnit:
    id: str
    name: str
    parent_id: str

    @property
    def path(self) -> str:
        """"Workloads/NonProd" style path of names below the root."""
        parent = OUS_BY_ID.get(self.parent_id)
        return f"{parent.path}/{self.name}" if parent else self.name


@dataclass(frozen=True)
class SeedAccount:
    id: str
    name: str
    parent_id: str
    tags: dict = field(default_factory=dict)

    @property
    def email(self) -> str:
        return f"aws+{self.name}@{EMAIL_DOMAIN}"

    @property
    def team(self) -> str | None:
        return self.tags.get("team")

    @property
    def environment(self) -> str | None:
        return self.tags.get("environment")


OUS: tuple[OrgUnit, ...] = (
    OrgUnit("ou-ml01-security", "Security", ROOT_ID),
    OrgUnit("ou-ml01-infrastr", "Infrastructure", ROOT_ID),
    OrgUnit("ou-ml01-workload", "Workloads", ROOT_ID),
    OrgUnit("ou-ml01-wkldprod", "Prod", "ou-ml01-workload"),
    OrgUnit("ou-ml01-wkldnonp", "NonProd", "ou-ml01-workload"),
    OrgUnit("ou-ml01-deployme", "Deployments", ROOT_ID),
    OrgUnit("ou-ml01-deplprod", "Prod", "ou-ml01-deployme"),
    OrgUnit("ou-ml01-deplnonp", "NonProd", "ou-ml01-deployme"),
    OrgUnit("ou-ml01-sandbox0", "Sandbox", ROOT_ID),
)
OUS_BY_ID = {ou.id: ou for ou in OUS}

# team -> (cost center, account id prefix digits)
TEAMS = {
    "fraud-detection": ("CC-1001", "33333333331"),
    "credit-risk": ("CC-2001", "33333333332"),
    "marketing-ml": ("CC-3001", "33333333333"),
}
# environment -> (last digit of the account id, OU)
ENVIRONMENTS = {
    "dev": ("1", "ou-ml01-wkldnonp"),
    "test": ("2", "ou-ml01-deplnonp"),
    "prod": ("3", "ou-ml01-deplprod"),
}


def _team_accounts() -> list[SeedAccount]:
    accounts = []
    for team, (cost_center, prefix) in TEAMS.items():
        for environment, (digit, ou_id) in ENVIRONMENTS.items():
            accounts.append(SeedAccount(prefix + digit, f"{team}-{environment}", ou_id, {
                "team": team, "environment": environment, "cost-center": cost_center}))
    return accounts


ACCOUNTS: tuple[SeedAccount, ...] = (
    SeedAccount(MANAGEMENT_ACCOUNT_ID, "ml-platform-management", ROOT_ID),
    SeedAccount("222222222201", "log-archive", "ou-ml01-security"),
    SeedAccount("222222222202", "security-tooling", "ou-ml01-security"),
    SeedAccount("222222222203", "shared-services", "ou-ml01-infrastr"),
    SeedAccount("222222222204", "data-lake", "ou-ml01-infrastr"),
    *_team_accounts(),
)
ACCOUNTS_BY_ID = {account.id: account for account in ACCOUNTS}
SHARED_SERVICES_ACCOUNT_ID = "222222222203"   # central model registry


def team_account(team: str, environment: str) -> str:
    """The seeded account id of ``team`` in ``environment`` ("dev", "test", "prod")."""
    return TEAMS[team][1] + ENVIRONMENTS[environment][0]


def ou_by_path(path: str) -> OrgUnit:
    """The seeded OU at ``path`` ("Workloads/NonProd", "Sandbox")."""
    for ou in OUS:
        if ou.path == path:
            return ou
    raise KeyError(path)
