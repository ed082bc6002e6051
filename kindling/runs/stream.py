"""A run's log, live, as server-sent events: Job Studio's Run logs console follows a run with it.

The worker writes log lines to the database while the run executes; this view polls for lines with
a higher `seq` than the last one sent, so any web process can serve any run and a reconnecting
browser resumes where it was (`Last-Event-ID`). Events:

    event: status  data: {"status"}                       when the run's status changes
    event: log     id: <seq>  data: {"seq", "time", "source", "level", "message"}
    event: end     data: {"status", "exit_code", "final_state", "url"}   then the stream ends
    event: timeout data: {"error"}                        the run outlasted the stream; then it ends

It is an async view: under ASGI (uvicorn) a stream holds no thread while it waits, only one database
read every POLL_SECONDS.
"""

import asyncio
import json
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse

from kindling.projects.access import project_for
from kindling.runs.models import LogLine, Run

POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0
# Lines sent per database read: a run that logged thousands of lines catches up in a few reads.
BATCH = 500
# A run may wait in the queue before it starts, then run up to its timeout; the stream gives up after.
QUEUE_ALLOWANCE_SECONDS = 300


def stream_limit_seconds() -> float:
    return settings.RUN_TIMEOUT_SECONDS + QUEUE_ALLOWANCE_SECONDS


def sse(event: str, data: dict, event_id: int | None = None) -> bytes:
    head = f"event: {event}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    # json.dumps never writes a raw line break, so the payload is one `data:` line.
    return (head + f"data: {json.dumps(data, ensure_ascii=False)}\n\n").encode()


def _run_for(user, slug: str, run_id: int) -> Run:
    project = project_for(user, slug)
    return get_object_or_404(Run.objects.only("pk", "project_id"), pk=run_id, project=project)


def log_after(run_id: int, after: int) -> tuple[str | None, bool, list[dict]]:
    """The run's status, whether its log is complete, and its lines after `after`.

    The status first, then the lines: a run seen finished here (success or failure) already has all
    its lines stored, so none can slip in between the last read of lines and the end event. An
    aborted or lost run's worker writes its last lines a moment after the status changed
    (Run.log_may_grow): the stream waits for them.
    """
    fields = ("status", "started_at", "finished_at")
    run = Run.objects.filter(pk=run_id).only(*fields).first()
    if run is None:
        return None, True, []
    complete = run.status in Run.FINISHED and not run.log_may_grow()
    lines = [
        {
            "seq": line.seq,
            "time": line.time.isoformat(),
            "source": line.source,
            "level": line.level,
            "message": line.message,
        }
        for line in LogLine.objects.filter(run_id=run_id, seq__gt=after).order_by("seq")[:BATCH]
    ]
    return run.status, complete, lines


def _ending(run_id: int, slug: str) -> dict:
    run = Run.objects.only("status", "exit_code", "final_state").get(pk=run_id)
    return {
        "status": run.status,
        "exit_code": run.exit_code,
        "final_state": run.final_state,
        "url": reverse("run-detail", args=[slug, run_id]),
    }


async def run_log_events(run_id: int, slug: str, after: int = -1, limit_seconds: float | None = None):
    """The events of one run's stream, from the line after `after` until the run ends."""
    deadline = time.monotonic() + (stream_limit_seconds() if limit_seconds is None else limit_seconds)
    sent_status = None
    quiet_since = time.monotonic()
    while True:
        status, complete, lines = await sync_to_async(log_after)(run_id, after)
        if status is None:
            yield sse("end", {"status": None, "error": f"Run {run_id} no longer exists."})
            return
        if status != sent_status:
            sent_status = status
            yield sse("status", {"status": status})
        for line in lines:
            after = line["seq"]
            yield sse("log", line, event_id=line["seq"])
        if lines:
            quiet_since = time.monotonic()
        if len(lines) == BATCH:
            continue  # more are waiting: no pause
        if complete:
            yield sse("end", await sync_to_async(_ending)(run_id, slug))
            return
        if time.monotonic() >= deadline:
            yield sse(
                "timeout",
                {
                    "error": f"Run {run_id} is still {status}: the live log stopped following it. "
                    "Its page shows the rest when it ends."
                },
            )
            return
        if time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield b": still there\n\n"  # a comment: keeps proxies from closing an idle stream
        await asyncio.sleep(POLL_SECONDS)


def _resume_after(request) -> int:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after") or ""
    try:
        return max(-1, int(raw))
    except ValueError:
        return -1


@login_required
async def run_events(request, slug, run_id):
    user = await request.auser()
    try:
        run = await sync_to_async(_run_for)(user, slug, run_id)
    except Run.DoesNotExist:
        raise Http404("No such run") from None
    response = StreamingHttpResponse(
        run_log_events(run.pk, slug, _resume_after(request)), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass events on as they come
    return response
