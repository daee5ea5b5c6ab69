"""Route x persona cases for the costs app (see tests/support/routes.py)."""
CASES = []
