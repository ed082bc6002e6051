from django.db import models
from django.db.models.functions import Concat
from django.utils import timezone

from kindling.credentials.models import Credential
from kindling.lib import jsonmatch


class Trigger(models.Model):
    class Kind(models.TextChoices):
        MESSAGE = "message", "Message filter"
        CRON = "cron", "Cron"
        FLOW = "flow", "Flow (on success)"
        CATCH = "catch", "Catch (on failure)"

    class Reply(models.TextChoices):
        # v1: the inbox answers 202 as soon as the message is stored.
        ACCEPTED = "accepted", "At once (202 Accepted)"
        # Lightning's `webhook_reply: after_completion`: the inbox answers once the runs have ended.
        AFTER_COMPLETION = "after_completion", "After the runs finish, with their results"

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="triggers")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    criteria = models.JSONField(null=True, blank=True)  # message: inclusion
    exclusion = models.JSONField(null=True, blank=True)  # message: optional exclusion
    cron = models.CharField(max_length=100, blank=True)
    # message: when the inbox answers the request that matched (docs/inbox-reply.md)
    reply = models.CharField(max_length=20, choices=Reply.choices, default=Reply.ACCEPTED)
    # flow/catch: the job whose success (flow) or failure (catch) fires this trigger
    upstream_job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.CASCADE, related_name="downstream_triggers"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="trigger_name_unique")]

    def __str__(self):
        return self.name

    def matches(self, body) -> bool:
        return self.kind == self.Kind.MESSAGE and jsonmatch.matches(body, self.criteria, self.exclusion)


class JobQuerySet(models.QuerySet):
    def runnable(self):
        """Jobs that start runs by themselves: switched on and not archived."""
        return self.filter(enabled=True, archived=False)

    def with_credential_access(self):
        """Annotate whether each job's credential is shared with its project, for `credential_problem`
        in lists without a query per job."""
        shares = Credential.projects.through.objects
        return self.annotate(
            credential_shared=models.Exists(
                shares.filter(
                    credential_id=models.OuterRef("credential_id"), project_id=models.OuterRef("project_id")
                )
            )
        )


class RetryBackoff(models.TextChoices):
    FIXED = "fixed", "Fixed: the same wait before every retry"
    EXPONENTIAL = "exponential", "Exponential: the wait doubles after every retry"


class Job(models.Model):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="jobs")
    name = models.CharField(max_length=200)
    trigger = models.ForeignKey(
        Trigger, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    adaptor = models.CharField(max_length=200, default="@openfn/language-common")
    adaptor_version = models.CharField(max_length=50, default="latest")
    credential = models.ForeignKey(
        "credentials.Credential", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    expression = models.TextField(blank=True)
    # v1: a job is off by default; switching it on (autoprocess) lets triggers start it.
    enabled = models.BooleanField(default=False)
    private = models.BooleanField(default=False)
    archived = models.BooleanField(default=False)
    console_disabled = models.BooleanField(default=False)
    # A synchronous inbox reply carries the run's final `data`; off, only its status and exit code.
    reply_with_data = models.BooleanField(default=True)
    git_path = models.CharField(max_length=500, blank=True)
    # Cron jobs: the last successful final state that may be inherited (v1 size rule: <= 50,000 bytes).
    saved_state = models.JSONField(null=True, blank=True)
    # Automatic retries (off by default, as in v1): a run that ends failed, timed out or lost is tried
    # again up to `retry_attempts` times, each after a backoff (kindling/runs/retries.py).
    retry_attempts = models.PositiveSmallIntegerField(default=0)
    retry_backoff = models.CharField(
        max_length=12, choices=RetryBackoff.choices, default=RetryBackoff.EXPONENTIAL
    )
    retry_delay = models.PositiveIntegerField(default=60)  # seconds before the first retry
    retry_max_delay = models.PositiveIntegerField(default=3600)  # seconds: no wait is longer
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # What the Job Library's text search reads, computed by the database from the row itself (it
    # cannot go stale). One column, so that PostgreSQL answers `UPPER(library_text) LIKE '%WORD%'`
    # from one trigram index (migration 0004); OR-ing three columns' indexes it chose to scan.
    library_text = models.GeneratedField(
        expression=Concat(
            "name",
            models.Value("\n"),
            "adaptor",
            models.Value("\n"),
            "expression",
            output_field=models.TextField(),
        ),
        output_field=models.TextField(),
        db_persist=True,
    )

    objects = JobQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="job_name_unique")]
        # The Job Library filters on these at every search and shows the latest changed first
        # (kindling/library/catalogue.py; bench/library.py measures it).
        indexes = [
            models.Index(fields=["adaptor", "private", "archived"], name="job_library_adaptor"),
            models.Index(fields=["private", "archived", "updated_at", "id"], name="job_library_recent"),
        ]

    def __str__(self):
        return self.name

    @property
    def adaptor_spec(self) -> str:
        return f"{self.adaptor}@{self.adaptor_version or 'latest'}"

    @property
    def credential_problem(self) -> str | None:
        """ "deleted" or "revoked" (no longer shared with the project) when the job names a credential
        its runs cannot get, which they fail on with exit code 3; None when it is fine or there is none."""
        if self.credential_id is None:
            return None
        if self.credential.is_deleted:
            return "deleted"
        shared = getattr(self, "credential_shared", None)
        if shared is None:
            shared = self.credential.projects.filter(pk=self.project_id).exists()
        return None if shared else "revoked"


