"""Synchronous inbox replies: what a request asks to wait for, and the answer once its runs ended.

v1 answers every message with 202 as soon as it is stored. A sender may ask for the results instead,
with `?wait=<seconds>` (at most 60), and a message trigger may ask for them for every message it
matches (Trigger.Reply.AFTER_COMPLETION, Lightning's `webhook_reply: after_completion`; it waits the
most). The message and its runs are stored first, as always: a wait that runs out answers 202 with
the run ids, and nothing is lost (docs/inbox-reply.md).
"""

import math
from dataclasses import dataclass
from urllib.parse import parse_qs

from kindling.jobs.models import Trigger
from kindling.runs.ends import ends

__all__ = ["MAX_WAIT_SECONDS", "BadWait", "Wait", "ends", "wait_asked", "wait_for"]

MAX_WAIT_SECONDS = 60


class BadWait(ValueError):
    pass


def wait_asked(query: str) -> float | None:
    """The seconds `?wait=` asks for; None when it is not there (or 0: answer at once)."""
    if "wait" not in query:  # the inbox's hot path: most requests have no query string at all
        return None
    values = parse_qs(query, keep_blank_values=True).get("wait")
    if not values:
        return None
    if len(values) > 1:
        raise BadWait("Give the wait parameter once.")
    text = values[0].strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_WAIT_SECONDS:
        raise BadWait(
            f"wait must be a number of seconds from 0 to {MAX_WAIT_SECONDS} (got {text!r}); without it, "
            "the inbox answers 202 as soon as the message is stored."
        )
    return seconds or None


@dataclass
class Wait:
    seconds: float
    runs: list  # the message's runs that execute (not those rejected over the plan's limit)

    def run_ids(self) -> list[int]:
        return [run.pk for run in self.runs]

    def pending(self) -> list[dict]:
        """What a 202 says of the runs: their ids, to look them up later (GET /api/v1/runs/<id>)."""
        return [{"id": run.pk, "job": run.job.name} for run in self.runs]

    def finished(self, ended: dict[int, dict], errors: list[str]) -> dict:
        """The 200 answer once every run ended; `ended` maps run ids to their end (runs/ends.py),
        `errors` are the 202's (runs rejected over the plan's limit)."""
        results = []
        for run in self.runs:
            end = ended[run.pk]
            result = {
                "id": run.pk,
                "job": run.job.name,
                "status": end["status"],
                "exit_code": end["exit_code"],
            }
            if run.job.reply_with_data:
                result["data"] = (end["final_state"] or {}).get("data")
            results.append(result)
        failed = sum(1 for result in results if result["status"] != "success")
        message = "Processing finished."
        if failed:
            message = f"Processing finished; {failed} of {len(results)} runs did not succeed."
        return {"meta": {"message": message}, "data": results, "errors": errors}


def wait_for(runs: list, seconds: float | None) -> Wait | None:
    """What to wait for before answering: the runs a request started, when the sender asked
    (`seconds`) or one of the triggers that matched replies after completion."""
    runs = [run for run in runs if run.status != run.Status.REJECTED]
    if not runs:
        return None
    if seconds is None:
        if not any(run.job.trigger.reply == Trigger.Reply.AFTER_COMPLETION for run in runs):
            return None
        seconds = MAX_WAIT_SECONDS
    return Wait(seconds, runs)
