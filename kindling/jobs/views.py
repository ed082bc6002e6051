"""The Jobs and Triggers pages. Views check access, read the form, call jobs/editing.py and render."""

import json
from datetime import timedelta
from functools import partial
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import OuterRef, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from kindling.inbox.filters import filter_messages
from kindling.inbox.models import Message
from kindling.jobs import editing, versions
from kindling.jobs.forms import TriggerForm
from kindling.jobs.models import Job, Trigger
from kindling.lib import cron, jsonmatch
from kindling.lib.history import Window
from kindling.lib.jsontext import JSONTextError, parse
from kindling.projects.access import project_for
from kindling.runs.models import Run
from kindling.runs.reprocess import CannotRun, new_request_token, run_now
from kindling.runs.views import run_rows

RECENT_RUNS = 10
RUN_NOW_MESSAGES = 10
CRON_PREVIEW = 5


def is_htmx(request) -> bool:
    # A history restore (back button, htmx's cache missed) wants the whole page, not the fragment.
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render_cards(request, page: str, cards: str, context: dict):
    """The whole page, or only its cards for the as-you-type search; caches keep the two apart."""
    response = render(request, cards if is_htmx(request) else page, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def project_job(request, slug, job_id, action="view"):
    project = project_for(request.user, slug, action)
    job = get_object_or_404(Job.objects.select_related("trigger", "credential"), pk=job_id, project=project)
    return project, job


def apply_errors(form, exc: editing.EditError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, str(exc))


def save_posted(request, form, save, done: str):
    """A form page's POST: once the form is valid, `save(**form.changes())` (an editing.* call) and the
    note `done` (formatted with what it saved; none if empty); an EditError goes onto the form instead.
    What was saved, or None when nothing was."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        saved = save(**form.changes())
    except editing.EditError as exc:
        apply_errors(form, exc)
        return None
    if done:
        messages.success(request, done.format(saved))
    return saved


# Jobs ------------------------------------------------------------------------------------------


@login_required
def job_list(request, slug):
    project = project_for(request.user, slug)
    query = request.GET.get("q", "").strip()
    show_archived = request.GET.get("archived") == "1"
    last_status = Run.objects.filter(job=OuterRef("pk")).order_by("-created_at", "-id").values("status")[:1]
    jobs = (
        project.jobs.select_related("trigger", "credential__owner")
        .with_credential_access()
        .defer("expression", "saved_state")
        .annotate(last_status=Subquery(last_status))
        .order_by("name", "id")
    )
    if not show_archived:
        jobs = jobs.filter(archived=False)
    if query:
        jobs = jobs.filter(name__icontains=query)
    context = {"project": project, "jobs": jobs, "query": query, "show_archived": show_archived}
    return render_cards(request, "jobs/job_list.html", "jobs/_job_cards.html", context)


def matching_messages(project, trigger):
    """The newest messages of the last 30 days that a message trigger matches, to pick one to run on."""
    if trigger is None or trigger.kind != Trigger.Kind.MESSAGE:
        return []
    span = Window(timezone.now() - timedelta(days=30), None)
    found = filter_messages(Message.objects.filter(project=project), span=span, trigger=trigger)
    return list(found.defer("headers").order_by("-received_at", "-id")[:RUN_NOW_MESSAGES])


def run_now_messages(project, job):
    return matching_messages(project, job.trigger if job.trigger_id else None)


@login_required
def job_detail(request, slug, job_id):
    project, job = project_job(request, slug, job_id)
    context = {
        "project": project,
        "job": job,
        "runs": run_rows(job.runs.all()).order_by("-created_at", "-id")[:RECENT_RUNS],
        "run_now_messages": run_now_messages(project, job),
        "request_token": new_request_token(),
        "history": versions.job_history(job),
    }
    return render(request, "jobs/job_detail.html", context)


@login_required
@require_POST
def job_set_enabled(request, slug, job_id):
    project, job = project_job(request, slug, job_id, "edit_job")
    on = request.POST.get("enabled") == "on"
    error = None
    try:
        editing.set_enabled(job, on, request.user)
    except editing.EditError as exc:
        error = str(exc)
    if is_htmx(request):
        return render(request, "jobs/_switch.html", {"project": project, "job": job, "error": error})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Job {job.name} switched {'on' if job.enabled else 'off'}.")
    return redirect(back_to(request, reverse("job-list", args=[project.slug])))


def back_to(request, default: str) -> str:
    # Only to a page of this site: the switch posts from both the list and the job's page.
    target = request.POST.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else default


# The job page's icon buttons: (domain function, value, message).
FLAGS = {
    "private": (editing.set_private, True, "Job {name} is private: it is never shared to the job library."),
    "public": (editing.set_private, False, "Job {name} follows the project's sharing settings again."),
    "console-off": (editing.set_console_disabled, True, "console.log is disabled for job {name}."),
    "console-on": (editing.set_console_disabled, False, "console.log is enabled again for job {name}."),
    "archive": (
        lambda job, _v, by: editing.archive_job(job, by),
        None,
        "Job {name} is archived: it no longer runs. Restore it from the archived jobs.",
    ),
    "restore": (lambda job, _v, by: editing.restore_job(job, by), None, "Job {name} is restored."),
}


@login_required
@require_POST
def job_set_flag(request, slug, job_id, flag):
    project, job = project_job(request, slug, job_id, "edit_job")
    if flag not in FLAGS:
        raise Http404("No such action.")
    change, value, note = FLAGS[flag]
    try:
        change(job, value, request.user)
    except editing.EditError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, note.format(name=job.name))
    if flag == "archive":
        return redirect("job-list", project.slug)
    return redirect("job-detail", project.slug, job.pk)


@login_required
@require_POST
def job_run(request, slug, job_id):
    project, job = project_job(request, slug, job_id, "reprocess")
    message = None
    chosen = request.POST.get("message_number", "").strip() or request.POST.get("message", "").strip()
    if chosen:
        message = Message.objects.filter(project=project, pk=int(chosen) if chosen.isdigit() else 0).first()
        if message is None:
            messages.error(request, f"There is no message {chosen} in this project's inbox.")
            return redirect("job-detail", project.slug, job.pk)
    try:
        run = run_now(job, message, token=request.POST.get("request_token"))
    except CannotRun as exc:
        messages.error(request, str(exc))
        return redirect("job-detail", project.slug, job.pk)
    if run.status == run.Status.REJECTED:
        messages.error(request, f"Run {run.pk} of {job.name} was not queued. {run.reason}")
    else:
        messages.success(request, f"Run {run.pk} of {job.name} is queued.")
    return redirect("run-detail", project.slug, run.pk)


# Triggers --------------------------------------------------------------------------------------


def criteria_text_matches(trigger: Trigger, query: str, wanted) -> bool:
    """A search hit on criteria: the criteria contain the typed JSON, or its text as typed so far."""
    if trigger.criteria is None:
        return False
    if isinstance(wanted, dict) and jsonmatch.contains(trigger.criteria, wanted):
        return True
    # Without its outer braces, typed text also finds criteria where it is not the first key.
    return squeeze(query).strip("{}") in squeeze(compact(trigger.criteria))


def compact(value) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False)


def squeeze(text: str) -> str:
    # Spacing differs between what people type and how JSON is printed; letters' case rarely matters.
    return "".join(text.split()).lower()


@login_required
def trigger_list(request, slug):
    project = project_for(request.user, slug)
    query = request.GET.get("q", "").strip()
    triggers = list(project.triggers.select_related("upstream_job").prefetch_related("jobs").order_by("name"))
    if query:
        try:
            wanted = parse(query)
        except JSONTextError:
            wanted = None
        triggers = [
            t for t in triggers if query.lower() in t.name.lower() or criteria_text_matches(t, query, wanted)
        ]
    for trigger in triggers:
        trigger.criteria_text = compact(trigger.criteria)
        trigger.exclusion_text = compact(trigger.exclusion)
    context = {"project": project, "triggers": triggers, "query": query}
    return render_cards(request, "triggers/trigger_list.html", "triggers/_trigger_cards.html", context)


def next_fire_times(project, expression: str):
    """(times, error): the next five fire times in the project's time zone, which the scheduler uses."""
    try:
        return cron.next_times(
            expression, timezone.now().astimezone(ZoneInfo(project.timezone)), CRON_PREVIEW
        ), None
    except cron.CronError as exc:
        return [], str(exc)


@login_required
def trigger_create(request, slug):
    project = project_for(request.user, slug, "edit_job")
    form = TriggerForm(
        request.POST or None, project=project, initial={"kind": request.GET.get("kind", Trigger.Kind.MESSAGE)}
    )
    trigger = save_posted(request, form, partial(editing.create_trigger, project), "Trigger {.name} created.")
    if trigger is not None:
        return redirect("trigger-edit", project.slug, trigger.pk)
    return render(request, "triggers/trigger_form.html", trigger_form_context(project, form, None))


@login_required
def trigger_edit(request, slug, trigger_id):
    project = project_for(request.user, slug, "edit_job")
    trigger = get_object_or_404(
        Trigger.objects.select_related("upstream_job"), pk=trigger_id, project=project
    )
    form = TriggerForm(request.POST or None, project=project, trigger=trigger)
    saved = save_posted(request, form, partial(editing.update_trigger, trigger), "Trigger {.name} saved.")
    if saved is not None:
        return redirect("trigger-edit", project.slug, trigger.pk)
    return render(request, "triggers/trigger_form.html", trigger_form_context(project, form, trigger))


def trigger_form_context(project, form, trigger):
    cron_text = form["cron"].value() or ""
    times, cron_error = next_fire_times(project, cron_text) if cron_text.strip() else ([], None)
    return {
        "project": project,
        "form": form,
        "trigger": trigger,
        "jobs": list(trigger.jobs.order_by("name")) if trigger else [],
        "fire_times": times,
        "cron_error": cron_error,
    }


@login_required
@require_POST
def trigger_delete(request, slug, trigger_id):
    project = project_for(request.user, slug, "edit_job")
    trigger = get_object_or_404(Trigger, pk=trigger_id, project=project)
    name = trigger.name
    orphans = editing.delete_trigger(trigger)
    note = f"Trigger {name} deleted."
    if orphans:
        names = ", ".join(job.name for job in orphans)
        note += f" These jobs have no trigger now and will not run until they get one: {names}."
    messages.success(request, note)
    return redirect("trigger-list", project.slug)


@login_required
@require_GET
def cron_preview(request, slug):
    project = project_for(request.user, slug)
    expression = request.GET.get("cron", "")
    times, error = next_fire_times(project, expression) if expression.strip() else ([], None)
    context = {"project": project, "fire_times": times, "cron_error": error}
    return render(request, "triggers/_cron_times.html", context)
