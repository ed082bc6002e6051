"""project.yaml (OpenFn portability format v2): import a whole project, or fail naming the key; export
one, credential values masked."""

import json
import re

import yaml
from django.db import transaction

from kindling.credentials.models import Credential
from kindling.jobs.editing import EditError, check_retries, job_saved
from kindling.jobs.models import Job, Trigger
from kindling.lib import cron
from kindling.projects.models import Project

TRIGGER_KINDS = {
    "criteria": Trigger.Kind.MESSAGE,
    "cron": Trigger.Kind.CRON,
    "success": Trigger.Kind.FLOW,
    "failure": Trigger.Kind.CATCH,
}
TRIGGER_EXTRA_KEYS = {"type", "label", "exclusion"}
JOB_KEYS = {"expression", "adaptor", "language_pack", "trigger", "credential", "type", "label"}
# kindling.jobs.<name>.retries: the keys of a job's retry settings (docs/retries.md), as job fields.
RETRY_KEYS = {
    "attempts": "retry_attempts",
    "backoff": "retry_backoff",
    "delay": "retry_delay",
    "max_delay": "retry_max_delay",
}
# kindling.triggers.<name>: what a trigger can say beyond v2 (its synchronous inbox reply).
TRIGGER_OPTION_KEYS = {"reply"}
ADAPTOR_RE = re.compile(r"^(?P<name>(@openfn/)?language-[a-z0-9-]+)(@(?P<version>[A-Za-z0-9.+-]+))?$")


class ProjectFileError(ValueError):
    def __init__(self, key: str, problem: str):
        self.key, self.problem = key, problem
        super().__init__(f"{key}: {problem}")


def parse_adaptor(spec: str, key: str) -> tuple[str, str]:
    match = ADAPTOR_RE.match(str(spec).strip())
    if not match:
        raise ProjectFileError(
            key, f"{spec!r} is not an OpenFn adaptor such as '@openfn/language-http@7.2.10'"
        )
    name = match["name"] if match["name"].startswith("@openfn/") else f"@openfn/{match['name']}"
    return name, match["version"] or "latest"


def parse_json_criteria(value, key: str):
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, json.JSONDecodeError) as exc:
        where = f" at line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise ProjectFileError(key, f"is not valid JSON{where}: {value!r}") from None
    # Spec section 2: inclusion and exclusion criteria are JSON objects (an array would never match a form).
    if not isinstance(parsed, dict):
        raise ProjectFileError(key, 'must be a JSON object, for example \'{"formID": "intake"}\'')
    return parsed


