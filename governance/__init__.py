"""Model registry sync, approval queue, promotion chain, model cards, lineage (issues 6, 7)."""
