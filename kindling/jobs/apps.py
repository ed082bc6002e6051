from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "kindling.jobs"
    label = "jobs"
