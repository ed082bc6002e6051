"""REST API of the bulk actions: reprocess the runs or messages a filter selects (export: see
exports/api.py). The body takes the lists' filters as JSON."""

from ninja import Field, Router, Schema, Status

from kindling.lib.history import CUSTOM
from kindling.openapi import BodyIn, errors
from kindling.projects.access import project_for
from kindling.runs.batch_views import history_for

router = Router(tags=["bulk"])


class HistoryQuery(BodyIn):
    q: str = ""
    job: str | None = None
    status: str | None = None
    trigger: str | None = None
    state: str | None = None
    from_: str | None = Field(None, alias="from")
    to: str | None = None


class BadQuery(ValueError):
    pass


ALLOWED = {"runs": {"job", "status"}, "messages": {"trigger", "state"}}


def filters_from(project, kind: str, query: HistoryQuery):
    """The list's filters (ActivityFilters or InboxFilters) from an API body; BadQuery says what is wrong.

    job and trigger are names; from and to days (YYYY-MM-DD, both included, in the project's time
    zone); without them, the last 30 days, as the lists in the portal open.
    """
    history = history_for(kind)
    given = {name for name in ("job", "status", "trigger", "state") if getattr(query, name)}
    if given - ALLOWED[kind]:
        allowed, extra = ", ".join(sorted(ALLOWED[kind])), ", ".join(sorted(given - ALLOWED[kind]))
        raise BadQuery(f"Filters of {kind} are q, {allowed}, from and to; not {extra}.")
    params = {"q": query.q}
    if query.job:
        job = project.jobs.filter(name=query.job).values_list("pk", flat=True).first()
        if job is None:
            raise BadQuery(f"No job named {query.job!r} in this project.")
        params["job"] = str(job)
    if query.trigger:
        trigger = project.triggers.filter(name=query.trigger).values_list("pk", flat=True).first()
        if trigger is None:
            raise BadQuery(f"No trigger named {query.trigger!r} in this project.")
        params["trigger"] = str(trigger)
    for name in ("status", "state"):
        if getattr(query, name):
            params[name] = getattr(query, name)
    if query.from_ or query.to:
        params.update(date=CUSTOM, start=query.from_ or "", end=query.to or "")
    filters = history.filters.from_params(params)
    if filters.errors:
        raise BadQuery(" ".join(filters.errors.values()))
    return filters


class EnqueuedOut(Schema):
    enqueued: int = Field(ge=0, description="How many it queued (in the background for many)")


def _reprocess(request, slug: str, kind: str, query: HistoryQuery):
    project = project_for(request.user, slug, "reprocess")
    try:
        filters = filters_from(project, kind, query)
    except BadQuery as exc:
        return Status(400, {"error": str(exc)})
    return Status(200, {"enqueued": history_for(kind).reprocess(project, filters)})


@router.post(
    "/projects/{slug}/runs/reprocess",
    response={200: EnqueuedOut, **errors(400)},
    summary="Queue again the runs a filter selects (q, job, status, from, to); flow/catch, switched-off "
    "and archived jobs are left out",
)
def reprocess_runs(request, slug: str, query: HistoryQuery):
    return _reprocess(request, slug, "runs", query)


@router.post(
    "/projects/{slug}/messages/reprocess",
    response={200: EnqueuedOut, **errors(400)},
    summary="Match the messages a filter selects (q, trigger, state, from, to) against the current "
    "triggers again and queue the runs",
)
def reprocess_messages(request, slug: str, query: HistoryQuery):
    return _reprocess(request, slug, "messages", query)
