from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "kindling.inbox"
    label = "inbox"
