"""The portal's Inbox pages (the HTTP intake itself is views.py)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from kindling.inbox import editing
from kindling.inbox.filters import MESSAGES_PER_PAGE, RUN_STATES, InboxFilters
from kindling.inbox.models import Message
from kindling.jobs.models import Trigger
from kindling.projects.access import project_for
from kindling.runs.filters import keyset_page
from kindling.runs.reprocess import reprocess_message
from kindling.runs.states import job_states_by_message
from kindling.runs.views import pager_links, pretty_json, run_rows

# A body may be up to 8 MB: the list shows the start of it, the message page all of it.
LIST_BODY_CHARS = 10_000


@login_required
def inbox(request, slug):
    project = project_for(request.user, slug)
    filters = InboxFilters.from_params(request.GET)
    found = filters.messages(project).defer("headers")
    page = keyset_page(
        found, "received_at", before=filters.before, after=filters.after, size=MESSAGES_PER_PAGE
    )
    states = job_states_by_message([message.pk for message in page.items])
    job_ids = {job_id for by_job in states.values() for job_id in by_job}
    job_names = dict(project.jobs.filter(pk__in=job_ids).values_list("pk", "name")) if job_ids else {}
    rows = []
    for message in page.items:
        body = pretty_json(message.body)
        rows.append(
            {
                "message": message,
                "body": body[:LIST_BODY_CHARS],
                "truncated": len(body) > LIST_BODY_CHARS,
                # Spec §8: one job-state per job, in the order of the job names.
                "job_states": sorted(
                    ((job_names.get(job_id, "?"), status) for job_id, status in states[message.pk].items()),
                ),
            }
        )
    context = {
        "project": project,
        "page": page,
        "rows": rows,
        "filters": filters,
        "links": pager_links(filters, page),
        "triggers": project.triggers.filter(kind=Trigger.Kind.MESSAGE)
        .order_by("name")
        .values_list("pk", "name"),
        "run_states": [(key, label) for key, (label, _statuses) in RUN_STATES.items()],
    }
    return render(request, "inbox/inbox.html", context)


def project_message(request, slug, message_id, action="view"):
    project = project_for(request.user, slug, action)
    return project, get_object_or_404(Message, pk=message_id, project=project)


@login_required
def message_detail(request, slug, message_id):
    project, message = project_message(request, slug, message_id)
    context = {
        "project": project,
        "message": message,
        "body": pretty_json(message.body),
        "headers": pretty_json(message.headers),
        # Spec §8: the message's own page shows every run it started, not only the job-states.
        "runs": run_rows(message.runs).order_by("-created_at", "-id"),
    }
    return render(request, "inbox/message_detail.html", context)


@login_required
def message_edit(request, slug, message_id):
    project, message = project_message(request, slug, message_id, "post_message")
    text, error = pretty_json(message.body), None
    if request.method == "POST":
        text = request.POST.get("body", "")
        try:
            editing.edit_body(message, editing.parse_json_text(text))
        except editing.EditError as exc:
            error = str(exc)
        else:
            messages.success(
                request, f"Message {message.pk} saved. Process it to run the jobs it matches now."
            )
            return redirect("message-detail", project.slug, message.pk)
    context = {"project": project, "message": message, "text": text, "error": error}
    return render(request, "inbox/message_edit.html", context, status=400 if error else 200)


@login_required
def message_create(request, slug):
    project = project_for(request.user, slug, "post_message")
    text, error = "{\n  \n}", None
    if request.method == "POST":
        text = request.POST.get("body", "")
        try:
            message, runs = editing.post_from_portal(project, text, request.user)
        except editing.EditError as exc:
            error = str(exc)
        else:
            messages.success(request, f"Message {message.pk} received. {started(runs)}")
            return redirect("message-detail", project.slug, message.pk)
    context = {"project": project, "text": text, "error": error}
    return render(request, "inbox/message_create.html", context, status=400 if error else 200)


def started(runs, again: bool = False) -> str:
    if not runs and again:
        # v1's 10-second rule: a (message, job) pair that just ran is not started again.
        return (
            "No run started: it matches no trigger of a switched-on job, or their runs on this message "
            "started less than 10 seconds ago."
        )
    if not runs:
        return "It matched no trigger of a switched-on job: no run started."
    names = ", ".join(sorted({run.job.name for run in runs if run.status != run.Status.REJECTED}))
    rejected = [run for run in runs if run.status == run.Status.REJECTED]
    if rejected:
        # The same reason for every run of one message: they were counted together.
        refused = ", ".join(sorted({run.job.name for run in rejected}))
        before = f"Runs started for: {names}. " if names else ""
        return f"{before}Not started for {refused}. {rejected[0].reason}"
    return f"Runs started for: {names}."


@login_required
@require_POST
def message_process(request, slug, message_id):
    project, message = project_message(request, slug, message_id, "reprocess")
    runs = reprocess_message(message)
    messages.success(
        request, f"Message {message.pk} processed against the current triggers. {started(runs, again=True)}"
    )
    return redirect("message-detail", project.slug, message.pk)
