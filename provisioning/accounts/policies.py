"""Who may do what with account requests: team leads request, platform admins approve."""
from portal.permissions import ALL_TEAM_ROLES, Rule, register
from portal.policies import ADMIN, READ_ALL

LEAD = frozenset({"lead"})


def register_policies() -> None:
    from provisioning.accounts.models import AccountRequest

    register(AccountRequest, team_path="team", rules={
        "view": Rule(READ_ALL, ALL_TEAM_ROLES),
        "add": Rule(ADMIN, LEAD),
        "change": Rule(ADMIN, LEAD),        # cancel (the service also lets the requester cancel)
        "approve": Rule(ADMIN),             # approve, reject, retry
        "view_org": Rule(READ_ALL, LEAD),   # the OU tree
        "import": Rule(ADMIN),              # brownfield import
    })
