"""Job Studio: the page that creates a job (the floating "+") and edits one (the pencil), and the JSON
endpoints its script calls: the compiler's syntax check, the messages a trigger matches with their
initial state, and Save and Run. The adaptor endpoints are in studio_adaptors.py.

Saving goes through the same form and `jobs/editing.py` functions as before, so the page still
works as a plain form; the script adds the editor, the wizard and the live parts.
"""

import json
from functools import partial, wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from kindling.accounts import preferences
from kindling.engine.compile import CompileError, CompilerUnavailable, compile_expression
from kindling.inbox.models import Message
from kindling.jobs import adaptor_docs, editing
from kindling.jobs.forms import JobForm
from kindling.jobs.models import Job, Trigger
from kindling.jobs.views import matching_messages, project_job, save_posted
from kindling.library import catalogue
from kindling.projects.access import project_for
from kindling.runs import queue
from kindling.runs.models import Run
from kindling.runs.reprocess import CannotRun, run_now

# The wizard's four steps, in v1's order, and the form fields each one holds. Retries are a section
# of their own below them (jobs/_studio_retries.html): v1's wizard had none.
STEPS = (
    ("name", "Name", ("name",)),
    ("trigger", "Trigger", ("trigger",)),
    ("adaptor", "Adaptor", ("adaptor", "adaptor_version")),
    ("credential", "Credential", ("credential",)),
)


