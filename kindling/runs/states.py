"""Message job-state (spec section 8): per (message, job), the status of the last finished run.

"Last" is by finished_at, then started_at, then id. A job none of whose runs has finished yet shows
`running` when one of them runs, else `pending`, so the Inbox shows that something is under way.
"""

from django.db.models import F

from kindling.runs.models import Run


def _deciding_order():
    # Unfinished runs first (NULL finished_at), so that any finished run comes later and wins; a run
    # aborted before it started has no started_at and counts as the earlier of two equal finishes.
    return (
        F("finished_at").asc(nulls_first=True),
        F("started_at").asc(nulls_first=True),
        "id",
    )


def job_states_by_message(message_ids) -> dict[int, dict[int, str]]:
    """{message id: {job id: status}} for many messages in one query (the Inbox list)."""
    states: dict[int, dict[int, str]] = {message_id: {} for message_id in message_ids}
    runs = (
        Run.objects.filter(message_id__in=states)
        .order_by("message_id", "job_id", *_deciding_order())
        .values_list("message_id", "job_id", "status")
    )
    for message_id, job_id, status in runs:
        states[message_id][job_id] = status  # the last one seen decides
    return states


def job_states(message) -> dict[int, str]:
    """{job id: status} of one message."""
    return job_states_by_message([message.pk])[message.pk]
