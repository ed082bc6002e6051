from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "kindling.runs"
    label = "runs"
