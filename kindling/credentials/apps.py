from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "kindling.credentials"
    label = "credentials"
