"""What a run asks of the engine and what it gets back. Plain data: no Django, no database."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class RunSpec:
    run_id: str  # unique per run
    expression: str
    adaptor: str  # "@openfn/language-http@7.2.10", "@openfn/language-common", "...@latest"
    state: dict  # initial state, including "configuration" (the credential body, or None)
    timeout: float = 100.0  # seconds of wall clock before the process is killed (exit 2)
    memory_mb: int = 512  # V8 heap limit; a hard RSS ceiling above it (exit 134)
    console_disabled: bool = False


@dataclass
class LogLine:
    time: datetime  # timezone-aware, UTC
    source: str  # "R/T" runtime, "JOB" the job's console, "ADA" adaptor, "RTE" engine, "VER" versions
    level: str  # "debug" | "info" | "warn" | "error" | "success" | "always"
    message: str


@dataclass
class RunResult:
    exit_code: int
    final_state: dict | None  # never holds "configuration"
    log: list[LogLine] = field(default_factory=list)
    adaptor_version: str | None = None
