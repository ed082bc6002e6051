from django.conf import settings
from django.db import models
from django.utils import timezone

from kindling.credentials.crypto import decrypt_json, encrypt_json


class Credential(models.Model):
    name = models.CharField(max_length=200)
    # "raw" for Raw JSON, otherwise the adaptor whose configuration schema describes the body.
    schema = models.CharField(max_length=200, default="raw")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credentials")
    # Never the body in clear: always the Fernet token of its JSON.
    body_encrypted = models.TextField()
    projects = models.ManyToManyField("projects.Project", related_name="credentials", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.name

    @property
    def body(self) -> dict:
        return decrypt_json(self.body_encrypted)

    @body.setter
    def body(self, value: dict):
        self.body_encrypted = encrypt_json(value)
