from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "kindling.credentials"
    label = "credentials"

    def ready(self):
        from kindling.credentials import checks  # noqa: F401  registers the encryption key check
