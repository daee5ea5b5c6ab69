"""Service Catalog catalog sync, provisioning requests, account vending, inventory (issues 4, 5)."""
