"""Waiting between attempts at AWS (DESIGN.md §4): capped exponential backoff with jitter."""
import random


def backoff_seconds(attempt: int, *, base: float, cap: float) -> float:
    """A random wait in the upper half of min(cap, base × 2^attempt), so retries spread out."""
    ceiling = min(cap, base * 2 ** min(attempt, 30))
    return round(random.uniform(ceiling / 2, ceiling), 2)
