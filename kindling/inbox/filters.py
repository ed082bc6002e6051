"""Inbox filters (body text, date, matching trigger, run state), for the portal and the REST API.

Keyset pages on (received_at, id), as for Activity (see runs/filters.py).
"""

import json
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, connections
from django.db.models import BooleanField, Exists, OuterRef, Q
from django.db.models.expressions import RawSQL

from kindling.inbox.models import Message
from kindling.jobs.models import Trigger
from kindling.lib.history import Window
from kindling.lib.jsonsql import matches_sql
from kindling.lib.websearch import parse as parse_query
from kindling.runs.filters import HistoryFilters, in_window
from kindling.runs.models import JobState, Run
from kindling.search.fulltext import at_most, common_words, has_rare_word, message_condition

MESSAGES_PER_PAGE = 20

# Run-state filter: a message qualifies when one of its jobs is in the state (spec section 8: the
# state of a (message, job) pair is the status of its last finished run, else of its newest run).
# The keys are runs.JobState's states (and "none"); the statuses, JobState.OF_STATUS turned around.
RUN_STATES = {
    "failed": ("A job's last run failed", (Run.Status.FAILED, Run.Status.LOST)),
    "success": ("A job's last run succeeded", (Run.Status.SUCCESS,)),
    "aborted": ("A job's last run was aborted", (Run.Status.ABORTED,)),
    "rejected": ("A job's last run was rejected (over the plan's runs)", (Run.Status.REJECTED,)),
    "pending": ("A run is waiting or running", (Run.Status.PENDING, Run.Status.RUNNING)),
    "none": ("It started no runs", ()),
}


def matching(trigger: Trigger) -> Q:
    """Messages that the trigger's filter matches, by the rules of lib/jsonmatch.matches."""
    if trigger.kind != Trigger.Kind.MESSAGE or trigger.criteria is None:
        return Q(pk__in=[])
    if connection.vendor == "postgresql":
        # `body @> criteria`, which the GIN index on body (jsonb_path_ops) answers.
        condition = Q(body__contains=trigger.criteria)
        if trigger.exclusion is not None:
            condition &= ~Q(body__contains=trigger.exclusion)
        return condition
    column = f"{connection.ops.quote_name(Message._meta.db_table)}.{connection.ops.quote_name('body')}"
    sql, params = matches_sql(column, trigger.criteria, trigger.exclusion)
    # A cheap test first: every string the criteria want must be in the stored text, written the way
    # Django's JSONField writes it (json.dumps, ASCII-escaped). Most bodies fail it without being parsed.
    needles = [json.dumps(text) for text in sorted(strings_in(trigger.criteria))]
    sql = " AND ".join([*(f"instr({column}, %s) > 0" for _ in needles), sql])
    return Q(RawSQL(sql, [*needles, *params], output_field=BooleanField()))


def strings_in(value) -> set[str]:
    """The string values (not keys) anywhere in a JSON value: each must be in a body that contains it."""
    if isinstance(value, str):
        return {value}
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return set().union(*(strings_in(child) for child in children))


def in_run_state(state: str) -> Q:
    """Messages one of whose jobs is in `state` (a RUN_STATES key), read from runs.JobState, which
    the runs keep as they are created and end (deriving it here took seconds on large inboxes)."""
    # The project's equality lets PostgreSQL take the message's project (a constant in every Inbox
    # query) for the pairs' too: a rare state is then read from the (project, state, time) index.
    pairs = JobState.objects.filter(message_id=OuterRef("pk"), project_id=OuterRef("project_id"))
    if state == "none":
        return ~Q(Exists(pairs))
    return Q(Exists(pairs.filter(state=state)))


# Up to this many matches, a text filter hands the list the matching ids (see rare_first).
TEXT_PROBE = 5_000


def rare_first(messages, query):
    """`messages` whose body matches a full-text query, by the ids the text index gives when a word
    of the query is rare.

    PostgreSQL cannot estimate how rare a word is when its statistics hold only common ones: it
    guesses 0.5% of the rows and walks the newest messages first, computing each body's words, to
    find a page of a word that 100 of 1,000,000 bodies hold (40 s). So, when each alternative of the
    query asks for a word missing from the index's common words, ask the text index first for at most
    TEXT_PROBE ids in no order (a bitmap scan of the index): when that is all of them, the list reads
    those rows by id; when there are more, the newest-first walk finds a page soon. SQLite's FTS5
    condition already starts from the index.
    """
    matched = messages.filter(message_condition(query, messages.db))
    if connections[messages.db].vendor != "postgresql" or not has_rare_word(
        query, common_words("search_body_words", messages.db)
    ):
        return matched
    ids = at_most(matched.values_list("pk", flat=True), TEXT_PROBE)
    return matched if ids is None else messages.filter(pk__in=ids)


def filter_messages(
    messages, *, text: str = "", span: Window | None = None, trigger: Trigger | None = None, state: str = ""
):
    messages = in_window(messages, "received_at", span)
    # SQLite tests the conditions in this order: the cheap text test before the JSON and run tests.
    if text:
        # Full text (search/fulltext.py); EmptyQuery when the text has no word in it.
        messages = rare_first(messages, parse_query(text))
    if trigger is not None:
        messages = messages.filter(matching(trigger))
    if state:
        messages = messages.filter(in_run_state(state))
    return messages


@dataclass
class InboxFilters(HistoryFilters):
    trigger: int | None = None
    state: str = ""

    @classmethod
    def from_params(cls, params) -> "InboxFilters":
        filters = cls()
        filters.read_common(params)
        trigger = params.get("trigger", "")
        if trigger:
            try:
                filters.trigger = int(trigger)
            except ValueError:
                filters.errors["trigger"] = f"{trigger!r} is not a trigger."
        state = params.get("state", "")
        if state and state not in RUN_STATES:
            filters.errors["state"] = f"{state!r} is not a run state."
        elif state:
            filters.state = state
        return filters

    def params(self) -> dict[str, str]:
        params = self.common_params()
        if self.trigger is not None:
            params["trigger"] = str(self.trigger)
        if self.state:
            params["state"] = self.state
        return params

    def messages(self, project, now: datetime | None = None):
        trigger = None
        if self.trigger is not None:
            trigger = Trigger.objects.filter(project=project, pk=self.trigger).first()
            if trigger is None:
                self.errors["trigger"] = "No such trigger in this project."
                return Message.objects.none()
        return filter_messages(
            Message.objects.filter(project=project),
            text=self.text,
            span=self.span(project, now),
            trigger=trigger,
            state=self.state,
        )
