"""Job-states kept per (message, job) pair for the Inbox run-state filter (runs.JobState), filled
from the runs already there: each pair's last finished run (spec section 8) in one INSERT ... SELECT."""

import django.db.models.deletion
from django.db import migrations, models


def fill(apps, schema_editor):
    from kindling.runs.models import JobState

    JobState.rebuild(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0002_body_search_indexes"),
        ("jobs", "0002_adaptor_install"),
        ("projects", "0001_initial"),
        ("runs", "0003_logline_run_seq_unique"),
    ]

    operations = [
        migrations.CreateModel(
            name="JobState",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("received_at", models.DateTimeField()),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("success", "Success"),
                            ("failed", "Failed"),
                            ("aborted", "Aborted"),
                        ],
                        max_length=10,
                    ),
                ),
                ("finished_at", models.DateTimeField(null=True)),
                ("started_at", models.DateTimeField(null=True)),
                (
                    "job",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="jobs.job",
                    ),
                ),
                (
                    "message",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="inbox.message",
                    ),
                ),
                (
                    "project",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="projects.project",
                    ),
                ),
                (
                    "run",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="runs.run",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["project", "state", "-received_at", "-message"], name="jobstate_project_state"
                    )
                ],
                "constraints": [models.UniqueConstraint(fields=("message", "job"), name="jobstate_pair")],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
