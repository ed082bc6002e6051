"""The portal's Inbox pages (the HTTP intake itself is views.py)."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F, Prefetch
from django.shortcuts import get_object_or_404, render

from kindling.inbox.models import Message
from kindling.projects.access import project_for
from kindling.runs.models import Run
from kindling.runs.views import pretty_json, run_rows

MESSAGES_PER_PAGE = 20
# A body may be up to 8 MB: the list shows the start of it, the message page all of it.
LIST_BODY_CHARS = 10_000


def job_states(runs) -> list[Run]:
    """Spec §8: per job, the last finished run (by finished_at, started_at, id) decides the message's
    job-state; a job whose runs have not finished yet shows its newest run.

    `runs` must come ordered unfinished first, then by finished_at, started_at and id: the run that
    decides is then the last one seen for its job.
    """
    deciding = {}
    for run in runs:
        deciding[run.job_id] = run
    return sorted(deciding.values(), key=lambda run: run.job.name)


@login_required
def inbox(request, slug):
    project = project_for(request.user, slug)
    runs = run_rows(Run.objects).order_by(
        F("finished_at").asc(nulls_first=True), F("started_at").asc(nulls_first=True), "id"
    )
    messages = (
        Message.objects.filter(project=project)
        .defer("headers")
        .prefetch_related(Prefetch("runs", queryset=runs))
        .order_by("-received_at", "-id")
    )
    page = Paginator(messages, MESSAGES_PER_PAGE).get_page(request.GET.get("page"))
    rows = []
    for message in page:
        body = pretty_json(message.body)
        rows.append(
            {
                "message": message,
                "body": body[:LIST_BODY_CHARS],
                "truncated": len(body) > LIST_BODY_CHARS,
                "job_states": job_states(message.runs.all()),
            }
        )
    return render(request, "inbox/inbox.html", {"project": project, "page": page, "rows": rows})


@login_required
def message_detail(request, slug, message_id):
    project = project_for(request.user, slug)
    message = get_object_or_404(Message, pk=message_id, project=project)
    context = {
        "project": project,
        "message": message,
        "body": pretty_json(message.body),
        "headers": pretty_json(message.headers),
        # Spec §8: the message's own page shows every run it started, not only the job-states.
        "runs": run_rows(message.runs).order_by("-created_at", "-id"),
    }
    return render(request, "inbox/message_detail.html", context)
