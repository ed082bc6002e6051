"""What a run needs from the platform when it starts: the engine's run spec, credential included."""

from django.conf import settings

from kindling import engine
from kindling.runs.models import Run


class CannotStart(Exception):
    """The run cannot start (exit 3); the message is written to its log."""


def spec_for(run: Run) -> engine.RunSpec:
    job = run.job
    # v1: `configuration` is always the receiving job's own credential, injected only for this run.
    configuration = job.credential.body if job.credential_id else None
    return engine.RunSpec(
        run_id=f"run-{run.pk}",
        expression=job.expression,
        adaptor=job.adaptor_spec,
        state={**run.initial_state, "configuration": configuration},
        timeout=float(settings.RUN_TIMEOUT_SECONDS),
        memory_mb=settings.RUN_MEMORY_MB,
        console_disabled=job.console_disabled,
    )
