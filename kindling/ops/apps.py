from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "kindling.ops"
    label = "ops"
