"""PostgreSQL: message bodies are compressed with LZ4 (kindling/lib/compression.py)."""

from django.db import migrations

from kindling.lib.compression import lz4_columns


class Migration(migrations.Migration):
    dependencies = [("inbox", "0003_inboxauthmethod")]

    operations = [lz4_columns("inbox_message", "body")]
