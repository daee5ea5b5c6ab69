"""Demo data for `make run` (``seed_demo --sync``): the catalog mirrored at once, with the prices
and per-account network presets a platform admin would set, so request forms show estimates and
budget warnings from the first minute and domains land in each account's real network.
Idempotent: prices already set are left alone; network presets follow the accounts' networks."""
from decimal import Decimal

from portal.permissions import SYSTEM
from provisioning import services
from provisioning.models import CatalogProduct

HOURLY_PRICES = {"SageMaker Studio Domain": Decimal("0.50"), "SageMaker User Profile": Decimal("0.10"),
                 "MLOps Project: Model Build and Train": Decimal("0.40"),
                 "MLOps Project: Multi-account Model Deploy": Decimal("0.60")}


def prime() -> str:
    """Sync the catalog, price the ML Platform products that have no price, and preset the network
    parameters of every product to each team account's own network (read from the account:
    the platform decides the network of every team's domains; users never type it)."""
    services.catalog_sync(actor=SYSTEM)
    priced = 0
    for product in CatalogProduct.objects.filter(name__in=HOURLY_PRICES, hourly_price_usd=0):
        services.catalog_policy_update(
            actor=SYSTEM, product=product, enabled=product.enabled, allowed_teams=list(product.allowed_teams.all()),
            allowed_roles=product.allowed_roles, requires_approval=product.requires_approval,
            hourly_price_usd=HOURLY_PRICES[product.name], lifetime_days=product.lifetime_days)
        priced += 1
    networks = services.preset_account_networks(actor=SYSTEM)
    unreadable = f", {len(networks['unreadable'])} unreadable" if networks["unreadable"] else ""
    return (f"catalog synced ({CatalogProduct.objects.filter(in_catalog=True).count()} products, {priced} priced now, "
            f"network presets for {networks['accounts']} accounts{unreadable})")
