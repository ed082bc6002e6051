from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import connections, models, router, transaction
from django.utils import timezone

LOST_NOTE = "lost: the worker stopped renewing its lease"
# The last line of every log the engine writes (kindling/engine/runlog.py: RunLog.finish).
RUN_COMPLETE = "Run complete with status: "
# Log lines per INSERT statement (6 parameters each: within every SQLite's limit of 999 and more).
LOG_INSERT_ROWS = 150


class IllegalTransition(Exception):
    pass


class RunQuerySet(models.QuerySet):
    def delete(self):
        """Delete the runs, then derive again the job-states of their messages (JobState): a deleted
        run may have been the one that decided its pair's state."""
        with transaction.atomic(using=self.db):
            message_ids = set(self.exclude(message=None).values_list("message_id", flat=True))
            deleted = super().delete()
            JobState.rebuild(message_ids, using=self.db)
        return deleted


class Run(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCESS = "success"
        FAILED = "failed"
        LOST = "lost"
        ABORTED = "aborted"
        # Created over the plan's runs per month (spec section 10): recorded, never executed; a
        # reprocess after an upgrade or in the next cycle runs it.
        REJECTED = "rejected"

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
    FINISHED = (Status.SUCCESS, Status.FAILED, Status.LOST, Status.ABORTED, Status.REJECTED)
    # The ends that only finish() records (an abort, the janitor or a plan's limit record the others).
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
    # Automatic retries (runs/retries.py): attempt n of `attempts` of one series; every retry names
    # the series' first run. A retry waits in the queue until `not_before` (its backoff).
    # db_default too: bulk reprocess and the benches insert runs in SQL (runs/batch.py).
    attempt = models.PositiveSmallIntegerField(default=1, db_default=1)
    attempts = models.PositiveSmallIntegerField(default=1, db_default=1)
    first_attempt = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    not_before = models.DateTimeField(null=True, blank=True)

    objects = RunQuerySet.as_manager()

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

    def delete(self, using=None, keep_parents=False):
        # Through the queryset's delete, which derives the job-state of the run's pair again.
        return Run.objects.using(using or self._state.db).filter(pk=self.pk).delete()

    @property
    def succeeded(self) -> bool:
        return self.status == self.Status.SUCCESS

    @property
    def attempt_label(self) -> str:
        """ "attempt 2 of 4" for a run of a series that was (or will be) retried; "" otherwise."""
        return f"attempt {self.attempt} of {self.attempts}" if self.attempts > 1 else ""

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
        connection = connections[router.db_for_write(Run)]
        # In SQL: this runs once per run, and the ORM spends longer compiling it than the database
        # answering it.
        columns = ", ".join(f"{name} = %s" for name in ending)
        values = [
            self._meta.get_field(name).get_db_prep_save(value, connection) for name, value in ending.items()
        ]
        # No savepoint: finish() calls this inside its own transaction, which fails as a whole.
        with transaction.atomic(using=connection.alias, savepoint=False), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Run._meta.db_table} SET {columns} WHERE id = %s AND status = %s",
                [*values, self.pk, self.Status.RUNNING],
            )
            ended = cursor.rowcount == 1
            if ended:
                JobState.settle(self, status)
            # After the lines written live, and after a lost note: whoever wrote last. The update
            # above locked the run's row when it ended the run.
            self.append_log(log_lines, locked=ended)
        if ended:
            for field, value in ending.items():
                setattr(self, field, value)
        else:
            self.refresh_from_db()
        return ended

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
                JobState.settle(self, self.Status.LOST)
                # After the lines its worker wrote while it ran (live logs).
                self.append_log([LogLine(time=now, source="RTE", level="error", message=LOST_NOTE)])
        self.refresh_from_db()
        return bool(ended)

    def append_log(self, lines, locked: bool = False) -> int:
        """Add log lines (anything with time, source, level and message) after the run's last one;
        returns how many. Every writer goes through here: the worker while the run executes (live
        logs) and when it ends, the janitor. The run's row is locked first (PostgreSQL, unless the
        caller's transaction has `locked` it already; on SQLite every write transaction is
        IMMEDIATE, which serialises writers already), so seq numbers stay contiguous, unique and in
        commit order: a reader polling for seq > the last it saw misses nothing."""
        lines = list(lines)
        if not lines:
            return 0
        connection = connections[router.db_for_write(LogLine)]
        run_table, line_table = Run._meta.db_table, LogLine._meta.db_table
        adapt = connection.ops.adapt_datetimefield_value
        with transaction.atomic(using=connection.alias, savepoint=False), connection.cursor() as cursor:
            if connection.features.has_select_for_update and not locked:
                cursor.execute(f"SELECT id FROM {run_table} WHERE id = %s FOR UPDATE", [self.pk])
            cursor.execute(f"SELECT max(seq) FROM {line_table} WHERE run_id = %s", [self.pk])
            last = cursor.fetchone()[0]
            first = 0 if last is None else last + 1
            for start in range(0, len(lines), LOG_INSERT_ROWS):
                batch = lines[start : start + LOG_INSERT_ROWS]
                rows = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(batch))
                params = [
                    value
                    for i, line in enumerate(batch, first + start)
                    for value in (self.pk, i, adapt(line.time), line.source, line.level, line.message)
                ]
                cursor.execute(
                    f"INSERT INTO {line_table} (run_id, seq, time, source, level, message) VALUES {rows}",
                    params,
                )
        return len(lines)

    def reject(self, reason: str) -> None:
        """Record a new run as rejected (over its plan's runs per cycle): it never executes, and its
        log says why. A reprocess creates a new run, counted again."""
        now = timezone.now()
        self.status, self.finished_at = self.Status.REJECTED, now
        with transaction.atomic(savepoint=False):
            self.save(force_insert=True)
            LogLine.objects.create(run=self, seq=0, time=now, source="PLAN", level="error", message=reason)
        self.reason = reason

    def abort(self) -> bool:
        """Cancel a pending or running run (exit 6). The worker of a running one notices within about a
        second (its lease keeper) and kills the run's Node process; finish() then keeps this record
        as it is and only adds the rest of the run's log."""
        self.check_transition(self.Status.ABORTED)
        with transaction.atomic():
            ended = Run.objects.filter(
                pk=self.pk, status__in=[self.Status.PENDING, self.Status.RUNNING]
            ).update(status=self.Status.ABORTED, exit_code=6, finished_at=timezone.now(), lease_until=None)
            if ended:
                JobState.settle(self, self.Status.ABORTED)
        self.refresh_from_db()
        if ended:
            from kindling.ops import metrics  # ops reads runs' models: imported here, not at the top

            metrics.run_ended(self)
        return bool(ended)


