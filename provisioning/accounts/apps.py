from django.apps import AppConfig


class AccountVendingConfig(AppConfig):
    name = "provisioning.accounts"
    label = "account_vending"
    verbose_name = "Account vending"
