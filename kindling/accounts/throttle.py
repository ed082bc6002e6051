"""Throttles on what a stranger could repeat to guess a password or flood a mailbox: failed logins
(per address and per account) and password-recovery emails (per address and per recipient).

Each rule lets `free` events through within `window`; every event past that blocks its key for a
delay that doubles each time, up to `max_delay`. While a key is blocked the request is refused
(429) without checking the password or sending mail, so a guesser gets nothing out of it. The
counters are rows (`Throttle`), so they hold across every web process on SQLite and PostgreSQL.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from kindling.accounts.models import Throttle

# An address that logged into an account recently is not held back by that account's lock: the
# lock is there for guessers elsewhere, and must not lock the owner out from their usual place.
KNOWN_ADDRESS_FOR = timedelta(days=30)
KNOWN_PREFIX = "login-known:"


HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Rule:
    scope: str
    free: int
    message: str  # "{wait}" is replaced by how long to wait
    window: timedelta = HOUR
    first_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(minutes=15)

    def key(self, value: str) -> str:
        return f"{self.scope}:{value.strip().lower()}"

    def delay(self, count: int) -> timedelta:
        past = count - self.free
        if past <= 0:
            return timedelta(0)
        return min(self.max_delay, self.first_delay * 2 ** min(past - 1, 30))


LOGIN_ADDRESS = Rule(
    "login-address", 10, "Too many failed logins from your network address. Try again in {wait}."
)
LOGIN_ACCOUNT = Rule(
    "login-account",
    5,
    "Too many failed logins for this account. Try again in {wait}, or recover your password.",
)
# Recovery emails: past the free ones, none for a whole hour.
RECOVERY_ADDRESS = Rule(
    "recovery-address",
    10,
    "Too many password recovery requests from your network address. Try again in {wait}.",
    first_delay=HOUR,
    max_delay=HOUR,
)
RECOVERY_EMAIL = Rule(
    "recovery-email",
    3,
    "Too many recovery emails were asked for this address. Try again in {wait}.",
    first_delay=HOUR,
    max_delay=HOUR,
)


class Throttled(Exception):
    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def _wait_text(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def check(*pairs: tuple[Rule, str], exempt: frozenset[str] | set[str] = frozenset()) -> None:
    """Raise Throttled if any (rule, value) key is blocked now. One query for all of them."""
    keys = {rule.key(value): rule for rule, value in pairs if value}
    now = timezone.now()
    blocked = Throttle.objects.filter(key__in=keys.keys() - exempt, blocked_until__gt=now)
    worst = max(blocked, key=lambda row: row.blocked_until, default=None)
    if worst is not None:
        seconds = max(1, math.ceil((worst.blocked_until - now).total_seconds()))
        raise Throttled(keys[worst.key].message.format(wait=_wait_text(seconds)), seconds)


def record(*pairs: tuple[Rule, str]) -> None:
    """Count one event for each (rule, value) key, blocking the keys that are past their free events."""
    now = timezone.now()
    for rule, value in pairs:
        if value:
            _count(rule, rule.key(value), now)
    # Counters idle for a day tell nothing any more (no delay is that long); failures are rare enough
    # to tidy up here, on an indexed column.
    Throttle.objects.filter(
        Q(last_at__lt=now - timedelta(days=1)) & ~Q(key__startswith=KNOWN_PREFIX)
        | Q(last_at__lt=now - KNOWN_ADDRESS_FOR)
    ).delete()


def _count(rule: Rule, key: str, now) -> None:
    with transaction.atomic():
        row = Throttle.objects.select_for_update().filter(key=key).first()
        if row is None:
            try:
                with transaction.atomic():
                    row = Throttle.objects.create(key=key, count=0, last_at=now)
            except IntegrityError:  # another process created it first: count on its row
                row = Throttle.objects.select_for_update().get(key=key)
        if row.last_at < now - rule.window:
            row.count = 0
        row.count += 1
        row.last_at = now
        delay = rule.delay(row.count)
        row.blocked_until = now + delay if delay else None
        row.save(update_fields=["count", "last_at", "blocked_until"])


def clear(*pairs: tuple[Rule, str]) -> None:
    Throttle.objects.filter(key__in=[rule.key(value) for rule, value in pairs if value]).delete()


def known_key(email: str, address: str) -> str:
    return f"{KNOWN_PREFIX}{email.strip().lower()}:{address}"


# Logins ------------------------------------------------------------------------------------------


def check_login(email: str, address: str) -> None:
    """Raise Throttled if this login attempt must not be tried now."""
    exempt = set()
    if (
        email
        and Throttle.objects.filter(
            key=known_key(email, address), last_at__gt=timezone.now() - KNOWN_ADDRESS_FOR
        ).exists()
    ):
        exempt.add(LOGIN_ACCOUNT.key(email))
    check((LOGIN_ADDRESS, address), (LOGIN_ACCOUNT, email), exempt=exempt)


def login_failed(email: str, address: str) -> None:
    record((LOGIN_ADDRESS, address), (LOGIN_ACCOUNT, email))


def login_succeeded(email: str, address: str) -> None:
    clear((LOGIN_ACCOUNT, email))
    now = timezone.now()
    Throttle.objects.update_or_create(key=known_key(email, address), defaults={"last_at": now, "count": 0})


# Password recovery -------------------------------------------------------------------------------


def recovery_requested(email: str, address: str) -> None:
    """Count this request, and raise Throttled if no recovery email may be sent for it: past the
    free ones, each key is blocked for a whole window (the delay's first step is the window)."""
    pairs = ((RECOVERY_ADDRESS, address), (RECOVERY_EMAIL, email))
    check(*pairs)
    record(*pairs)
    check(*pairs)