class JobState(models.Model):
    """A message's job-state (spec section 8) kept per (message, job) pair for the Inbox run-state
    filter: the state of the pair's last finished run, or `pending` while none has finished. Deriving
    it per request took 3.7 s at a million messages; each run that ends writes its pair's row instead,
    in the transaction that ends it, and so do enqueue (the first run of a pair) and run deletion."""

    class State(models.TextChoices):
        PENDING = "pending"  # no run of the pair has finished: one waits or runs
        SUCCESS = "success"
        FAILED = "failed"
        ABORTED = "aborted"
        REJECTED = "rejected"  # over the plan's runs per cycle: a finished run that never executed

    OF_STATUS = {
        Run.Status.PENDING: State.PENDING,
        Run.Status.RUNNING: State.PENDING,
        Run.Status.SUCCESS: State.SUCCESS,
        Run.Status.FAILED: State.FAILED,
        Run.Status.LOST: State.FAILED,
        Run.Status.ABORTED: State.ABORTED,
        Run.Status.REJECTED: State.REJECTED,
    }

    # Two indexes only, both below: every run that ends rewrites its row and so each of its indexes.
    message = models.ForeignKey("inbox.Message", on_delete=models.CASCADE, related_name="+", db_index=False)
    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="+", db_index=False)
    # The message's project and time, copied (neither ever changes) so that one index holds a
    # project's pairs in a state newest first.
    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    received_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices)
    # The deciding run and its place in the spec's order (finished_at, started_at, id), so that a run
    # that ends replaces it only when it comes later; None while no run of the pair has finished.
    # No constraint and no index: nothing looks a row up by its run, and a run's deletion rebuilds it.
    run = models.ForeignKey(
        Run, null=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    finished_at = models.DateTimeField(null=True)
    started_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "job"], name="jobstate_pair")]
        indexes = [
            models.Index(
                fields=["project", "state", "-received_at", "-message"], name="jobstate_project_state"
            )
        ]

    def __str__(self):
        return f"job {self.job_id} on message {self.message_id}: {self.state}"

    @classmethod
    def open(cls, run: Run) -> None:
        """A pair's first run makes its row (pending); later runs leave it: the last finished run decides."""
        _execute("open", [run.job_id, cls.State.PENDING, run.message_id])

    @classmethod
    def settle(cls, run: Run, status: str) -> None:
        """`run` just ended with `status`: it decides its pair unless a run that ended later does.

        One statement on the run-finish path, reading the times the run's row holds: the row is
        written (or made, for a pair opened before this table existed) only if `run` comes later in
        the spec's order than the run that decides now. On PostgreSQL two runs of one pair ending at
        once queue on the row's lock, and the second compares with what the first wrote.
        """
        if run.message_id is not None:
            _execute("settle", [cls.OF_STATUS[status], run.pk])

    @classmethod
    def rebuild(cls, message_ids=None, using: str = "default") -> None:
        """Derive again the rows of these messages (all when None) from their runs, in bulk: after
        runs were deleted, and to fill the table (its migration, bench/pages.py's loader)."""
        cases = [value for pair in cls.OF_STATUS.items() for value in pair]
        with transaction.atomic(using=using), connections[using].cursor() as cursor:
            if message_ids is None:
                cursor.execute(_sql()["clear"])
                cursor.execute(_sql()["rebuild"].format(where=""), cases)
                return
            message_ids = sorted(message_ids)
            for start in range(0, len(message_ids), 500):
                batch = message_ids[start : start + 500]
                marks = ", ".join(["%s"] * len(batch))
                cursor.execute(_sql()["clear"] + f" WHERE message_id IN ({marks})", batch)
                where = f"AND message_id IN ({marks})"
                cursor.execute(_sql()["rebuild"].format(where=where), [*cases, *batch])


