"""Model cards, cross-account sharing and lineage (issue 7).

A sub-app of governance with its own models and migrations (label ``model_cards``).
"""
