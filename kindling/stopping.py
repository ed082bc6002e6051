"""How Kindling's long-running commands (serve, worker, scheduler) learn that they should stop."""

import signal
from collections.abc import Callable


class StopOnSignal:
    """Catches SIGTERM and SIGINT (Ctrl+C): `requested` turns true, and `on_stop` is called, so that
    the command finishes what it is doing and ends."""

    def __init__(self, on_stop: Callable[[], None] | None = None):
        self.requested = False
        self.on_stop = on_stop
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)

    def _stop(self, _signum, _frame) -> None:
        self.requested = True
        if self.on_stop is not None:
            self.on_stop()