def mapping(value, key: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProjectFileError(key, "must be a mapping of names to definitions")
    return value


def check_triggers(triggers: dict, job_names: set[str]) -> dict[str, dict]:
    parsed = {}
    for name, spec in triggers.items():
        key = f"triggers.{name}"
        spec = mapping(spec, key)
        unknown = set(spec) - set(TRIGGER_KINDS) - TRIGGER_EXTRA_KEYS
        if unknown:
            raise ProjectFileError(
                f"{key}.{sorted(unknown)[0]}",
                "unknown key; a trigger has one of criteria, cron, success, failure",
            )
        kinds = [k for k in TRIGGER_KINDS if k in spec]
        if len(kinds) != 1:
            found = " and ".join(kinds) if kinds else "none of them"
            raise ProjectFileError(
                key, f"a trigger has exactly one of criteria, cron, success, failure (found {found})"
            )
        kind = kinds[0]
        out = {"kind": TRIGGER_KINDS[kind]}
        if kind == "criteria":
            out["criteria"] = parse_json_criteria(spec["criteria"], f"{key}.criteria")
            if spec.get("exclusion") not in (None, ""):
                out["exclusion"] = parse_json_criteria(spec["exclusion"], f"{key}.exclusion")
        elif kind == "cron":
            try:
                out["cron"] = cron.validate(str(spec["cron"]))
            except cron.CronError as exc:
                raise ProjectFileError(f"{key}.cron", str(exc)) from None
        else:
            upstream = spec[kind]
            if upstream not in job_names:
                raise ProjectFileError(f"{key}.{kind}", f"names job {upstream!r}, which is not in jobs")
            out["upstream"] = upstream
        parsed[name] = out
    return parsed


def check_cycles(jobs: dict, triggers: dict[str, dict]) -> None:
    # Edge upstream -> job for every flow/catch trigger a job uses; a cycle would let one run loop forever.
    edges: dict[str, set[str]] = {}
    for job_name, spec in jobs.items():
        upstream = triggers.get(spec.get("trigger"), {}).get("upstream")
        if upstream:
            edges.setdefault(upstream, set()).add(job_name)

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for nxt in edges.get(start, ()):
            if nxt == target or (nxt not in seen and (seen.add(nxt) or reaches(nxt, target, seen))):
                return True
        return False

    for job_name, spec in jobs.items():
        if reaches(job_name, job_name, set()):
            raise ProjectFileError(
                f"jobs.{job_name}.trigger",
                f"trigger {spec['trigger']!r} would form a "
                "cycle: this job's runs would start themselves again",
            )


def load(text: str) -> dict:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ProjectFileError("(file)", f"is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise ProjectFileError("(file)", "must be a YAML mapping with jobs, triggers and credentials")
    return data


def import_project(text: str, name: str, owner) -> Project:
    data = load(text)
    jobs = mapping(data.get("jobs"), "jobs")
    triggers = check_triggers(mapping(data.get("triggers"), "triggers"), set(jobs))
    credentials = mapping(data.get("credentials"), "credentials")
    extra = mapping(data.get("kindling"), "kindling")
    job_options = mapping(extra.get("jobs"), "kindling.jobs")
    trigger_replies = read_trigger_options(mapping(extra.get("triggers"), "kindling.triggers"), triggers)

    checked_jobs = {}
    for job_name, spec in jobs.items():
        key = f"jobs.{job_name}"
        spec = mapping(spec, key)
        unknown = set(spec) - JOB_KEYS
        if unknown:
            raise ProjectFileError(f"{key}.{sorted(unknown)[0]}", "unknown key")
        if not isinstance(spec.get("expression"), str) or not spec["expression"].strip():
            raise ProjectFileError(f"{key}.expression", "is required (the job's JavaScript)")
        adaptor_spec = spec.get("adaptor") or spec.get("language_pack")
        if not adaptor_spec:
            raise ProjectFileError(f"{key}.adaptor", "is required, for example '@openfn/language-common'")
        adaptor, version = parse_adaptor(adaptor_spec, f"{key}.adaptor")
        # A job may have no trigger (its trigger was deleted): it then never starts by itself.
        if spec.get("trigger") is not None and spec["trigger"] not in triggers:
            raise ProjectFileError(
                f"{key}.trigger", f"names trigger {spec.get('trigger')!r}, which is not in triggers"
            )
        if spec.get("credential") is not None and spec["credential"] not in credentials:
            raise ProjectFileError(
                f"{key}.credential", f"names credential {spec['credential']!r}, which is not in credentials"
            )
        checked_jobs[job_name] = {**spec, "adaptor": adaptor, "version": version}
    for cred_name, body in credentials.items():
        if not isinstance(body, dict):
            raise ProjectFileError(f"credentials.{cred_name}", "must be a mapping of configuration values")
    check_cycles(checked_jobs, triggers)
    concurrency = extra.get("concurrency", 1)
    if not isinstance(concurrency, int) or not 1 <= concurrency <= 10:
        raise ProjectFileError("kindling.concurrency", "must be a whole number from 1 to 10")

    with transaction.atomic():
        project = Project.create(name, owner)
        project.concurrency = concurrency
        project.save(update_fields=["concurrency"])
        creds = {}
        for cred_name, body in credentials.items():
            credential = Credential(name=cred_name, owner=owner)
            credential.body = body
            credential.save()
            credential.projects.add(project)
            creds[cred_name] = credential
        made_triggers = {
            t_name: Trigger.objects.create(
                project=project,
                name=t_name,
                kind=t["kind"],
                criteria=t.get("criteria"),
                exclusion=t.get("exclusion"),
                cron=t.get("cron", ""),
                reply=trigger_replies.get(t_name, Trigger.Reply.ACCEPTED),
            )
            for t_name, t in triggers.items()
        }
        made_jobs = {}
        for job_name, spec in checked_jobs.items():
            options = mapping(job_options.get(job_name), f"kindling.jobs.{job_name}")
            made_jobs[job_name] = Job(
                project=project,
                name=job_name,
                trigger=made_triggers.get(spec.get("trigger")),
                adaptor=spec["adaptor"],
                adaptor_version=spec["version"],
                credential=creds.get(spec.get("credential")),
                expression=spec["expression"],
                enabled=bool(options.get("enabled", True)),  # imported jobs are switched on
                private=bool(options.get("private", False)),
                console_disabled=bool(options.get("console_disabled", False)),
                archived=bool(options.get("archived", False)),
            )
            read_retries(made_jobs[job_name], options.get("retries"), f"kindling.jobs.{job_name}.retries")
            if "reply_with_data" in options:
                made_jobs[job_name].reply_with_data = read_reply_with_data(
                    options["reply_with_data"], f"kindling.jobs.{job_name}.reply_with_data"
                )
            made_jobs[job_name].save()
            # Its first version, by the importer (the one place jobs are saved, jobs/editing.py, says so).
            job_saved(made_jobs[job_name], owner)
        for t_name, t in triggers.items():
            if t.get("upstream"):
                made_triggers[t_name].upstream_job = made_jobs[t["upstream"]]
                made_triggers[t_name].save(update_fields=["upstream_job"])
    return project


def read_trigger_options(options: dict, triggers: dict[str, dict]) -> dict[str, str]:
    """The `reply` of each trigger the kindling block names (docs/inbox-reply.md), or fail naming
    the key: only a message trigger (criteria) answers an inbox request."""
    replies = {}
    for name, spec in options.items():
        key = f"kindling.triggers.{name}"
        spec = mapping(spec, key)
        if name not in triggers:
            raise ProjectFileError(key, f"names trigger {name!r}, which is not in triggers")
        unknown = set(spec) - TRIGGER_OPTION_KEYS
        if unknown:
            raise ProjectFileError(f"{key}.{sorted(unknown)[0]}", "unknown key; use reply")
        if "reply" not in spec:
            continue
        reply = spec["reply"]
        if reply not in Trigger.Reply.values:
            raise ProjectFileError(
                f"{key}.reply", f"{reply!r} is not a reply; use {' or '.join(Trigger.Reply.values)}"
            )
        if reply != Trigger.Reply.ACCEPTED and triggers[name]["kind"] != Trigger.Kind.MESSAGE:
            raise ProjectFileError(
                f"{key}.reply", "only a message trigger (criteria) answers inbox requests after its runs"
            )
        replies[name] = reply
    return replies


def read_reply_with_data(value, key: str) -> bool:
    # YAML's own true/false: "no" in quotes or 0 would silently mean something else.
    if not isinstance(value, bool):
        raise ProjectFileError(
            key,
            "must be true (the reply gives the run's data) or false (its status and exit code only), "
            f"not {value!r}",
        )
    return value


def read_retries(job: Job, retries, key: str) -> None:
    """Set a job's retry settings from its `retries` mapping (absent: none), or fail naming the key."""
    retries = mapping(retries, key)
    unknown = set(retries) - set(RETRY_KEYS)
    if unknown:
        raise ProjectFileError(f"{key}.{sorted(unknown)[0]}", f"unknown key; use {', '.join(RETRY_KEYS)}")
    for name, field in RETRY_KEYS.items():
        if name in retries:
            setattr(job, field, retries[name])
    try:
        check_retries(job)
    except EditError as exc:
        name = next((n for n, f in RETRY_KEYS.items() if f == exc.field), None)
        raise ProjectFileError(f"{key}.{name}" if name else key, str(exc)) from None


def written_retries(job: Job) -> dict:
    """A job's retry settings for project.yaml; {} when it has none (nothing to say)."""
    if not job.retry_attempts:
        return {}
    return {name: getattr(job, field) for name, field in RETRY_KEYS.items()}


MASKED_VALUE = "******"


class _ExportDumper(yaml.SafeDumper):
    pass


def _str(dumper, value: str):
    # Multi-line expressions as literal blocks, the way people write them by hand.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ExportDumper.add_representer(str, _str)


def _compact_json(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    taken.add(candidate)
    return candidate


def export_project(project: Project) -> str:
    """The project as a v2 project.yaml; values of credentials are masked. Our `kindling:` block is there
    only when the project uses something v2 cannot say (a job off, private, console disabled, archived,
    retried, replying with statuses only; a trigger replying after its runs; a concurrency other than 1)."""
    jobs = list(project.jobs.select_related("trigger", "credential").with_credential_access().order_by("id"))
    # The credentials shared with the project, and any a job still names after its owner revoked or
    # deleted it: the job keeps its reference and the file stays importable (a deleted one has no
    # values left, so it is exported empty), and a comment at the top says what is missing.
    credentials = list(Credential.objects.shared_with(project).order_by("name", "id"))
    for job in jobs:
        if job.credential_id and job.credential not in credentials:
            credentials.append(job.credential)
    taken: set[str] = set()
    credential_names = {c.pk: _unique(c.name, taken) for c in credentials}

    out: dict = {"jobs": {}, "triggers": {}, "credentials": {}}
    job_options: dict = {}
    for job in jobs:
        version = job.adaptor_version
        spec: dict = {
            "expression": job.expression,
            "adaptor": f"{job.adaptor}@{version}" if version and version != "latest" else job.adaptor,
        }
        if job.trigger_id:
            spec["trigger"] = job.trigger.name
        if job.credential_id in credential_names:
            spec["credential"] = credential_names[job.credential_id]
        out["jobs"][job.name] = spec
        flags = (
            ("enabled", job.enabled, True),
            ("private", job.private, False),
            ("console_disabled", job.console_disabled, False),
            ("archived", job.archived, False),
            ("reply_with_data", job.reply_with_data, True),
        )
        options = {key: value for key, value, default in flags if value != default}
        if written_retries(job):
            options["retries"] = written_retries(job)
        if options:
            job_options[job.name] = options
    trigger_options: dict = {}
    for trigger in project.triggers.select_related("upstream_job").order_by("id"):
        if trigger.reply != Trigger.Reply.ACCEPTED:
            trigger_options[trigger.name] = {"reply": trigger.reply}
        if trigger.kind == Trigger.Kind.MESSAGE:
            spec = {"criteria": _compact_json(trigger.criteria or {})}
            if trigger.exclusion:
                spec["exclusion"] = _compact_json(trigger.exclusion)
        elif trigger.kind == Trigger.Kind.CRON:
            spec = {"cron": trigger.cron}
        else:
            kind = "success" if trigger.kind == Trigger.Kind.FLOW else "failure"
            spec = {kind: trigger.upstream_job.name if trigger.upstream_job_id else None}
        out["triggers"][trigger.name] = spec
    for credential in credentials:
        body = {} if credential.is_deleted else credential.body
        out["credentials"][credential_names[credential.pk]] = {key: MASKED_VALUE for key in body}
    extra: dict = {}
    if project.concurrency != 1:
        extra["concurrency"] = project.concurrency
    if job_options:
        extra["jobs"] = job_options
    if trigger_options:
        extra["triggers"] = trigger_options
    if extra:
        out["kindling"] = extra
    notes = "".join(f"# {note}\n" for note in missing_credentials(jobs, credential_names))
    return notes + yaml.dump(out, Dumper=_ExportDumper, sort_keys=False, allow_unicode=True, width=110)


def missing_credentials(jobs, names: dict) -> list[str]:
    """One line per job whose credential its runs cannot get (deleted, or no longer shared)."""
    notes = []
    for job in jobs:
        problem = job.credential_problem
        if problem == "deleted":
            notes.append(
                f"Missing credential: {names[job.credential_id]!r} of job {job.name!r} was deleted; it is "
                "exported without values. Give the job another credential."
            )
        elif problem == "revoked":
            notes.append(
                f"Missing credential: {names[job.credential_id]!r} of job {job.name!r} is no longer shared "
                "with this project; its runs fail until its owner shares it again."
            )
    return notes
