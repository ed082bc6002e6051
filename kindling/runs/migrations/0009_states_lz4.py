"""PostgreSQL: a run's initial and final state are compressed with LZ4 (kindling/lib/compression.py)."""

from django.db import migrations

from kindling.lib.compression import lz4_columns


class Migration(migrations.Migration):
    dependencies = [("runs", "0008_run_attempt_db_default")]

    operations = [lz4_columns("runs_run", "initial_state", "final_state")]
