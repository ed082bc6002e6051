from django.apps import AppConfig


class VcsConfig(AppConfig):
    name = "kindling.vcs"
    label = "vcs"
    default_auto_field = "django.db.models.BigAutoField"
