"""Demo organization constants, shared by seed_demo, `make run` and the browser tests.

The password is only ever set (and printed) when settings.SHOW_DEMO_PASSWORDS is true, which
only the local development settings do.
"""
DEMO_PASSWORD = "portal-demo-2026"
# Three platform admins: account requests above the second-approval budget need two of them, neither
# the requester, so a platform admin's own such request can still be decided.
GLOBAL_DEMO_USERS = ("platform-admin", "platform-admin-2", "platform-admin-3", "approver", "executive", "auditor")
DEMO_TEAMS = ("fraud-detection", "credit-risk", "marketing-ml")
TEAM_USER_SUFFIXES = ("lead", "ds", "mle")
