from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "kindling.audit"
    label = "audit"
