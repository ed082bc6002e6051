from django.apps import AppConfig


class HistoryExportsConfig(AppConfig):
    name = "kindling.history_exports"
    label = "history_exports"
    default_auto_field = "django.db.models.BigAutoField"
