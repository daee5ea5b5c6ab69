from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal core"

    def ready(self):
        from portal import navigation
        from portal.models import AuditEvent
        from portal.permissions import has_perm, is_platform_admin
        from portal.policies import register_core_policies

        register_core_policies()
        navigation.add_item("Home", "Home", "portal:home", lambda user: True)
        navigation.add_item("Audit", "Audit log", "portal:audit_list",
                            lambda user: has_perm(user, "view", AuditEvent))
        navigation.add_item("Admin", "Teams", "portal:team_list", is_platform_admin)
        navigation.add_item("Admin", "Users and roles", "portal:user_list", is_platform_admin)
        navigation.add_item("Admin", "System health", "portal:health", is_platform_admin)
        navigation.add_item("Admin", "API tokens", "portal:token_list", lambda user: True)
        navigation.add_item("Admin", "API documentation", "api_docs", lambda user: True)
