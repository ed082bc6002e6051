"""The portal's bulk actions on Activity (runs) and Inbox (messages): the Reprocess dialog and its
order, the dialog of Export as CSV (its order is exports/views.py), and the queue indicator."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from kindling.inbox.filters import InboxFilters
from kindling.projects.access import project_for
from kindling.runs import batch, wording
from kindling.runs.filters import ActivityFilters
from kindling.runs.templatetags.queue import queue_counts


@dataclass(frozen=True)
class History:
    """What the bulk actions need to know of a history list."""

    noun: str
    filters: type
    list_url: str
    describe: object
    reprocess: object

    def selected(self, project, filters):
        if self.noun == "runs":
            return batch.eligible_runs(filters.runs(project))
        return filters.messages(project)


HISTORIES = {
    "runs": History("runs", ActivityFilters, "project-activity", wording.describe_runs, batch.reprocess_runs),
    "messages": History(
        "messages", InboxFilters, "project-inbox", wording.describe_messages, batch.reprocess_messages
    ),
}


def history_for(kind: str) -> History:
    if kind not in HISTORIES:
        raise Http404("No such list.")
    return HISTORIES[kind]


def back_to_list(project, history: History, filters):
    url = reverse(history.list_url, args=[project.slug])
    params = filters.params()
    return redirect(f"{url}?{urlencode(params)}" if params else url)


@login_required
@require_GET
def bulk_dialog(request, slug, kind, action):
    """The body of the Reprocess or Export dialog: the current filters in words and their count."""
    history = history_for(kind)
    if action not in ("reprocess", "export"):
        raise Http404("No such action.")
    project = project_for(request.user, slug, "reprocess" if action == "reprocess" else "view")
    filters = history.filters.from_params(request.GET)
    count, exact = batch.approximate_count(history.selected(project, filters))
    context = {
        "project": project,
        "kind": kind,
        "action": action,
        "description": history.describe(project, filters),
        "count": count,
        "noun": kind if count != 1 else kind[:-1],
        "exact": exact,
        "params": filters.params(),
        "errors": filters.errors,
        "post_url": reverse(f"bulk-{action}", args=[project.slug, kind]),
    }
    return render(request, "runs/_bulk_dialog_body.html", context)


@login_required
@require_POST
def bulk_reprocess(request, slug, kind):
    history = history_for(kind)
    project = project_for(request.user, slug, "reprocess")
    filters = history.filters.from_params(request.POST)
    if filters.errors:
        messages.error(request, "Nothing was reprocessed: " + " ".join(filters.errors.values()))
        return back_to_list(project, history, filters)
    count = history.reprocess(project, filters)
    noun = "run" if count == 1 else "runs"
    messages.success(
        request,
        f"{count:,} {noun} enqueued ({history.describe(project, filters)}). "
        "The queue indicator shows them drain.",
    )
    return back_to_list(project, history, filters)


@login_required
def project_queue(request, slug):
    """The queue indicator: runs waiting and running now (the menu asks every few seconds)."""
    return render(request, "runs/_queue.html", queue_counts(project_for(request.user, slug)))
