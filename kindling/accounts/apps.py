from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "kindling.accounts"
    label = "accounts"

    def ready(self):
        from kindling import checks  # noqa: F401  registers the system checks
