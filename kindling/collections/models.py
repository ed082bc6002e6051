from django.db import models
from django.utils import timezone


class Collection(models.Model):
    """A named key/value store of a project, which its jobs use through @openfn/language-collections."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="collections")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="collection_name_unique")]

    def __str__(self):
        return self.name


class Item(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    key = models.CharField(max_length=255)
    # The JSON text the adaptor sends (JSON.stringify of the value) and expects back as a string.
    value = models.TextField()
    # Bytes of `value` in UTF-8: what the size limits count, summed without reading the values.
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["collection", "key"], name="collection_item_key_unique")
        ]
        indexes = [models.Index(fields=["collection", "id"], name="collection_item_order")]

    def __str__(self):
        return self.key
