from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal core"

    def ready(self):
        from portal import middleware, navigation  # noqa: F401  (middleware: the login signal receiver)
        from portal.models import AuditEvent, RoleAssignment, Team
        from portal.permissions import global_roles, has_perm, is_platform_admin
        from portal.policies import register_core_policies

        register_core_policies()
        from portal import inbox
        navigation.add_item("Home", "Home", "portal:home", lambda user: True)
        navigation.add_item("Approvals", "Inbox", "portal:approvals", inbox.may_use, count=inbox.inbox_count)
        navigation.add_item("Audit", "Audit log", "portal:audit_list",
                            lambda user: has_perm(user, "view", AuditEvent))
        navigation.add_item("Admin", "Teams", "portal:team_list",
                            lambda user: bool(global_roles(user)) and has_perm(user, "view", Team))
        navigation.add_item("Admin", "Users and roles", "portal:user_list",
                            lambda user: has_perm(user, "view", RoleAssignment))
        navigation.add_item("Admin", "System health", "portal:health", is_platform_admin)
