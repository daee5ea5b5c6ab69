from django.apps import AppConfig


class AccountVendingConfig(AppConfig):
    name = "provisioning.accounts"
    label = "account_vending"
    verbose_name = "Account vending"

    def ready(self):
        from portal import navigation
        from portal.permissions import has_perm
        from provisioning.accounts.models import AccountRequest
        from provisioning.accounts.policies import register_policies

        register_policies()
        from provisioning.accounts.inbox import register as register_inbox
        register_inbox()

        import provisioning.accounts.transitions  # noqa: F401  (registers the kind with portal.workflow)
        navigation.add_item("Requests", "Account requests", "account_vending:request_list",
                            lambda user: has_perm(user, "view", AccountRequest))
        navigation.add_item("Requests", "Organization (OU tree)", "account_vending:ou_tree",
                            lambda user: has_perm(user, "view_org", AccountRequest))
