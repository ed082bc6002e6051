"""What a run needs from the platform when it starts: the engine's run spec, credential included."""

from django.conf import settings

from kindling import engine
from kindling.collections.tokens import configuration_with_collections, uses_collections
from kindling.credentials.sharing import CredentialUnavailable, configuration_for
from kindling.plans.limits import run_timeout
from kindling.runs.models import Run


class CannotStart(Exception):
    """The run cannot start (exit 3); the message is written to its log."""


def spec_for(run: Run) -> engine.RunSpec:
    job = run.job
    # v1: `configuration` is always the receiving job's own credential, injected only for this run and
    # decrypted here, in the worker. A deleted, revoked or unreadable credential fails the run (exit 3):
    # running without it would send requests with no credentials, or partial ones.
    try:
        configuration = configuration_for(job)
    except CredentialUnavailable as exc:
        raise CannotStart(str(exc)) from None
    if uses_collections(job.adaptor, job.expression):
        # Like the credential, only in this run's configuration: stripped from saved states and
        # scrubbed from logs; the token opens this project's collections while this run runs.
        configuration = configuration_with_collections(configuration, run)
    return engine.RunSpec(
        run_id=f"run-{run.pk}",
        expression=job.expression,
        adaptor=job.adaptor_spec,
        state={**run.initial_state, "configuration": configuration},
        # Read with the run when it was claimed (claim.load), else now.
        timeout=float(getattr(run, "timeout", None) or run_timeout(run.project)),
        memory_mb=settings.RUN_MEMORY_MB,
        console_disabled=job.console_disabled,
    )
