"""Collects every app's RouteCase list, so one test can prove no route is left uncovered."""
import importlib

APP_ROUTE_MODULES = ["tests.portal.test_routes", "tests.provisioning.test_routes", "tests.governance.test_routes",
                     "tests.costs.test_routes", "tests.account_vending.test_routes", "tests.model_cards.test_routes",
                     "tests.portal.test_webhooks", "tests.observability.test_routes"]


def all_cases():
    cases = []
    for module in APP_ROUTE_MODULES:
        cases.extend(importlib.import_module(module).CASES)
    return cases
