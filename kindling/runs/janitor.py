"""The janitor: runs whose worker stopped renewing their lease are lost (exit 4).

A worker renews the lease of every run it executes every few seconds; a lease that ran out means the
worker died (SIGKILL, a crashed machine) or lost the database for longer than the lease. The run's
result can never arrive, so it ends as a failure: retried if its job asks for retries, else its
catch listeners start, as for exit 1.
"""

import logging

from django.db import transaction
from django.utils import timezone

from kindling.ops import metrics
from kindling.runs.models import Run
from kindling.runs.retries import schedule_retry_or_listeners

log = logging.getLogger(__name__)

BATCH = 200


def mark_lost_runs(now=None) -> list[Run]:
    """Declare every running run whose lease expired before `now` lost; safe with several janitors."""
    now = now or timezone.now()
    lost = []
    expired = Run.objects.filter(status=Run.Status.RUNNING, lease_until__lt=now).order_by("id")
    for run in expired.select_related("job", "project")[:BATCH]:
        with transaction.atomic():
            # mark_lost is a conditional UPDATE: another janitor, an abort, a late finish or a
            # renewal that got there first makes it return False, and then nothing more happens.
            if not run.mark_lost(now):
                continue
            metrics.run_ended(run)
            started = schedule_retry_or_listeners(run)
        log.warning(
            "run %s of %s lost (worker %s); %d retry or catch run(s) queued",
            run.pk,
            run.job.name,
            run.worker or "?",
            len(started),
            extra={"run_id": run.pk, "project_id": run.project_id},
        )
        lost.append(run)
    return lost
