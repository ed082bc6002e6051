"""Create, edit and delete credentials: the one implementation the portal, the API and import use."""

from django.db import transaction

from kindling.audit.log import record
from kindling.credentials import schemas
from kindling.credentials.access import require_owner
from kindling.credentials.models import RAW, Credential
from kindling.credentials.sharing import CredentialError, check_grantable

NAME_MAX = Credential._meta.get_field("name").max_length


def clean_name(name) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise CredentialError("A credential needs a name.")
    if len(name) > NAME_MAX:
        raise CredentialError(f"The name is {len(name)} characters long; the limit is {NAME_MAX}.")
    return name


def create_credential(owner, name, type_key: str = RAW, body=None, projects=()) -> Credential:
    """A new credential owned by `owner`, shared with `projects` (projects `owner` is a member of)."""
    name = clean_name(name)
    credential_type = schemas.type_for(type_key or RAW, strict=True)
    if credential_type is None:
        raise CredentialError(
            f"Unknown credential type {type_key!r}: use 'raw' (Raw JSON) or an installed adaptor "
            "that has a configuration schema, such as '@openfn/language-http'."
        )
    if body is None:
        body = {}
    if isinstance(body, dict):
        body = schemas.unmask(body, {})  # nothing is stored yet: a masked field stays unset
    schemas.validate(credential_type, body)
    projects = list(projects)
    check_grantable(owner, projects, already_shared=set())
    with transaction.atomic():
        credential = Credential(name=name, schema=credential_type.key, owner=owner)
        credential.body = body
        credential.save()
        credential.projects.add(*projects)
        for project in projects:
            record(project, owner, "credential.shared", credential.name, owner=owner.email)
    return credential


def update_credential(credential: Credential, by, name=None, body=None) -> Credential:
    """Change the name and/or the body; a body field sent as the mask keeps its stored value."""
    require_owner(credential, by, "edit")
    fields = ["updated_at"]
    if name is not None:
        credential.name = clean_name(name)
        fields.append("name")
    if body is not None:
        if not isinstance(body, dict):
            raise schemas.InvalidBody({"": "the body must be a JSON object of fields"})
        body = schemas.unmask(body, credential.readable_body() or {})
        schemas.validate(schemas.type_of(credential), body)
        credential.body = body
        fields.append("body_encrypted")
    credential.save(update_fields=fields)
    return credential


def delete_credential(credential: Credential, by) -> None:
    """Immediate and permanent: the body is destroyed; jobs that used it fail to start until changed."""
    require_owner(credential, by, "delete")
    credential.delete_for_good()
