from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "kindling.plans"
    label = "plans"

    def ready(self):
        from kindling.plans import checks  # noqa: F401  registers the billing settings check