def json_error(message: str, status: int, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def studio_endpoint(action="view"):
    """A JSON endpoint under /projects/<slug>/: project_for(), with its 404 and 403 as JSON bodies, and
    the view called with the project in place of the slug."""

    def decorate(view):
        @wraps(view)
        def endpoint(request, slug, *args, **kwargs):
            try:
                project = project_for(request.user, slug, action)
            except Http404:
                return json_error("No such project.", 404)
            except PermissionDenied as exc:
                return json_error(str(exc), 403)
            return view(request, project, *args, **kwargs)

        return endpoint

    return decorate


def message_label(message: Message) -> str:
    received = timezone.localtime(message.received_at).strftime("%Y-%m-%d %H:%M:%S")
    return f"Message {message.pk} · {received}"


def message_choices(project, trigger) -> list[dict]:
    return [{"id": m.pk, "label": message_label(m)} for m in matching_messages(project, trigger)]


def first_error_step(form) -> int | None:
    for number, (_key, _title, fields) in enumerate(STEPS, start=1):
        if any(form.errors.get(field) for field in fields):
            return number
    return None


def studio_context(request, project, form, job: Job | None) -> dict:
    # v1: a new job always opens in Wizard mode; an existing one in the mode the user chose last.
    mode = "wizard" if job is None else preferences.get(request.user, preferences.STUDIO_MODE)
    triggers = list(project.triggers.order_by("name"))
    chosen = form["trigger"].value()
    trigger = next((t for t in triggers if str(t.pk) == str(chosen)), None)
    slug = project.slug
    config = {
        "mode": mode,
        "isNew": job is None,
        "job": job.pk if job else None,
        "theme": preferences.get(request.user, preferences.EDITOR_THEME),
        "themes": preferences.EDITOR_THEMES,
        "step": first_error_step(form) or 1,
        "triggerKinds": {str(t.pk): t.kind for t in triggers},
        "messages": message_choices(project, trigger),
        "catalogue": adaptor_docs.catalogue(settings.ADAPTOR_REPO_DIR),
        "monaco": static("vendor/monaco/vs"),
        "urls": {
            "preferences": reverse("account-preferences"),
            "check": reverse("studio-check", args=[slug]),
            "catalogue": reverse("studio-adaptors", args=[slug]),
            "docs": reverse("studio-adaptor-docs", args=[slug]),
            "versions": reverse("studio-adaptor-versions", args=[slug]),
            "types": reverse("studio-adaptor-types", args=[slug]),
            "install": reverse("studio-adaptor-install", args=[slug]),
            "triggerMessages": reverse("studio-trigger-messages", args=[slug, 0]),
            "messageState": reverse("studio-message-state", args=[slug, 0]),
            "triggerState": reverse("studio-trigger-state", args=[slug, 0]),
            "save": (reverse("job-edit", args=[slug, job.pk]) if job else reverse("job-create", args=[slug])),
            "saveAndRun": (
                reverse("studio-save-and-run", args=[slug, job.pk])
                if job
                else reverse("studio-save-and-run-new", args=[slug])
            ),
        },
    }
    return {
        "project": project,
        "form": form,
        "job": job,
        "mode": mode,
        "steps": [(number, key, title) for number, (key, title, _f) in enumerate(STEPS, start=1)],
        "step": config["step"],
        "messages_for_trigger": config["messages"],
        "message_trigger": trigger is not None and trigger.kind == Trigger.Kind.MESSAGE,
        "theme_choices": preferences.EDITOR_THEMES.items(),
        "studio_config": config,
    }


def render_studio(request, project, form, job):
    # The wizard opens on the first step whose field was refused (studio_context's "step").
    return render(request, "jobs/studio.html", studio_context(request, project, form, job))


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def saved_fields(project, job: Job) -> dict:
    """What the script needs once a job is saved; a new job's page becomes that job's edit page."""
    return {
        "job": job.pk,
        "name": job.name,
        "edit_url": reverse("job-edit", args=[project.slug, job.pk]),
        "detail_url": reverse("job-detail", args=[project.slug, job.pk]),
        "save_and_run_url": reverse("studio-save-and-run", args=[project.slug, job.pk]),
    }


def studio_save(request, project, form, save, done: str, job: Job | None):
    """Save keeps the user in Job Studio, to go on editing and testing; Done or the breadcrumb leaves.
    The script saves without leaving the page (JSON); without it the page reloads with the note."""
    if wants_json(request) and request.method == "POST":
        saved = save_posted(request, form, save, "")
        if saved is None:
            return JsonResponse(form_errors(form), status=400)
        return JsonResponse({**saved_fields(project, saved), "note": done.format(saved)})
    saved = save_posted(request, form, save, done)
    if saved is not None:
        return redirect("job-edit", project.slug, saved.pk)
    return render_studio(request, project, form, job)


@login_required
def job_create(request, slug):
    project = project_for(request.user, slug, "edit_job")
    # "Use in my project" from the Job Library opens here with the library job's code and adaptor.
    initial = catalogue.studio_initial(request.GET["library"]) if "library" in request.GET else None
    form = JobForm(request.POST or None, project=project, initial=initial or {})
    created = "Job {.name} created. It is off until you switch it on."
    save = partial(editing.create_job, project, request.user)
    return studio_save(request, project, form, save, created, None)


@login_required
def job_edit(request, slug, job_id):
    project, job = project_job(request, slug, job_id, "edit_job")
    form = JobForm(request.POST or None, project=project, job=job)
    save = partial(editing.update_job, job, request.user)
    return studio_save(request, project, form, save, "Job {.name} saved.", job)


# JSON endpoints ----------------------------------------------------------------------------------


def read_json(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise ValueError("The request body is not JSON.") from None
    if not isinstance(body, dict):
        raise ValueError("The request body must be a JSON object.")
    return body


def compile_reason(exc: CompileError) -> str:
    """What is wrong, without the position the compiler puts in front of it (the page shows line and
    column apart, and would otherwise say them twice), as a sentence."""
    reason = str(exc).removeprefix(f"Syntax error at line {exc.line}, column {exc.column}: ")
    return reason if reason.endswith((".", "!", "?")) else f"{reason}."


@login_required
@require_POST
@studio_endpoint("edit_job")
def check_expression(request, project):
    """The compiler's verdict on an expression, before it is saved: 200, or 422 with line and column."""
    try:
        expression = read_json(request).get("expression")
    except ValueError as exc:
        return json_error(f'{exc} Send {{"expression": "..."}}.', 400)
    if not isinstance(expression, str):
        return json_error('Send the expression to check as {"expression": "..."}.', 400)
    try:
        compiled = compile_expression(expression)
    except CompileError as exc:
        return json_error(str(exc), 422, line=exc.line, column=exc.column, reason=compile_reason(exc))
    except CompilerUnavailable as exc:
        return json_error(f"The syntax check is not available right now: {exc}", 503)
    return JsonResponse({"ok": True, "operations": compiled.operations})


@login_required
@require_GET
@studio_endpoint()
def trigger_messages(request, project, trigger_id):
    """The messages a trigger matches (newest first, last 30 days), for the inspector and Save and Run."""
    trigger = Trigger.objects.filter(project=project, pk=trigger_id).first()
    if trigger is None:
        return json_error(f"There is no trigger {trigger_id} in this project.", 404)
    if trigger.kind != Trigger.Kind.MESSAGE:
        return JsonResponse(
            {
                "messages": [],
                "note": f"Trigger {trigger.name} is not a message filter: Save and Run works for "
                "message-triggered jobs (use Run now on the job's page).",
            }
        )
    return JsonResponse({"messages": message_choices(project, trigger)})


def next_state(project, trigger: Trigger, job_id) -> tuple[dict, str]:
    """(state, what it is) for the inspector of a cron, flow or catch job: what its next run would get,
    without the credential (added when the run starts)."""
    if trigger.kind == Trigger.Kind.CRON:
        job = project.jobs.filter(pk=job_id).first() if str(job_id or "").isdigit() else None
        state = queue.cron_state(job) if job else {}
        if state:
            return (
                state,
                "The state the next cron run gets: the final state of this job's last successful run.",
            )
        return {}, "{}: this job has no saved state yet, so its next cron run starts from an empty state."
    upstream = trigger.upstream_job
    flow = trigger.kind == Trigger.Kind.FLOW
    ended = [Run.Status.SUCCESS] if flow else [Run.Status.FAILED, Run.Status.LOST, Run.Status.ABORTED]
    last = upstream.runs.filter(status__in=ended).order_by("-created_at", "-id").first() if upstream else None
    if last is None:
        name = upstream.name if upstream else "the upstream job"
        return (
            {},
            f"{{}}: {name} has not {'succeeded' if flow else 'failed'} yet; this job's runs get its "
            "state then.",
        )
    state = queue.listener_state(last)
    if flow:
        return state, f"The final state of {upstream.name}'s latest successful run ({last.pk})."
    return (
        state,
        f"The initial state of {upstream.name}'s latest failed run ({last.pk}), with its log as error.",
    )


@login_required
@require_GET
@studio_endpoint()
def trigger_state(request, project, trigger_id):
    """The initial state the next run of a cron, flow or catch job would get (?job=ID for cron jobs)."""
    trigger = Trigger.objects.select_related("upstream_job").filter(project=project, pk=trigger_id).first()
    if trigger is None:
        return json_error(f"There is no trigger {trigger_id} in this project.", 404)
    if trigger.kind == Trigger.Kind.MESSAGE:
        return json_error(
            f"Trigger {trigger.name} is a message filter: the inspector shows the state of a message it "
            "matches.",
            400,
        )
    state, note = next_state(project, trigger, request.GET.get("job"))
    return JsonResponse({"trigger": trigger.pk, "state": state, "note": note})


@login_required
@require_GET
@studio_endpoint()
def message_state(request, project, message_id):
    """The initial state a run of a message-triggered job gets from this message (without the
    credential, which is added when the run starts)."""
    message = Message.objects.filter(project=project, pk=message_id).first()
    if message is None:
        return json_error(f"There is no message {message_id} in this project's inbox.", 404)
    return JsonResponse(
        {"message": message.pk, "label": message_label(message), "state": {"data": message.body}}
    )


def form_errors(form) -> dict:
    errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
    field, first = next(iter(errors.items()))
    label = ""
    if field in form.fields:
        label = form.fields[field].label or field.replace("_", " ").capitalize()
    return {"error": f"{label}: {first[0]}" if label else first[0], "field": field, "errors": errors}


@login_required
@require_POST
@studio_endpoint("edit_job")
def save_and_run(request, project, job_id=None):
    """Save the studio's form, then run the job on the chosen message; the page follows the run's log
    through runs/stream.py. 201 with the run; 400 for what the form refuses; 409 when it cannot run."""
    job = None
    if job_id is not None:
        job = Job.objects.select_related("trigger", "credential").filter(pk=job_id, project=project).first()
        if job is None:
            return json_error(f"There is no job {job_id} in this project.", 404)
    form = JobForm(request.POST, project=project, job=job)
    if not form.is_valid():
        return JsonResponse(form_errors(form), status=400)
    trigger = form.cleaned_data.get("trigger")
    if trigger is None or trigger.kind != Trigger.Kind.MESSAGE:
        return json_error(
            "Save and Run works for message-triggered jobs: choose a message filter trigger, or save the job "
            "and use Run now on its page.",
            409,
            field="trigger",
        )
    chosen = str(request.POST.get("message", "")).strip()
    message = Message.objects.filter(project=project, pk=int(chosen)).first() if chosen.isdigit() else None
    if message is None:
        return json_error(
            "Choose the message to run the job on: a message of this project's inbox that its trigger "
            "matches.",
            400,
            field="message",
        )
    try:
        if job is None:
            job = editing.create_job(project, request.user, **form.changes())
        else:
            editing.update_job(job, request.user, **form.changes())
    except editing.EditError as exc:
        return json_error(str(exc), 400, field=exc.field)
    saved = saved_fields(project, job)
    try:
        run = run_now(job, message, token=request.POST.get("request_token"))
    except CannotRun as exc:
        return json_error(f"Job {job.name} is saved, but it cannot run now: {exc}", 409, **saved)
    return JsonResponse(
        {
            **saved,
            "run": run.pk,
            "run_url": reverse("run-detail", args=[project.slug, run.pk]),
            "events_url": reverse("run-events", args=[project.slug, run.pk]),
        },
        status=201,
    )
