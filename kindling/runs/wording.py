"""The current filters of Activity and Inbox in words, for the reprocess and export dialogs:
"failed runs of send-to-dhis2 whose log has econnrefused, from 1 Dec to 3 Dec 2026"."""

from kindling.jobs.models import Job, Trigger
from kindling.lib.history import CUSTOM, PERIODS
from kindling.lib.websearch import describe as describe_query
from kindling.lib.websearch import parse as parse_query


def _day(value) -> str:
    return f"{value.day} {value:%b %Y}"


def period_words(filters) -> str:
    if filters.period != CUSTOM:
        return PERIODS[filters.period][0].lower().replace("last", "in the last", 1)
    if filters.start and filters.end:
        return f"from {_day(filters.start)} to {_day(filters.end)}"
    if filters.start:
        return f"since {_day(filters.start)}"
    if filters.end:
        return f"until {_day(filters.end)} (included)"
    return "at any time"


def _text_words(filters, where: str) -> str:
    return f", whose {where} has {describe_query(parse_query(filters.text))}" if filters.text else ""


def describe_runs(project, filters) -> str:
    words = f"{filters.status} runs" if filters.status else "runs"
    if filters.job is not None:
        name = Job.objects.filter(project=project, pk=filters.job).values_list("name", flat=True).first()
        words += f" of {name or 'a job no longer in this project'}"
    return f"{words}{_text_words(filters, 'log')}, {period_words(filters)}"


def describe_messages(project, filters) -> str:
    from kindling.inbox.filters import RUN_STATES

    words = "messages"
    if filters.trigger is not None:
        triggers = Trigger.objects.filter(project=project, pk=filters.trigger)
        name = triggers.values_list("name", flat=True).first()
        words += f" matching trigger {name or '(no longer in this project)'}"
    words += _text_words(filters, "body")
    if filters.state:
        label = RUN_STATES[filters.state][0]
        words += f", where {label[0].lower()}{label[1:]}"
    return f"{words}, received {period_words(filters)}"
