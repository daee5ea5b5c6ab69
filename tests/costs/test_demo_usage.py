"""The usage report of the shipped demo (``seed_demo --sync`` against a freshly booted sandbox):
it says when the usage sync ran, and endpoints the portal deploys show at once, not after the
next beat hours later."""
import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.governance.conftest import eager  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _usage_page(client, username):
    client.force_login(get_user_model().objects.get(username=username))
    return client.get(reverse("costs:usage"))


def test_the_demo_usage_page_knows_its_sync_and_shows_deployed_endpoints(fresh_demo, client, eager,  # noqa: F811
                                                                         django_capture_on_commit_callbacks):
    from governance import services
    from governance.models import ModelVersion, Stage

    assert "usage synced" in fresh_demo.out
    page = _usage_page(client, "fraud-detection-lead")
    assert "has not run" not in page.content.decode()
    assert page.context["summary"]["endpoints_synced_at"] is not None
    before = {row["slug"]: row["endpoints"] for row in page.context["rows"]}["fraud-detection"]

    User = get_user_model()
    version = ModelVersion.objects.get(group__name="fraud-graph-nn", group__is_central=False,
                                       approval_status="PendingManualApproval")
    assert version.registered_by.username == "fraud-detection-ds"   # so the team's ML engineer may sign off
    with django_capture_on_commit_callbacks(execute=True):
        services.model_version_approve(actor=User.objects.get(username="fraud-detection-lead"), version=version)
    version.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.model_version_approve(actor=User.objects.get(username="approver"), version=version)
    version.refresh_from_db()
    assert version.stage == Stage.IN_TEST, version.last_error
    with django_capture_on_commit_callbacks(execute=True):
        services.model_version_signoff(actor=User.objects.get(username="fraud-detection-mle"), version=version)
    version.refresh_from_db()
    assert version.stage == Stage.IN_PROD, version.last_error
    deployed = {(d.account_id, d.endpoint_name) for d in version.deployments.filter(status="succeeded")}
    assert len(deployed) == 2

    row = {row["slug"]: row for row in _usage_page(client, "fraud-detection-lead").context["rows"]}["fraud-detection"]
    assert row["endpoints"] == before + 2
    assert row["models_in_prod"] >= 1
