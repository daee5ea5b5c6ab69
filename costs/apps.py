from django.apps import AppConfig


class CostsConfig(AppConfig):
    name = "costs"
    verbose_name = "Costs"

    def ready(self):
        from costs.policies import register_cost_policies
        from costs.selectors import budget_excess, can_see_dashboard, can_see_team_costs, can_subscribe_to_digest
        from portal import budgets, navigation

        register_cost_policies()
        budgets.register_provider(budget_excess)
        navigation.add_item("Costs", "Executive dashboard", "costs:dashboard", can_see_dashboard)
        navigation.add_item("Costs", "Team cost reports", "costs:team_index", can_see_team_costs)
        navigation.add_item("Costs", "Usage by team", "costs:usage", can_see_team_costs)
        navigation.add_item("Costs", "Weekly digest", "costs:digest", can_subscribe_to_digest)
