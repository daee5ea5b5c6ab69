"""The model-package state-change event as the sandbox sends it (as AWS documents it: no CreatedBy)
still gives the portal the version's creator at once, without waiting for the next poll."""
import time

import pytest

from governance import services
from governance.models import ModelVersion
from tests.governance.conftest import new_group_name, register_version

pytestmark = pytest.mark.django_db


def test_the_sandbox_event_records_who_registered_the_version(gov_world, aws_endpoint, live_server, settings,
                                                              monkeypatch):
    seen = []
    monkeypatch.setattr(services, "_dispatch", lambda *args: None)
    original = services.registry_event_apply

    def spy(*, event):
        seen.append(event)
        return original(event=event)

    monkeypatch.setattr(services, "registry_event_apply", spy)
    settings.GOVERNANCE_EVENT_SECRET = "creator-secret"
    engine = aws_endpoint.engine
    engine.config.update({"event_webhook_url": f"{live_server.url}/api/v1/events/sagemaker/",
                          "event_webhook_secret": "creator-secret"})
    try:
        arn = register_version(new_group_name("creator"), as_user="ds")
        for _ in range(100):
            if ModelVersion.objects.filter(arn=arn).exists():
                break
            time.sleep(0.05)
    finally:
        engine.config.update({"event_webhook_url": "", "event_webhook_secret": ""})
    assert seen and "CreatedBy" not in seen[0]["detail"], "the sandbox's event follows AWS's documented detail"
    version = ModelVersion.objects.get(arn=arn)
    assert version.created_by_arn.endswith("/ds")
    assert version.registered_by == gov_world["ds"]
