"""Demo data for `make run` (``seed_demo --sync``): the catalog mirrored at once, with the prices
and network presets a platform admin would set, so request forms show estimates and budget
warnings from the first minute. Idempotent: set values are left alone."""
from decimal import Decimal

from portal.permissions import SYSTEM
from provisioning import services
from provisioning.models import CatalogProduct

HOURLY_PRICES = {"SageMaker Studio Domain": Decimal("0.50"), "SageMaker User Profile": Decimal("0.10"),
                 "MLOps Project: Model Build and Train": Decimal("0.40"),
                 "MLOps Project: Multi-account Model Deploy": Decimal("0.60")}
# The platform decides the network of every team's domains; users never type it.
DOMAIN_NETWORK = {"VpcId": "vpc-0de0000000000001", "SubnetIds": "subnet-0de00000000000a1,subnet-0de00000000000b2",
                  "SecurityGroupIds": "sg-0de0000000000001"}


def prime() -> str:
    """Sync the catalog, price the ML Platform products that have no price, preset the domain network."""
    services.catalog_sync(actor=SYSTEM)
    priced = 0
    for product in CatalogProduct.objects.filter(name__in=HOURLY_PRICES, hourly_price_usd=0):
        services.catalog_policy_update(
            actor=SYSTEM, product=product, enabled=product.enabled, allowed_teams=list(product.allowed_teams.all()),
            allowed_roles=product.allowed_roles, requires_approval=product.requires_approval,
            hourly_price_usd=HOURLY_PRICES[product.name], lifetime_days=product.lifetime_days)
        priced += 1
    domain = CatalogProduct.objects.filter(name="SageMaker Studio Domain").first()
    if domain is not None:
        for key, value in DOMAIN_NETWORK.items():
            services.preset_set(actor=SYSTEM, product=domain, key=key, mode="hidden", value=value)
    return f"catalog synced ({CatalogProduct.objects.filter(in_catalog=True).count()} products, {priced} priced now)"
