"""The exit codes every run ends with (semantics.md section 6); the Node runner uses the same numbers."""

from enum import IntEnum


class ExitCode(IntEnum):
    SUCCESS = 0
    FAILED = 1  # the job threw or an operation reported an error
    TIMEOUT = 2  # wall-clock limit reached; the process was killed
    FAILED_TO_START = 3  # adaptor not installable, expression does not compile
    UNRESPONSIVE = 4  # reserved for the warm pool: a runner that stopped answering
    ABORTED = 6  # cancelled by a project administrator: execute(cancel=...) kills the process
    ENGINE_ERROR = 10  # a bug or a broken installation on our side
    NODE_EXITED = 11  # Node.js ended on its own (process.exit in job code, killed from outside)
    OUT_OF_MEMORY = 134
