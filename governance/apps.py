from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Model governance"

    def ready(self):
        from governance.models import ModelVersion
        from governance.policies import register_governance_policies
        from portal import navigation
        from portal.permissions import has_perm

        register_governance_policies()
        import governance.transitions  # noqa: F401  (registers the model promotion kind with portal.workflow)

        def decides_something(user) -> bool:
            return any(has_perm(user, action, ModelVersion) for action in ("approve_stage1", "approve_stage2",
                                                                           "signoff"))

        navigation.add_item("Approvals", "Model approvals", "governance:approval_queue", decides_something)
        navigation.add_item("Models", "Model dashboard", "governance:model_list",
                            lambda user: has_perm(user, "view", ModelVersion))
