from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "observability"
    verbose_name = "Observability"

    def ready(self):
        from observability.policies import register_observability_policies
        from observability.selectors import can_see_activity
        from portal import navigation

        register_observability_policies()
        navigation.add_item("Audit", "AWS activity", "observability:activity_list", can_see_activity)