# Written in SQL: the ORM has no upsert with a condition, nor window functions in a subquery's filter.
JOB_STATE_SQL = {
    "open": """
        INSERT INTO {state} (message_id, job_id, project_id, received_at, state)
        SELECT m.id, %s, m.project_id, m.received_at, %s FROM {message} m WHERE m.id = %s
        ON CONFLICT (message_id, job_id) DO NOTHING
    """,
    "settle": """
        INSERT INTO {state} ({columns})
        SELECT m.id, r.job_id, m.project_id, m.received_at, %s, r.id, r.finished_at, r.started_at
        FROM {run} r JOIN {message} m ON m.id = r.message_id WHERE r.id = %s
        ON CONFLICT (message_id, job_id) DO UPDATE SET state = excluded.state, run_id = excluded.run_id,
            finished_at = excluded.finished_at, started_at = excluded.started_at
        WHERE {state}.finished_at IS NULL
           OR {state}.finished_at < excluded.finished_at
           OR ({state}.finished_at = excluded.finished_at AND (
                  ({state}.started_at IS NULL AND excluded.started_at IS NOT NULL)
               OR {state}.started_at < excluded.started_at
               OR ((({state}.started_at IS NULL AND excluded.started_at IS NULL)
                    OR {state}.started_at = excluded.started_at)
                   AND {state}.run_id < excluded.run_id)))
    """,
    "clear": "DELETE FROM {state}",
    # The deciding run of every pair: the first in the spec's order, newest first.
    "rebuild": """
        INSERT INTO {state} ({columns})
        SELECT m.id, d.job_id, m.project_id, m.received_at,
               CASE d.status {status_cases} END,
               CASE WHEN d.finished_at IS NULL THEN NULL ELSE d.id END,
               d.finished_at,
               CASE WHEN d.finished_at IS NULL THEN NULL ELSE d.started_at END
        FROM (
            SELECT id, message_id, job_id, status, finished_at, started_at, row_number() OVER (
                PARTITION BY message_id, job_id
                ORDER BY finished_at DESC NULLS LAST, started_at DESC NULLS LAST, id DESC
            ) AS place
            FROM {run} WHERE message_id IS NOT NULL {{where}}
        ) d JOIN {message} m ON m.id = d.message_id
        WHERE d.place = 1
    """,
}


@cache
def _sql() -> dict[str, str]:
    from kindling.inbox.models import Message

    names = {
        "state": JobState._meta.db_table,
        "run": Run._meta.db_table,
        "message": Message._meta.db_table,
        "columns": "message_id, job_id, project_id, received_at, state, run_id, finished_at, started_at",
        "status_cases": " ".join(["WHEN %s THEN %s"] * len(JobState.OF_STATUS)),
    }
    return {name: statement.format(**names) for name, statement in JOB_STATE_SQL.items()}


def _execute(name: str, params) -> None:
    with connections[router.db_for_write(JobState)].cursor() as cursor:
        cursor.execute(_sql()[name], params)


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


class FailureAlert(models.Model):
    """A job's failures not yet emailed (runs/alerts.py). A run that ends in a final failure adds to
    `failures` when its project has alerts on; the scheduler sends one email per job per the project's
    period and sets `failures` back to 0. The scheduler reads this small table, never the runs."""

    job = models.OneToOneField("jobs.Job", on_delete=models.CASCADE, related_name="+")
    failures = models.PositiveIntegerField(default=0)
    # The newest failed run counted (its error line goes in the email); no constraint: runs are deleted
    # by retention without asking this table.
    newest_run = models.ForeignKey(
        Run, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    first_failed_at = models.DateTimeField(null=True)
    sent_at = models.DateTimeField(null=True)

    def __str__(self):
        return f"{self.failures} failure(s) of job {self.job_id} to report"


class CronTick(models.Model):
    """One row per (trigger, minute) fired: the unique constraint is what stops a double fire."""

    trigger = models.ForeignKey("jobs.Trigger", on_delete=models.CASCADE, related_name="ticks")
    minute = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["trigger", "minute"], name="one_tick_per_minute")]
