"""Registry of the operations and seeders the sandbox implements itself.

A handler is ``fn(ctx, params) -> dict``: ``params`` is the request as botocore would build it
(timestamps as aware datetimes, blobs as bytes), the returned dict follows the operation's
output shape in botocore's service model (datetimes allowed). Handlers raise ``AwsError``.
Anything not registered here is answered by moto, or by a JSON "not implemented" error.
"""
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Operation:
    service: str        # botocore service name: "servicecatalog", "organizations", "sagemaker", ...
    name: str           # API operation name: "ProvisionProduct"
    handler: Callable
    mutating: bool      # mutating calls are written to the ledger and persisted
    key: Callable | None  # params -> idempotency token or natural key, for the ledger


OPERATIONS: dict[tuple[str, str], Operation] = {}
SEEDERS: list[tuple[int, str, Callable]] = []
OWNED_SERVICES: set[str] = set()


def own_service(service: str) -> None:
    """Declare that the sandbox alone answers ``service``: its unregistered operations are
    "not implemented" instead of going to moto (whose state would disagree with the sandbox's)."""
    OWNED_SERVICES.add(service)


READ_ONLY_PREFIXES = ("Describe", "List", "Get", "Search", "Query", "Scan", "Head")


def is_mutating_name(name: str) -> bool:
    """By AWS's naming convention: Describe*/List*/Get*/Search*/Query*/Scan*/Head* only read."""
    return not name.startswith(READ_ONLY_PREFIXES)


def operation(service: str, name: str, *, mutating: bool | None = None, key: Callable | None = None):
    """Register ``fn`` as the sandbox's implementation of ``service:name``.

    ``mutating`` defaults to ``is_mutating_name(name)``.
    """
    def register(fn):
        is_mutating = is_mutating_name(name) if mutating is None else mutating
        OPERATIONS[(service, name)] = Operation(service, name, fn, is_mutating, key)
        return fn
    return register


def seeder(order: int):
    """Register ``fn(ctx)`` to build the deterministic boot seed; lower ``order`` runs first."""
    def register(fn):
        SEEDERS.append((order, f"{fn.__module__}.{fn.__name__}", fn))
        SEEDERS.sort(key=lambda item: (item[0], item[1]))
        return fn
    return register
