"""The log of one run as it is built: every line scrubbed of the credential's secrets before anyone,
including the live `on_log` callback, sees it."""

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from kindling.lib.scrub import Scrubber
from kindling.lib.storable import escaped

from .spec import LogLine

log = logging.getLogger(__name__)

SOURCES = {"R/T", "JOB", "ADA", "RTE", "VER"}
LEVELS = {"debug", "info", "warn", "error", "success", "always"}
# One runaway console.log loop must not fill the database: lines past these limits are cut.
MAX_MESSAGE_CHARS = 64 * 1024
MAX_LINES = 20_000


# The level marks of OpenFn's logger, so that a log printed by `kindling execute` reads like one of
# OpenFn's CLI: "[R/T] ✔ Completed step job in 1ms".
LEVEL_MARKS = {"debug": "❯", "info": "ℹ", "warn": "⚠", "error": "✘", "success": "✔", "always": "◆"}


def as_text(line: LogLine) -> str:
    return f"[{line.source}] {LEVEL_MARKS.get(line.level, 'ℹ')} {line.message}"


class RunLog:
    def __init__(self, configuration, on_log: Callable[[LogLine], None] | None = None):
        self.lines: list[LogLine] = []
        self._scrub = Scrubber(configuration)
        self._on_log = on_log
        self._dropped = 0

    def add(self, source: str, level: str, message: str, time: datetime | None = None, cut: int = 0) -> None:
        """`cut`: characters the runner already cut from the end of the message."""
        if len(self.lines) >= MAX_LINES:
            self._dropped += 1
            return
        self._append(source, level, message, time, cut)

    def engine(self, level: str, message: str) -> None:
        self.add("RTE", level, message)

    def finish(self, status: str | None) -> None:
        """Closing lines, past the line limit too: what was dropped, and the status line when the
        runner could not write it (`status` None when it did)."""
        if self._dropped:
            self._append("RTE", "warn", f"{self._dropped} more log lines were dropped (limit {MAX_LINES})")
        if status is not None:
            self._append("R/T", "info", f"Run complete with status: {status}")

    def _append(
        self, source: str, level: str, message: str, time: datetime | None = None, cut: int = 0
    ) -> None:
        # Scrub before cutting: a cut could leave half a secret that no longer matches. A NUL or a
        # lone surrogate (JavaScript strings hold both) is written out as its escape, "\u0000":
        # PostgreSQL refuses both (SQLite's driver the second), and a log line must never cost a run.
        text = self._scrub(escaped(message))
        if len(text) > MAX_MESSAGE_CHARS or cut:
            cut += max(0, len(text) - MAX_MESSAGE_CHARS)
            text = f"{text[:MAX_MESSAGE_CHARS]}… [cut: {cut} more characters]"
        line = LogLine(
            time=time or datetime.now(UTC),
            source=source if source in SOURCES else "RTE",
            level=level if level in LEVELS else "info",
            message=text,
        )
        self.lines.append(line)
        if self._on_log is not None:
            try:
                self._on_log(line)
            except Exception:
                # Streaming is a convenience; a failing listener must not fail the run.
                log.exception("on_log listener failed")
