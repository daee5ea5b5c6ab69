"""Demo data for `make run` (``seed_demo --sync``): the model cards in SageMaker imported at once.
Idempotent."""
from governance.cards.services import model_cards_sync


def prime() -> str:
    counts = model_cards_sync()
    return f"model cards synced ({counts['imported']} imported)"
