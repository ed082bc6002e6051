"""Creating and changing jobs and triggers: the one implementation the portal and the REST API call.

Every change is checked here (names, the trigger's project, the credential's sharing, adaptor names,
trigger criteria and cron expressions, flow/catch cycles) and refused with an `EditError` that says
what to do. Jobs are never deleted: v1 only archives them.
"""

from django.db import transaction

from kindling.audit.log import record
from kindling.engine.adaptors import AdaptorUnavailable, parse_adaptor
from kindling.jobs import versions
from kindling.jobs.graph import CycleError, check_assignment, check_upstream
from kindling.jobs.models import Job, RetryBackoff, Trigger
from kindling.lib import cron
from kindling.lib.jsontext import JSONTextError, parse_object
from kindling.projects.models import Project
from kindling.vcs import commits, remotes

DEFAULT_ADAPTOR = "@openfn/language-common"
RETRY_FIELDS = ("retry_attempts", "retry_backoff", "retry_delay", "retry_max_delay")
MAX_RETRY_ATTEMPTS = 10
MAX_RETRY_WAIT = 86_400  # a day: a retry later than that is a new run, not a retry
NAME_MAX = 200
JOB_FIELDS = (
    "name",
    "trigger",
    "adaptor",
    "adaptor_version",
    "credential",
    "expression",
    "enabled",
    "private",
    "archived",
    "console_disabled",
    "git_path",
    *RETRY_FIELDS,
    "reply_with_data",
)
TRIGGER_FIELDS = ("name", "kind", "criteria", "exclusion", "cron", "upstream_job", "reply")


class EditError(ValueError):
    """A change that is refused; `field` names the form field or API key at fault, if one is."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _lock_graph(project: Project) -> None:
    # Two concurrent edits could each pass the cycle check and together close a loop (A after B,
    # B after A): edits of a project's jobs and triggers take turns on the project row.
    Project.objects.select_for_update().filter(pk=project.pk).values_list("pk", flat=True).first()


def _clean_name(name, taken) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise EditError("Give it a name.", "name")
    if len(name) > NAME_MAX:
        raise EditError(f"The name is longer than {NAME_MAX} characters.", "name")
    if taken.filter(name=name).exists():
        raise EditError(f"{name!r} is already taken in this project: choose another name.", "name")
    return name


def _check_job(job: Job, changed: set[str]) -> None:
    if "name" in changed:
        others = Job.objects.filter(project_id=job.project_id).exclude(pk=job.pk)
        job.name = _clean_name(job.name, others)
    if "adaptor" in changed or "adaptor_version" in changed:
        job.adaptor = (job.adaptor or "").strip()
        job.adaptor_version = (job.adaptor_version or "").strip() or "latest"
        try:
            parse_adaptor(f"{job.adaptor}@{job.adaptor_version}")
        except AdaptorUnavailable as exc:
            raise EditError(str(exc), "adaptor") from None
    if "trigger" in changed and job.trigger is not None:
        if job.trigger.project_id != job.project_id:
            raise EditError("That trigger belongs to another project.", "trigger")
        try:
            check_assignment(job, job.trigger)
        except CycleError as exc:
            raise EditError(str(exc), "trigger") from None
    if "credential" in changed and job.credential is not None:
        credential = job.credential
        # A deleted credential is shared with no project any more, so this refuses it too.
        if not credential.projects.filter(pk=job.project_id).exists():
            raise EditError(
                f"Credential {credential.name} is not shared with this project: its owner can share it "
                "from the credential's page.",
                "credential",
            )
    if "git_path" in changed:
        try:
            job.git_path = remotes.clean_path(job.git_path)
        except remotes.RemoteError as exc:
            raise EditError(str(exc), "file_path") from None
    if changed & set(RETRY_FIELDS):
        check_retries(job)
    if "enabled" in changed and job.enabled and job.archived:
        raise EditError(f"Job {job.name} is archived: restore it before switching it on.", "enabled")


def _whole(value, field: str, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise EditError(f"{what} must be a whole number from {low} to {high}.", field)
    try:
        number = int(value)
    except ValueError:
        raise EditError(
            f"{what} must be a whole number from {low} to {high}, not {value!r}.", field
        ) from None
    if not low <= number <= high:
        raise EditError(f"{what} must be from {low} to {high}; {number} is out of range.", field)
    return number


def check_retries(job: Job) -> None:
    job.retry_attempts = _whole(job.retry_attempts, "retry_attempts", 0, MAX_RETRY_ATTEMPTS, "Retries")
    if job.retry_backoff not in RetryBackoff.values:
        raise EditError(
            f"The backoff must be one of: {', '.join(RetryBackoff.values)}, not {job.retry_backoff!r}.",
            "retry_backoff",
        )
    job.retry_delay = _whole(
        job.retry_delay, "retry_delay", 0, MAX_RETRY_WAIT, "The wait before the first retry (seconds)"
    )
    job.retry_max_delay = _whole(
        job.retry_max_delay, "retry_max_delay", 1, MAX_RETRY_WAIT, "The longest wait (seconds)"
    )
    if job.retry_max_delay < job.retry_delay:
        raise EditError(
            f"The longest wait ({job.retry_max_delay} s) is shorter than the wait before the first retry "
            f"({job.retry_delay} s): make it at least as long.",
            "retry_max_delay",
        )


def _only(fields: dict, allowed, what: str) -> None:
    """A programming error, not a user's: the portal and the API only pass fields they know."""
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"unknown {what} fields: {', '.join(sorted(unknown))}")


