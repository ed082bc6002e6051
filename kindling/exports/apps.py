from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "kindling.exports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The builders of this app; other apps register theirs the same way (kindling.exports.registry).
        from kindling.exports import history_csv, project_files  # noqa: F401
