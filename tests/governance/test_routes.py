"""Route x persona cases for the governance app (see tests/support/routes.py)."""
CASES = []
