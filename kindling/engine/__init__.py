"""Kindling's execution engine: runs OpenFn jobs on @openfn/runtime in Node.js processes.

It knows nothing of Django or the database: it takes a RunSpec and returns a RunResult.
"""

from .adaptors import AdaptorUnavailable, ensure_adaptor, list_installed
from .execute import MAX_FINAL_STATE_BYTES, execute
from .exit_codes import ExitCode
from .pool import Pool, shared_pool
from .spec import LogLine, RunResult, RunSpec

__all__ = [
    "MAX_FINAL_STATE_BYTES",
    "AdaptorUnavailable",
    "ExitCode",
    "LogLine",
    "Pool",
    "RunResult",
    "RunSpec",
    "ensure_adaptor",
    "execute",
    "list_installed",
    "shared_pool",
]
