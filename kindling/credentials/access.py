"""Who may do what with a credential, denying by default.

The owner reads (secrets masked), edits, shares, transfers and deletes. A member of a project the
credential is shared with sees its name, type, owner and which fields are set, and may select it for a
job of that project. Anyone else gets 404: they do not even learn that it exists.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from kindling.credentials.models import Credential

OWNER_ACTIONS = {
    "edit": "edit it",
    "share": "manage its access",
    "transfer": "transfer it",
    "delete": "delete it",
    "reveal": "see its values",
}


def credential_for(user, pk, action: str = "view") -> Credential:
    credential = Credential.objects.visible_to(user).select_related("owner").filter(pk=pk).first()
    if credential is None:
        raise Http404("No such credential.")
    if action != "view" and not credential.is_owned_by(user):
        raise PermissionDenied(
            f"Only the credential's owner ({credential.owner.email}) can {OWNER_ACTIONS[action]}."
        )
    return credential


def require_owner(credential: Credential, user, action: str) -> None:
    if not credential.is_owned_by(user):
        raise PermissionDenied(f"Only the credential's owner can {OWNER_ACTIONS[action]}.")
