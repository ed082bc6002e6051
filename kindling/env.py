"""Reading settings from the environment. Used by kindling/settings.py, and by `kindling serve`'s
supervisor, which loads no Django (kindling/serve.py) and needs only the few settings below."""

import os

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def port() -> int:
    return env_int("PORT", 8000, minimum=1)


def collections_url() -> str:
    """The collections API as jobs call it (KINDLING_COLLECTIONS_URL): by default the portal's own port on
    this machine. Read by the settings and by the engine's sandbox, which lets jobs reach that port."""
    return env_str("KINDLING_COLLECTIONS_URL", f"http://127.0.0.1:{port()}/collections").rstrip("/")


def run_timeout_seconds() -> int:
    """The instance's ceiling on a run's timeout; each plan sets its own below it (Free: 100 s)."""
    return env_int("KINDLING_RUN_TIMEOUT", 3600, minimum=1)


def billing_provider() -> str:
    value = env_str("KINDLING_BILLING_PROVIDER", "none").strip().lower()
    if value not in ("none", "stripe"):
        raise ImproperlyConfigured(f"KINDLING_BILLING_PROVIDER must be none or stripe, not {value!r}")
    return value


def worker_slots() -> int:
    """Runs one `kindling worker` process executes at once (threads); projects' concurrency still rules."""
    return env_int("KINDLING_WORKER_SLOTS", 4, minimum=1)
