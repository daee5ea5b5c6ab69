from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Model governance"

    def ready(self):
        from governance.models import ModelVersion
        from governance.policies import register_governance_policies
        from portal import navigation
        from portal.permissions import has_perm

        from governance.inbox import decides_something, register as register_inbox

        register_governance_policies()
        register_inbox()
        navigation.add_item("Approvals", "Model approvals and delegations", "governance:approval_queue",
                            decides_something)
        import governance.transitions  # noqa: F401  (registers the model promotion kind with portal.workflow)
        navigation.add_item("Models", "Model dashboard", "governance:model_list",
                            lambda user: has_perm(user, "view", ModelVersion))