def create_job(project: Project, by=None, **fields) -> Job:
    """A new job; like in v1 it is off until someone switches it on. `by`: who, for the audit log."""
    _only(fields, JOB_FIELDS, "job")
    fields.setdefault("adaptor", DEFAULT_ADAPTOR)
    fields.setdefault("adaptor_version", "latest")
    fields.setdefault("enabled", False)
    job = Job(project=project, **fields)
    with transaction.atomic():
        _lock_graph(project)
        _check_job(job, set(JOB_FIELDS))
        job.save()
        job_saved(job, by)
        record(project, by, "job.created", job.name)
        outbound = commits.record_edit(job, by, ("", ""))
    if outbound is not None:
        commits.push_pending(project)
    return job


def job_saved(job: Job, by, restored_from: int | None = None) -> None:
    """What follows every save that changes what a job runs: a new version, and its operations
    indexed for the Job Library. Imports call it too (kindling/projects/portability.py)."""
    versions.record_version(job, by, restored_from)
    versions.index_operations(job)


def update_job(job: Job, by=None, from_git: bool = False, restored_from: int | None = None, **changes) -> Job:
    """Change some fields of a job; the others stay as they are. `by`: who, for the audit log and the
    job's history; `restored_from`: the version being restored, when that is what this save is.

    A change of a linked job's expression or file path is committed to the project's repository
    (kindling/vcs/commits.py), unless it came from there (`from_git`: a push deployed, a revert)."""
    _only(changes, JOB_FIELDS, "job")
    outbound = None
    with transaction.atomic():
        _lock_graph(job.project)
        fresh = Job.objects.select_related("trigger", "credential").get(pk=job.pk)
        before = (fresh.git_path, fresh.expression)
        # Only what changes is checked: a job keeps a credential that was unshared since, until someone
        # gives it another, and saving its expression must not fail because of that.
        changed = {key for key, value in changes.items() if getattr(fresh, key) != value}
        if changed & set(versions.KEPT):
            versions.keep_baseline(fresh)
        for key, value in changes.items():
            setattr(fresh, key, value)
        _check_job(fresh, changed)
        fresh.save()
        if changed & set(versions.KEPT):
            job_saved(fresh, by, restored_from)
        audit_job_change(fresh, by, changed)
        if not from_git:
            outbound = commits.record_edit(fresh, by, before)
    if outbound is not None:
        commits.push_pending(fresh.project)
    job.refresh_from_db()
    return job


def restore_version(job: Job, number, by=None) -> tuple[Job, int, list[str]]:
    """Bring the job back to one of its versions by saving that content again, as a new version.
    Returns the job, the new version's number and notes on what could not come back (a trigger or
    credential gone since). NoSuchVersion, NothingToRestore or EditError when it cannot."""
    version = versions.version_of(job, number)
    changes, notes = versions.restore_changes(job, version)
    current = Job.objects.get(pk=job.pk)
    if all(getattr(current, key) == value for key, value in changes.items()):
        raise versions.NothingToRestore(f"Job {job.name} is already as version {version.number} left it.")
    update_job(job, by, restored_from=version.number, **changes)
    if by is not None:
        record(job.project, by, "job.version_restored", job.name, version=version.number)
    latest = job.versions.order_by("-number").values_list("number", flat=True).first()
    return job, latest, notes


# Switching on/off and archiving get events of their own in the audit log; other changes are "edited".
FLAG_EVENTS = {
    ("enabled", True): "job.switched_on",
    ("enabled", False): "job.switched_off",
    ("archived", True): "job.archived",
    ("archived", False): "job.restored",
}


def audit_job_change(job: Job, by, changed: set[str]) -> None:
    for field in ("enabled", "archived"):
        if field in changed:
            record(job.project, by, FLAG_EVENTS[field, getattr(job, field)], job.name)
    edited = sorted(changed - {"enabled", "archived"})
    if edited:
        record(job.project, by, "job.edited", job.name, fields=edited)


def set_enabled(job: Job, on: bool, by=None) -> Job:
    return update_job(job, by, enabled=on)


def set_private(job: Job, private: bool, by=None) -> Job:
    return update_job(job, by, private=private)


