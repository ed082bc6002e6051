"""The CSV exports of Activity and Inbox become kinds of export: the fields they need, and the rows
of the former `history_exports` app (its table, where a database has one) moved here."""

import json
from datetime import UTC
from pathlib import Path

from django.db import migrations, models

OLD_TABLE = "history_exports_export"


def move_history_exports(apps, schema_editor):
    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return
    Export = apps.get_model("exports", "Export")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT kind, project_id, requester_id, status, filters, description, file_path, row_count, "
            f"error, created_at, finished_at, expires_at FROM {OLD_TABLE} ORDER BY id"
        )
        rows = cursor.fetchall()
    for kind, project, requester, status, filters, description, path, rows_, error, *times in rows:
        if isinstance(filters, str):
            filters = json.loads(filters)
        # A raw SQLite cursor gives naive datetimes (stored as UTC).
        times = [t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t for t in times]
        # The emailed link's id is not kept: a ready file is deleted and its export shown expired.
        if path:
            Path(path).unlink(missing_ok=True)
        Export.objects.create(
            kind=kind, project_id=project, requester_id=requester,
            status="expired" if status == "ready" else status, params={"filters": filters},
            description=description, file_path="", row_count=rows_, error=error,
            created_at=times[0], finished_at=times[1], expires_at=times[2],
        )  # fmt: skip
    schema_editor.execute(f"DROP TABLE {OLD_TABLE}")


class Migration(migrations.Migration):
    dependencies = [("exports", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="export",
            name="description",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name="export",
            name="row_count",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(move_history_exports, migrations.RunPython.noop),
    ]
