"""Service Catalog catalog sync, provisioning requests, account vending, inventory (issues 4, 5)."""
from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "Provisioning"

    def ready(self):
        from portal import navigation
        from portal.permissions import has_perm
        from provisioning.models import CatalogProduct, ProvisionedProduct, ProvisioningRequest
        from provisioning.policies import register_policies
        from provisioning.inbox import register as register_inbox

        register_policies()
        register_inbox()

        import provisioning.transitions  # noqa: F401  (registers the request kind with portal.workflow)
        navigation.add_item("Catalog", "Products", "provisioning:catalog_list",
                            lambda user: has_perm(user, "view", CatalogProduct))
        navigation.add_item("Requests", "Requests", "provisioning:request_list",
                            lambda user: has_perm(user, "view", ProvisioningRequest))
        navigation.add_item("Requests", "Inventory", "provisioning:inventory_list",
                            lambda user: has_perm(user, "view", ProvisionedProduct))
