"""Route x persona cases for the provisioning app (see tests/support/routes.py)."""
CASES = []
