"""Structured logs: with KINDLING_LOG_FORMAT=json every log line is one JSON object, with the run and
project it concerns when known, for a log shipper (journald, Loki, Elasticsearch) to index.

No Django import: uvicorn's logging configuration (kindling/ops/uvicorn-json-log.json) loads the
formatter before Django is set up.
"""

import json
import logging
import os
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

FORMATS = ("plain", "json")
IDS = ("run_id", "project_id", "job_id", "message_id")
UVICORN_CONFIG = os.path.join(os.path.dirname(__file__), "uvicorn-json-log.json")

# The ids of what the current thread works on (a worker slot: its run), added to each of its lines.
_ids: ContextVar[dict | None] = ContextVar("kindling_log_ids", default=None)


def log_format() -> str:
    value = os.environ.get("KINDLING_LOG_FORMAT", "plain").strip().lower() or "plain"
    if value not in FORMATS:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"KINDLING_LOG_FORMAT must be plain or json, not {value!r}")
    return value


@contextmanager
def about(**ids):
    """Lines logged inside carry these ids (run_id=..., project_id=...)."""
    token = _ids.set({**(_ids.get() or {}), **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _ids.reset(token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **(_ids.get() or {}),
        }
        for name in IDS:
            if getattr(record, name, None) is not None:
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


log = logging.getLogger("kindling")


def say(stdout, message: str, **ids) -> None:
    """What a command tells its operator: a plain line on stdout, or with the json format a log line
    (so that stdout carries JSON only)."""
    if log_format() == "json":
        log.info(message, extra=ids)
    else:
        stdout.write(message)