def set_console_disabled(job: Job, disabled: bool, by=None) -> Job:
    return update_job(job, by, console_disabled=disabled)


def archive_job(job: Job, by=None) -> Job:
    """Hide the job: it leaves the list and never matches messages or fires until restored."""
    return update_job(job, by, archived=True)


def restore_job(job: Job, by=None) -> Job:
    return update_job(job, by, archived=False)


def _criteria(value, what: str, field: str, required: bool):
    if isinstance(value, str):
        if not value.strip():
            value = None
        else:
            try:
                value = parse_object(value, what)
            except JSONTextError as exc:
                raise EditError(str(exc), field) from None
    if value is None:
        if required:
            raise EditError(
                f'{what} are required: a JSON object, like {{"formID": "patient_registration_v7"}}.', field
            )
        return None
    if not isinstance(value, dict):
        raise EditError(f'{what} must be a JSON object, like {{"formID": "patient_registration_v7"}}.', field)
    return value


def _check_trigger(trigger: Trigger, changed: set[str], match_all: bool) -> None:
    """Validate a trigger and clear the fields its kind does not use. `{}` as inclusion criteria
    matches every message, which a new user rarely means: the form asks (`match_all`) before it saves
    one; the API and imports state what they want, so their criteria are taken as sent."""
    kinds = Trigger.Kind.values
    if trigger.kind not in kinds:
        raise EditError(f"The kind must be one of: {', '.join(kinds)}.", "kind")
    others = Trigger.objects.filter(project_id=trigger.project_id).exclude(pk=trigger.pk)
    trigger.name = _clean_name(trigger.name, others)
    if trigger.kind == Trigger.Kind.MESSAGE:
        trigger.criteria = _criteria(trigger.criteria, "Inclusion criteria", "criteria", required=True)
        trigger.exclusion = _criteria(trigger.exclusion, "Exclusion criteria", "exclusion", required=False)
        if trigger.criteria == {} and not match_all:
            raise EditError(
                "Inclusion criteria {} match every message: each one posted to this project's inbox would "
                'start this trigger\'s jobs. Tick "Yes, match every message" to confirm, or add what to '
                'match on, like {"formID": "patient_registration_v7"}.',
                "criteria",
            )
        if (trigger.reply or Trigger.Reply.ACCEPTED) not in Trigger.Reply.values:
            raise EditError(f"The reply must be one of: {', '.join(Trigger.Reply.values)}.", "reply")
        trigger.reply = trigger.reply or Trigger.Reply.ACCEPTED
    else:
        trigger.criteria = trigger.exclusion = None
        trigger.reply = Trigger.Reply.ACCEPTED
    if trigger.kind == Trigger.Kind.CRON:
        try:
            trigger.cron = cron.validate(trigger.cron or "")
        except cron.CronError as exc:
            raise EditError(str(exc), "cron") from None
    else:
        trigger.cron = ""
    if trigger.kind not in (Trigger.Kind.FLOW, Trigger.Kind.CATCH):
        trigger.upstream_job = None
    elif changed & {"kind", "upstream_job"}:
        upstream = trigger.upstream_job
        if upstream is None:
            raise EditError("Choose the job whose end fires this trigger.", "upstream_job")
        if upstream.project_id != trigger.project_id:
            raise EditError("That job belongs to another project.", "upstream_job")
        if upstream.archived:
            raise EditError(
                f"Job {upstream.name} is archived: it never runs, so it would never fire this.",
                "upstream_job",
            )
        if trigger.pk is not None:
            try:
                check_upstream(trigger, upstream)
            except CycleError as exc:
                raise EditError(str(exc), "upstream_job") from None


def create_trigger(project: Project, match_all: bool = True, **fields) -> Trigger:
    _only(fields, TRIGGER_FIELDS, "trigger")
    trigger = Trigger(project=project, **fields)
    with transaction.atomic():
        _lock_graph(project)
        _check_trigger(trigger, set(TRIGGER_FIELDS), match_all)
        trigger.save()
    return trigger


def update_trigger(trigger: Trigger, match_all: bool = True, **changes) -> Trigger:
    _only(changes, TRIGGER_FIELDS, "trigger")
    with transaction.atomic():
        _lock_graph(trigger.project)
        fresh = Trigger.objects.select_related("upstream_job").get(pk=trigger.pk)
        changed = {key for key, value in changes.items() if getattr(fresh, key) != value}
        for key, value in changes.items():
            setattr(fresh, key, value)
        _check_trigger(fresh, changed, match_all)
        fresh.save()
    trigger.refresh_from_db()
    return trigger


def delete_trigger(trigger: Trigger) -> list[Job]:
    """Delete a trigger; its jobs are left without one (they do not run until they get another)."""
    with transaction.atomic():
        _lock_graph(trigger.project)
        orphans = list(trigger.jobs.order_by("name"))
        trigger.delete()
    return orphans
