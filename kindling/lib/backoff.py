"""How long a retry waits: fixed or exponential backoff, capped, with jitter (no Django here)."""

import random

FIXED, EXPONENTIAL = "fixed", "exponential"
# A wait is shortened by up to this share at random, so that the retries of many runs that failed
# together (an API that was down) do not all come back in the same second.
JITTER = 0.2


def retry_delay(
    retry: int, backoff: str, delay: float, max_delay: float, rand: random.Random | None = None
) -> float:
    """Seconds before retry number `retry` (1 for the first): `delay` every time (fixed) or doubled
    for each retry before it (exponential), never over `max_delay`, less up to 20% jitter."""
    if retry < 1:
        raise ValueError("retries are numbered from 1")
    base = delay if backoff == FIXED else delay * 2 ** min(retry - 1, 30)
    wait = min(base, max_delay)
    return wait * (1 - JITTER * (rand or random).random())
