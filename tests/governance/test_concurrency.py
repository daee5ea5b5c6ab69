"""50 racing approve/reject calls on one version give exactly one decision (PostgreSQL: real
row locks across connections; SQLite serialises writers anyway and is skipped)."""
import threading

import pytest
from django.db import connection, connections

from governance import services
from governance.models import ApprovalDecision, ModelVersion, Stage
from portal.errors import InvalidTransition
from portal.models import AuditEvent


@pytest.mark.django_db(transaction=True)
def test_fifty_racing_decisions_make_exactly_one(world, monkeypatch):
    if connection.vendor != "postgresql":
        print("skipped: the race needs PostgreSQL (set DATABASE_URL); SQLite serialises writers")
        pytest.skip("the race needs PostgreSQL row locks (set DATABASE_URL=postgresql://...)")
    from tests.governance.test_routes import _version
    monkeypatch.setattr(services, "_dispatch", lambda *args: None)   # no AWS: the race is about the database
    version = _version(world, "registered")
    lead = world["lead"]
    barrier = threading.Barrier(50)
    outcomes, errors = [], []

    def decide(n):
        try:
            barrier.wait()
            copy = ModelVersion.objects.select_related("group", "team").get(pk=version.pk)
            if n % 2:
                services.model_version_approve(actor=lead, version=copy)
            else:
                services.model_version_reject(actor=lead, version=copy, comment=f"no ({n})")
            outcomes.append(n)
        except InvalidTransition:
            pass
        except Exception as error:   # anything else is a bug the assertion below shows
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=decide, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(outcomes) == 1
    assert ApprovalDecision.objects.filter(version=version).count() == 1
    version.refresh_from_db()
    assert version.stage == (Stage.DEV_APPROVED if outcomes[0] % 2 else Stage.DEV_REJECTED)
    assert AuditEvent.objects.filter(action="model_version.decision", target_type="governance.approvaldecision").count() == 1
