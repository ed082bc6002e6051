from django.apps import AppConfig


class CollectionsConfig(AppConfig):
    name = "kindling.collections"
    label = "collections"
