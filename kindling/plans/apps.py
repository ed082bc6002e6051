from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "kindling.plans"
    label = "plans"
