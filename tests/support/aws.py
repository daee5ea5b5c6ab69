"""Test instrumentation for every boto3 client the portal creates (settings.AWS_CLIENT_INSTRUMENT).

Attaches the sandbox's strict response checker, so any response that does not match botocore's
output shape fails the test that received it.
"""
VIOLATIONS: list[str] = []


def instrument_client(client) -> None:
    from sandbox import fidelity

    fidelity.attach(client, VIOLATIONS)
