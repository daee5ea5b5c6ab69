"""Route x persona cases for model cards and lineage (see tests/support/routes.py)."""
CASES = []
