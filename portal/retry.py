"""Waiting between attempts (DESIGN.md §4): the one capped exponential backoff with jitter.

Every poll of AWS, every task retry and every webhook redelivery waits ``backoff_seconds``;
Celery tasks that retry themselves call ``task_retry``.
"""
import random

POLL_SPREAD = (0.5, 1.0)       # a random wait in the upper half of the step: retries spread out


def backoff_seconds(attempt: int, *, base: float, cap: float, spread: tuple[float, float] = POLL_SPREAD) -> float:
    """min(cap, base × 2^attempt), times a random factor from ``spread``, never above ``cap``."""
    ceiling = min(cap, base * 2 ** min(attempt, 30))
    return round(min(cap, ceiling * random.uniform(*spread)), 2)


def task_retry(task, *, base: float, cap: float, exc: BaseException | None = None, retries: int | None = None):
    """Re-enqueue the running Celery ``task`` after ``backoff_seconds`` of its retry count (or
    ``retries``); raise what this returns (``raise task_retry(self, ...)``). Past the task's
    ``max_retries`` Celery raises ``exc`` (or MaxRetriesExceededError)."""
    attempt = task.request.retries if retries is None else retries
    return task.retry(exc=exc, countdown=backoff_seconds(attempt, base=base, cap=cap))


def later(task, *args, countdown: float = 0, **kwargs) -> None:
    """Enqueue ``task(*args, **kwargs)`` ``countdown`` seconds after the caller's transaction
    commits (at once outside one): the one way services schedule a request's next step."""
    from django.db import transaction

    transaction.on_commit(lambda: task.apply_async(args=args, kwargs=kwargs, countdown=countdown))
