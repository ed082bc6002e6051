"""What every portal page needs to know about execution."""

from kindling.engine import sandbox


def sandbox_warning(request) -> dict:
    """A banner on every page when jobs would run without the OS sandbox (or cannot run at all)."""
    if not request.user.is_authenticated:
        return {}
    reason = sandbox.unavailable_reason()  # probed once per process
    if reason is None:
        return {}
    return {"sandbox_warning": {"reason": reason, "unsandboxed": sandbox.unsandboxed_allowed()}}
