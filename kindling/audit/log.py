"""The audit log: who did what, and when, in a project. Append-only.

Every action worth auditing calls `record(project, actor, action, target, **details)` from the domain
function that performs it (not from a view), so the portal, the REST API and the CLI are all recorded.

- `actor`: the User who acted, or None for the command line.
- `action`: a dotted name, `<noun>.<verb>`; those in ACTIONS get a label on the Audit page, any other
  is shown as it is. Features merged later add theirs (settings.changed, plan.changed,
  runs.reprocessed, messages.reprocessed, export.requested, ...).
- `target`: what was acted on, in words (an email, a job name, an auth method's name).
- `details`: small JSON-able facts (old and new role, fields changed, counts). Never a secret: any
  key that names one (password, key, secret, token, signature) is dropped here as a second line of
  defence, but callers must not pass secrets in the first place.
"""

import re

from kindling.audit.models import AuditEvent

ACTIONS = {
    "member.added": "User added",
    "member.invited": "User invited",
    "member.role_changed": "Role changed",
    "member.removed": "User access revoked",
    "support_access.granted": "Support access granted",
    "support_access.revoked": "Support access revoked",
    "support.request": "Support access used",
    "inbox_auth.added": "Inbox auth method added",
    "inbox_auth.revoked": "Inbox auth method revoked",
    "credential.shared": "Credential shared",
    "credential.unshared": "Credential access revoked",
    "credential.transferred": "Credential ownership transferred",
    "job.created": "Job created",
    "job.edited": "Job edited",
    "job.switched_on": "Job switched on",
    "job.switched_off": "Job switched off",
    "job.archived": "Job archived",
    "job.restored": "Job restored",
    "job.version_restored": "Job version restored",
    "library.joined": "Job library contribution enabled",
    "library.left": "Job library contribution disabled",
    "settings.changed": "Settings changed",
    "plan.changed": "Plan changed",
    "runs.reprocessed": "Runs reprocessed",
    "messages.reprocessed": "Messages reprocessed",
    "export.requested": "Export requested",
    "collection.created": "Collection created",
    "collection.deleted": "Collection deleted",
}

SECRET_KEY_NAME = re.compile(r"pass|secret|key|token|signature|credential_body", re.IGNORECASE)


def without_secrets(details: dict) -> dict:
    return {
        name: without_secrets(value) if isinstance(value, dict) else value
        for name, value in details.items()
        if not SECRET_KEY_NAME.search(name)
    }


def record(project, actor, action: str, target: str = "", **details) -> AuditEvent:
    """Append one event to `project`'s audit log (see the module's doc for the arguments)."""
    via_support = False
    if actor is not None and getattr(actor, "is_support", False):
        via_support = not project.memberships.filter(user=actor).exists()
    return AuditEvent.objects.create(
        project=project,
        actor=actor,
        actor_email=actor.email if actor is not None else "",
        via_support=via_support,
        action=action,
        target=str(target)[:300],
        details=without_secrets(details),
    )


def label_of(action: str) -> str:
    return ACTIONS.get(action, action)
