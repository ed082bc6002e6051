"""Failure alerts: when a project's administrators switch them on (Project Settings), the
collaborators who opted in (Account Settings) get one email per job at most every period (15 minutes
to a day) saying how many of its runs failed, with the newest error line and links.

A run that ends in a final failure (failed, timed out or lost, with no retry to come) is noted in
the job's FailureAlert row by `note_failure`, on the run-end path; the scheduler calls
`send_failure_alerts` every second, which reads those rows only. An email never holds a run's state
nor a credential: only counts, times, the exit code, one log line (logs are scrubbed of the run's
credential values when written) and links.
"""

import logging
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone

from kindling.accounts.preferences import FAILURE_ALERTS_ON
from kindling.engine import ExitCode
from kindling.projects.configure import FAILURE_ALERT_PERIODS
from kindling.projects.models import Project
from kindling.runs.models import RUN_COMPLETE, FailureAlert, Run

log = logging.getLogger(__name__)

ERROR_LINE_MAX = 300
# @openfn/runtime's lines around a job's error ("job aborted with error (21ms)", "Check state.errors.job
# for details") and the status line: the error itself comes before them.
RUNTIME_CLOSING = re.compile(
    rf"^({re.escape(RUN_COMPLETE)}|Check state\.errors\.|\S+ aborted with error \(\d+ms\)$)"
)
EXIT_WORDS = {
    ExitCode.FAILED: "the job failed",
    ExitCode.TIMEOUT: "timed out",
    ExitCode.FAILED_TO_START: "failed to start",
    ExitCode.UNRESPONSIVE: "lost: its worker stopped",
    ExitCode.ENGINE_ERROR: "internal error of the execution engine",
    ExitCode.NODE_EXITED: "Node.js exited unexpectedly",
    ExitCode.OUT_OF_MEMORY: "out of memory",
}


def note_failure(run: Run) -> None:
    """Count `run`, which ended in a final failure, towards its job's next alert (if its project has
    alerts on). Runs inside the transaction that ended the run."""
    minutes = Project.objects.filter(pk=run.project_id).values_list("failure_alert_minutes", flat=True)
    if not minutes.first():
        return
    now = timezone.now()
    try:
        with transaction.atomic():
            FailureAlert.objects.get_or_create(job_id=run.job_id)
    except IntegrityError:
        pass  # another run of the job made the row at the same moment
    FailureAlert.objects.filter(job_id=run.job_id).update(
        failures=F("failures") + 1,
        newest_run_id=Greatest(Coalesce(F("newest_run_id"), 0), run.pk),
        first_failed_at=Coalesce(F("first_failed_at"), now),
    )


def send_failure_alerts(now=None) -> list[FailureAlert]:
    """Email every job's failures whose period has passed since its last email; the alerts sent."""
    now = now or timezone.now()
    sent = []
    waiting = FailureAlert.objects.filter(failures__gt=0).select_related("job__project")
    for alert in waiting:
        minutes = alert.job.project.failure_alert_minutes
        if not minutes:
            FailureAlert.objects.filter(pk=alert.pk).update(failures=0, first_failed_at=None)
            continue  # switched off since: what was noted is dropped
        if alert.sent_at is not None and now - alert.sent_at < timedelta(minutes=minutes):
            continue
        # Claimed with one conditional update: a failure noted meanwhile (or another scheduler) makes
        # it miss, and the next pass tries again with the new count.
        claimed = FailureAlert.objects.filter(
            pk=alert.pk, failures=alert.failures, sent_at=alert.sent_at
        ).update(failures=0, first_failed_at=None, sent_at=now)
        if not claimed:
            continue
        try:
            send_alert(alert)
        except Exception:
            log.exception("the failure alert of job %s could not be sent; trying again later", alert.job_id)
            FailureAlert.objects.filter(pk=alert.pk).update(
                failures=F("failures") + alert.failures,
                first_failed_at=alert.first_failed_at,
                sent_at=alert.sent_at,
            )
            continue
        sent.append(alert)
    return sent


def recipients(project: Project) -> list[str]:
    """The project's members who opted in to failure alerts."""
    members = project.members.filter(is_active=True, preferences__failure_alerts=FAILURE_ALERTS_ON)
    return sorted(members.values_list("email", flat=True))


def newest_error_line(run: Run | None) -> str:
    """The run's last error line that says what went wrong (not one of the runtime's closing lines)."""
    if run is None:
        return ""
    errors = run.log_lines.filter(level="error").order_by("-seq").values_list("message", flat=True)
    for line in errors[:20]:
        line = " ".join(line.split())
        if line and not RUNTIME_CLOSING.search(line):
            return line if len(line) <= ERROR_LINE_MAX else line[: ERROR_LINE_MAX - 1] + "…"
    return ""


def alert_text(alert: FailureAlert) -> tuple[str, str]:
    job, project = alert.job, alert.job.project
    run = Run.objects.filter(pk=alert.newest_run_id).only("id", "exit_code", "finished_at").first()
    zone = ZoneInfo(project.timezone)
    runs = "1 run" if alert.failures == 1 else f"{alert.failures} runs"
    since = alert.first_failed_at.astimezone(zone) if alert.first_failed_at else None
    base = settings.BASE_URL
    activity = reverse("project-activity", args=[project.slug])
    period = FAILURE_ALERT_PERIODS.get(project.failure_alert_minutes, "period")
    lines = [
        f"{runs} of job {job.name} in project {project.name} failed"
        + (f" since {since:%Y-%m-%d %H:%M} ({project.timezone})." if since else "."),
        "",
    ]
    if run is not None:
        finished = run.finished_at.astimezone(zone) if run.finished_at else None
        meaning = EXIT_WORDS.get(run.exit_code, "failed")
        lines.append(
            f"The newest: run {run.pk}"
            + (f", ended {finished:%Y-%m-%d %H:%M:%S}" if finished else "")
            + f", exit code {run.exit_code} ({meaning})."
        )
        error = newest_error_line(run)
        if error:
            lines.append(f"Its last error line: {error}")
        lines.append(f"Open it: {base}{reverse('run-detail', args=[project.slug, run.pk])}")
    lines += [
        f"Failed runs of {job.name}: {base}{activity}?job={job.pk}&status=failed",
        "",
        f"You get at most one such email per job every {period} while runs fail.",
        f"Stop them under Account Settings: {base}{reverse('account-settings')}",
    ]
    subject = f"[Kindling] {project.name}: {runs} of {job.name} failed"
    return subject, "\n".join(lines) + "\n"


def send_alert(alert: FailureAlert) -> int:
    """One email per recipient (they need not see each other's address); how many were sent."""
    to = recipients(alert.job.project)
    if not to:
        return 0
    subject, body = alert_text(alert)
    messages = [EmailMessage(subject, body, None, [address]) for address in to]
    return get_connection().send_messages(messages)
