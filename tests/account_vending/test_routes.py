"""Route x persona cases for account vending (see tests/support/routes.py)."""
CASES = []
