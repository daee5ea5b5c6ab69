"""The reconciler: drift flagged with a readable report, never a write to AWS, idempotent."""
from portal.models import AuditEvent, Notification
from provisioning import services
from provisioning.models import ProvisionedProduct, RequestState as S
from tests.provisioning.conftest import run_to_settled


def _available(make_request, catalog):
    world = catalog["world"]
    request = make_request(world["ds"])
    services.request_approve(actor=world["lead"], request=request)
    assert run_to_settled(request.pk) == S.AVAILABLE
    request.refresh_from_db()
    return request


def _mutations(engine):
    return [e for e in engine.ledger if e["service"] == "servicecatalog"]


def test_in_sync_products_are_left_alone_and_a_second_run_changes_nothing(make_request, catalog):
    engine = catalog["sandbox"].engine
    _available(make_request, catalog)
    before = len(_mutations(engine))
    first = services.reconcile()
    assert first.checked == 1 and first.flagged == 0 and first.report == "Everything matches Service Catalog."
    events = AuditEvent.objects.count()
    second = services.reconcile()
    assert second.flagged == 0 and AuditEvent.objects.count() == events
    assert len(_mutations(engine)) == before            # the reconciler never writes to AWS


def test_changed_and_deleted_outside_the_portal_are_flagged_once(make_request, catalog):
    engine = catalog["sandbox"].engine
    world = catalog["world"]
    changed = _available(make_request, catalog)
    deleted = _available(make_request, catalog)
    engine.invoke("servicecatalog", "UpdateProvisionedProduct", {
        "ProvisionedProductId": changed.provisioned_product_id, "UpdateToken": "outside-update-1",
        "ProvisioningParameters": [{"Key": "DefaultInstanceType", "Value": "ml.m5.large"}]}, account_id="333333333311")
    engine.invoke("servicecatalog", "TerminateProvisionedProduct", {
        "ProvisionedProductId": deleted.provisioned_product_id, "TerminateToken": "outside-terminate-1"},
        account_id="333333333311")
    before = len(_mutations(engine))
    run = services.reconcile()
    assert run.flagged == 2 and len(_mutations(engine)) == before
    changed_item = ProvisionedProduct.objects.get(request=changed)
    deleted_item = ProvisionedProduct.objects.get(request=deleted)
    assert changed_item.drift == "changed" and "changed outside the portal" in changed_item.drift_report
    assert deleted_item.drift == "deleted" and "terminated outside the portal" in deleted_item.drift_report
    assert Notification.objects.filter(user=world["ds"], kind="inventory.drift").count() == 2
    assert f"{world.team.slug}/{deleted.name}: It no longer exists" in run.report
    events = AuditEvent.objects.filter(action="provisioned_product.reconcile").count()
    again = services.reconcile()
    assert again.flagged == 0 and AuditEvent.objects.filter(action="provisioned_product.reconcile").count() == events
    assert ProvisionedProduct.objects.get(request=deleted).drift == "deleted"    # still flagged, not rewritten


def test_tainted_product_is_flagged(make_request, catalog):
    engine = catalog["sandbox"].engine
    request = _available(make_request, catalog)
    engine.faults.add({"kind": "record_failure", "service": "servicecatalog", "subject": catalog["domain"].name})
    engine.invoke("servicecatalog", "UpdateProvisionedProduct", {
        "ProvisionedProductId": request.provisioned_product_id, "UpdateToken": "outside-update-2",
        "ProvisioningParameters": [{"Key": "DefaultInstanceType", "Value": "ml.m5.large"}]}, account_id="333333333311")
    services.reconcile()
    item = ProvisionedProduct.objects.get(request=request)
    assert item.drift == "tainted" and item.status == "TAINTED" and "TAINTED" in item.drift_report


def test_inventory_page_shows_drift_and_the_last_report(make_request, catalog, client):
    engine, world = catalog["sandbox"].engine, catalog["world"]
    request = _available(make_request, catalog)
    engine.invoke("servicecatalog", "TerminateProvisionedProduct", {
        "ProvisionedProductId": request.provisioned_product_id, "TerminateToken": "outside-terminate-2"},
        account_id="333333333311")
    services.reconcile()
    client.force_login(world["ds"])
    page = client.get("/inventory/").content.decode()
    assert "Deleted outside the portal" in page and "terminated outside the portal" in page
    assert 'data-testid="reconcile-report"' not in page          # the run report is for admins and auditors
    client.force_login(world["auditor"])
    assert f"{request.name}: It no longer exists" in client.get("/inventory/").content.decode()