class AdaptorInstall(models.Model):
    """An adaptor version someone asked Job Studio to install from npm, and how that went.

    Installs run in a thread of the web process that took the request; keeping their progress here
    lets any web process answer the page that follows it.
    """

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    adaptor = models.CharField(max_length=200)
    version = models.CharField(max_length=50)  # as asked: an exact version or "latest"
    installed_version = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    notes = models.JSONField(default=list, blank=True)  # [{"time", "level", "message"}], in order
    error = models.TextField(blank=True)
    details = models.JSONField(default=list, blank=True)  # npm's reasons, when it failed
    requested_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.adaptor}@{self.version}"


class RunRequest(models.Model):
    """A person's click on Run now, Save and Run or Reprocess, by the token the page (or an API
    client's Idempotency-Key) sent with it. The 10-second rule is for duplicate deliveries, not for
    someone testing a job again; this is what keeps a double click (two requests, one token, maybe
    in two web processes) to one run."""

    token = models.CharField(max_length=64, unique=True)
    run = models.ForeignKey("runs.Run", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self):
        return self.token


class JobVersion(models.Model):
    """What a job was after one save: its expression, adaptor, trigger and credential, with who saved
    it and when. Every save that changes one of these adds a version (the portal, Job Studio, the API
    and project.yaml imports all save through jobs/editing.py), so an overwritten job can always be
    brought back; restoring a version adds a new one, and history is never rewritten."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    expression = models.TextField(blank=True)
    adaptor = models.CharField(max_length=200)
    adaptor_version = models.CharField(max_length=50)
    trigger = models.ForeignKey(Trigger, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    credential = models.ForeignKey(
        "credentials.Credential", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The names as they were: a trigger deleted or a credential renamed since still reads right.
    trigger_name = models.CharField(max_length=200, blank=True)
    credential_name = models.CharField(max_length=200, blank=True)
    author = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    restored_from = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "number"], name="job_version_unique")]
        ordering = ["-number"]

    def __str__(self):
        return f"{self.job_id} v{self.number}"


class JobOperation(models.Model):
    """An operation the job's expression calls at its top level (`upsert`, `fn`, `each`...), kept at
    each save for the Job Library's "operation used" search: a lookup on an indexed name rather than
    a parse of every expression per search."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="operations")
    name = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "name"], name="job_operation_unique")]
        indexes = [models.Index(fields=["name", "job"], name="job_operation_name")]

    def __str__(self):
        return self.name
