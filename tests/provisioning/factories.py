"""Catalog rows without AWS, for tests that only need the portal side (routes, query counts).
Requests are still created by the real services."""
import uuid

from django.utils import timezone

from portal.permissions import SYSTEM

PARAMETERS = [
    {"ParameterKey": "Size", "ParameterType": "String", "DefaultValue": "small", "IsNoEcho": False,
     "Description": "How big.", "ParameterConstraints": {"AllowedValues": ["small", "large"]}},
    {"ParameterKey": "Label", "ParameterType": "String", "IsNoEcho": False, "Description": "A label.",
     "ParameterConstraints": {"AllowedValues": [], "AllowedPattern": "[a-z0-9-]+", "MaxLength": "20"}},
]


def product(**overrides):
    from provisioning.models import CatalogProduct, CatalogVersion

    values = {"name": "Route product", "short_description": "For route tests", "owner": "ML Platform Team",
              "launch_paths": [{"id": "lpv2-route", "name": "ML Platform", "constraints": []}],
              "synced_at": timezone.now(), **overrides}
    item, _created = CatalogProduct.objects.get_or_create(product_id=values.pop("product_id", "prod-route"),
                                                          defaults=values)
    CatalogVersion.objects.get_or_create(product=item, artifact_id="pa-route", defaults={
        "name": "v1", "description": "first", "created_time": timezone.now(), "parameters": PARAMETERS,
        "outputs": [{"Key": "Url", "Description": "where"}]})
    return item


def request(world, requester="ds", *, state=None, submit=True, **extra):
    """A request of world.team by ``requester`` (pending approval), optionally forced into ``state``
    (a test shortcut for states only AWS can reach)."""
    from provisioning import services
    from provisioning.models import ProvisionedProduct, ProvisioningRequest

    item = services.request_create(actor=world[requester], product=product(), account=world.account,
                                   name=f"r-{uuid.uuid4().hex[:8]}", parameters={"Label": "abc"}, submit=submit)
    if state:
        ProvisioningRequest.objects.filter(pk=item.pk).update(state=state, provisioned_product_id="pp-route",
                                                              record_id="", **extra)
        item.refresh_from_db()
        if state == "available":
            ProvisionedProduct.objects.create(team=item.team, request=item, account=item.account,
                                              product=item.product, owner=item.requester, name=item.name,
                                              pp_id=f"pp-{item.pk}", status="AVAILABLE",
                                              outputs=[{"OutputKey": "Url", "OutputValue": "https://x"}])
    return item


def preset(world):
    from provisioning import services
    return services.preset_set(actor=SYSTEM, product=product(), key="Size", mode="default", value="large")
