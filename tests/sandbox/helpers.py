"""Shared helpers for calling the sandbox engine directly in tests."""
import pytest

from sandbox.core.errors import AwsError


def service_caller(service: str, default_account: str):
    """(call, error_of) for one service: ``call(engine, Operation, account=..., **params)`` invokes it;
    ``error_of`` expects an AwsError and returns it."""
    def call(engine, operation, account=default_account, **params):
        return engine.invoke(service, operation, params, account_id=account)

    def error_of(engine, operation, account=default_account, **params) -> AwsError:
        with pytest.raises(AwsError) as caught:
            call(engine, operation, account, **params)
        return caught.value

    return call, error_of
