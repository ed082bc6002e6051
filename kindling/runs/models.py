from datetime import timedelta

from django.conf import settings
from django.db import connections, models, router, transaction
from django.utils import timezone

LOST_NOTE = "lost: the worker stopped renewing its lease"
# The last line of every log the engine writes (kindling/engine/runlog.py: RunLog.finish).
RUN_COMPLETE = "Run complete with status: "


class IllegalTransition(Exception):
    pass


class Run(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCESS = "success"
        FAILED = "failed"
        LOST = "lost"
        ABORTED = "aborted"

    class Cause(models.TextChoices):
        MESSAGE = "message"
        CRON = "cron"
        FLOW = "flow"
        CATCH = "catch"
        MANUAL = "manual"

    # The only moves a run can make; anything else is a bug and raises.
    TRANSITIONS = {
        Status.PENDING: {Status.RUNNING, Status.ABORTED},
        Status.RUNNING: {Status.SUCCESS, Status.FAILED, Status.LOST, Status.ABORTED},
    }
    FINISHED = (Status.SUCCESS, Status.FAILED, Status.LOST, Status.ABORTED)
    # The ends that only finish() records (an abort or the janitor record the others).
    ENDED_BY_FINISH = (Status.SUCCESS, Status.FAILED)

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="runs")
    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="runs")
    message = models.ForeignKey(
        "inbox.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    # flow/catch: the run whose end started this one
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    cause = models.CharField(max_length=10, choices=Cause.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    exit_code = models.SmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Never holds `configuration`: the credential is injected when the run starts.
    initial_state = models.JSONField(default=dict)
    final_state = models.JSONField(null=True, blank=True)
    adaptor_version = models.CharField(max_length=50, blank=True)
    worker = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # the queue: oldest pending first, per project
            models.Index(fields=["status", "project", "id"], name="run_queue"),
            models.Index(fields=["project", "-created_at", "-id"], name="run_project_recent"),
            models.Index(fields=["message", "job"], name="run_message_job"),
            # Activity filtered by job or by status, newest first (and a job card's last run).
            models.Index(fields=["job", "-created_at", "-id"], name="run_job_recent"),
            models.Index(
                fields=["project", "status", "-created_at", "-id"], name="run_project_status_recent"
            ),
        ]

    def __str__(self):
        return f"run {self.pk} of {self.job_id}"

    @property
    def succeeded(self) -> bool:
        return self.status == self.Status.SUCCESS

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    def check_transition(self, to: str) -> None:
        if to not in self.TRANSITIONS.get(self.status, set()):
            raise IllegalTransition(f"run {self.pk}: {self.status} -> {to} is not allowed")

    def log_may_grow(self) -> bool:
        """Whether more log lines may still come. Yes while the run is pending or running; and after
        an abort or a lost verdict of a run that had started, until its worker has written its last
        line: the worker notices within a second or two, kills the Node process and writes the rest
        of the log, ending with "Run complete with status: ...". A worker that has not done so a lease
        after the end is gone (that is how runs get lost), so readers stop waiting then."""
        if self.status in (self.Status.PENDING, self.Status.RUNNING):
            return True
        if self.status not in (self.Status.ABORTED, self.Status.LOST) or self.started_at is None:
            return False
        if self.finished_at is None or timezone.now() - self.finished_at > timedelta(
            seconds=settings.RUN_LEASE_SECONDS
        ):
            return False
        last = self.log_lines.order_by("-seq").values_list("message", flat=True).first()
        return not (last or "").startswith(RUN_COMPLETE)

    def log_text(self) -> str:
        """The log as one string (what a catch job receives as `error`)."""
        return "\n".join(f"[{line.source}] {line.message}" for line in self.log_lines.order_by("seq"))

    def record_end(self, status: str, exit_code: int, final_state, log_lines, adaptor_version="") -> bool:
        """End a running run; False when it had already ended (aborted or lost) while it executed.

        The update is conditional on the status the row has now, so an abort or the janitor that got
        there first wins; the log lines are kept either way.
        """
        self.check_transition(status)
        ending = {
            "status": status,
            "exit_code": exit_code,
            "final_state": final_state,
            "finished_at": timezone.now(),
            "adaptor_version": adaptor_version or self.adaptor_version,
            "lease_until": None,
        }
        # No savepoint: finish() calls this inside its own transaction, which fails as a whole.
        with transaction.atomic(savepoint=False):
            ended = Run.objects.filter(pk=self.pk, status=self.Status.RUNNING).update(**ending)
            # After the lines written live, and after a lost note: whoever wrote last.
            self.append_log(log_lines)
        if ended:
            for field, value in ending.items():
                setattr(self, field, value)
        else:
            self.refresh_from_db()
        return bool(ended)

    def mark_lost(self, now=None) -> bool:
        """End a running run whose lease expired (exit 4); False when it ended or was renewed meanwhile.

        Conditional on the expired lease, so of two janitors only one wins, and a worker that renewed
        in time keeps its run.
        """
        self.check_transition(self.Status.LOST)
        now = now or timezone.now()
        with transaction.atomic():
            ended = Run.objects.filter(pk=self.pk, status=self.Status.RUNNING, lease_until__lt=now).update(
                status=self.Status.LOST, exit_code=4, finished_at=now, lease_until=None
            )
            if ended:
                # After the lines its worker wrote while it ran (live logs).
                self.append_log([LogLine(time=now, source="RTE", level="error", message=LOST_NOTE)])
        self.refresh_from_db()
        return bool(ended)

    def append_log(self, lines) -> int:
        """Add log lines (anything with time, source, level and message) after the run's last one;
        returns how many. Every writer goes through here: the worker while the run executes (live
        logs) and when it ends, the janitor. The run's row is locked first (PostgreSQL; on SQLite
        every write transaction is IMMEDIATE, which serialises writers already), so seq numbers stay
        contiguous, unique and in commit order: a reader polling for seq > the last it saw misses
        nothing."""
        lines = list(lines)
        if not lines:
            return 0
        connection = connections[router.db_for_write(LogLine)]
        run_table, line_table = Run._meta.db_table, LogLine._meta.db_table
        with transaction.atomic(using=connection.alias, savepoint=False), connection.cursor() as cursor:
            if connection.features.has_select_for_update:
                cursor.execute(f"SELECT id FROM {run_table} WHERE id = %s FOR UPDATE", [self.pk])
            cursor.execute(f"SELECT max(seq) FROM {line_table} WHERE run_id = %s", [self.pk])
            last = cursor.fetchone()[0]
            first = 0 if last is None else last + 1
            LogLine.objects.using(connection.alias).bulk_create(
                LogLine(run_id=self.pk, seq=first + i, time=line.time, source=line.source,
                        level=line.level, message=line.message)
                for i, line in enumerate(lines)
            )
        return len(lines)

    def abort(self) -> bool:
        """Cancel a pending or running run (exit 6). The worker of a running one notices within about a
        second (its lease keeper) and kills the run's Node process; finish() then keeps this record
        as it is and only adds the rest of the run's log."""
        self.check_transition(self.Status.ABORTED)
        ended = Run.objects.filter(pk=self.pk, status__in=[self.Status.PENDING, self.Status.RUNNING]).update(
            status=self.Status.ABORTED, exit_code=6, finished_at=timezone.now(), lease_until=None
        )
        self.refresh_from_db()
        return bool(ended)


class LogLine(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="log_lines")
    seq = models.PositiveIntegerField()
    time = models.DateTimeField()
    source = models.CharField(max_length=8)
    level = models.CharField(max_length=10)
    message = models.TextField()

    class Meta:
        ordering = ["seq"]
        # Unique: the worker (live and at the end) and the janitor append to one run's log; a race
        # between them must fail loudly rather than store two lines under one seq. Also the index
        # that reads a run's log in order, and its new lines (seq > n) while it runs.
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="logline_run_seq_unique")]


class CronTick(models.Model):
    """One row per (trigger, minute) fired: the unique constraint is what stops a double fire."""

    trigger = models.ForeignKey("jobs.Trigger", on_delete=models.CASCADE, related_name="ticks")
    minute = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["trigger", "minute"], name="one_tick_per_minute")]
