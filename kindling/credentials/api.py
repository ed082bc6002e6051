"""Credentials in the REST API. Secrets are masked on read (`******`), and a masked value sent back
means "unchanged". Only the owner reads the body; members of a project it is shared with see which
fields are set; anyone else gets 404.
"""

from datetime import datetime
from typing import Any

from ninja import Router, Schema, Status
from pydantic import Field

from kindling.credentials import schemas
from kindling.credentials.access import credential_for
from kindling.credentials.editing import NAME_MAX, create_credential, delete_credential, update_credential
from kindling.credentials.models import Credential
from kindling.credentials.reveal import reveal_body
from kindling.credentials.sharing import CredentialError, projects_by_slug, set_projects
from kindling.credentials.transfer import transfer
from kindling.lib.paging import page
from kindling.openapi import (
    LIMIT,
    BodyId,
    BodyIn,
    Id,
    Limit,
    Offset,
    Optional,
    email_format,
    errors,
    links,
    operation_id,
    page_of,
)
from kindling.patching import PatchIn
from kindling.projects.access import project_for, projects_of

router = Router(tags=["credentials"])
THIS = __name__
Name = {"min_length": 1, "max_length": NAME_MAX, "pattern": r"\S"}


class CredentialIn(BodyIn):
    name: str = Field(**Name)
    # "raw" or an installed adaptor with a configuration schema (GET /credential-types).
    type: str = "raw"
    body: dict[str, Any] = {}
    projects: list[str] = []


class CredentialPatch(PatchIn):
    name: str = Optional(**Name)
    body: dict[str, Any] = Optional()


class ProjectsIn(BodyIn):
    projects: list[str]


class TransferIn(BodyIn):
    email: str = Field(json_schema_extra=email_format)
    user_number: BodyId


class OwnerOut(Schema):
    email: str = Field(json_schema_extra=email_format)
    name: str


class CredentialOut(Schema):
    id: int
    name: str
    type: str = Field(description='"raw" or the adaptor whose configuration schema it follows')
    owner: OwnerOut
    fields_set: list[str] = Field(description="The fields that hold a value")
    readable: bool = Field(description="false: no configured key decrypts its body")
    created_at: datetime
    updated_at: datetime
    body: dict[str, Any] | None = Field(
        None,
        description="Its owner only (absent for other members): the values, each secret set as ******; "
        "null when unreadable",
    )
    projects: list[str] = Field(
        description="The slugs of the projects it is shared with (to a member: only their own projects)"
    )


class TransferredOut(Schema):
    id: int
    name: str
    owner: dict[str, str] = Field(description="The new owner's email")


class TypeOut(Schema):
    type: str
    label: str
    adaptor_version: str | None
    schema_: dict[str, Any] | None = Field(alias="schema", description="The adaptor's configuration schema")


class RevealIn(BodyIn):
    password: str = Field(description="Your password, typed again")


class RevealedOut(Schema):
    id: int
    name: str
    body: dict[str, Any] = Field(description="Every stored value, in clear")


CredentialPage = page_of(CredentialOut, "CredentialPage")
TypePage = page_of(TypeOut, "CredentialTypePage")


def credential_out(credential: Credential, user) -> dict:
    credential_type = schemas.type_of(credential)
    body = credential.readable_body()
    out = {
        "id": credential.pk,
        "name": credential.name,
        "type": credential.schema,
        "owner": {"email": credential.owner.email, "name": credential.owner.name},
        "fields_set": schemas.fields_set(body or {}),
        # False when no configured key decrypts the body: its owner can save a new one.
        "readable": body is not None,
        "created_at": credential.created_at,
        "updated_at": credential.updated_at,
    }
    if credential.is_owned_by(user):
        out["body"] = schemas.masked(credential_type, body) if body is not None else None
        out["projects"] = list(credential.projects.order_by("slug").values_list("slug", flat=True))
    else:
        # Only the projects this user is in: the owner's other projects are none of their business.
        mine = projects_of(user)
        out["projects"] = list(
            credential.projects.filter(pk__in=mine).order_by("slug").values_list("slug", flat=True)
        )
    return out


def refused(exc: Exception):
    if isinstance(exc, schemas.InvalidBody):
        # A rule of the credential's type (its adaptor's schema), which this document cannot spell out.
        return Status(400, {"error": f"Invalid credential: {exc}", "fields": exc.fields})
    return Status(400, {"error": str(exc)})


def listing(request, credentials, q: str, limit: int, offset: int) -> dict:
    if q:
        credentials = credentials.filter(name__icontains=q)
    credentials = credentials.select_related("owner").order_by("name", "id")
    return page(credentials, limit, offset, lambda c: credential_out(c, request.user))


def type_out(credential_type) -> dict:
    t = credential_type
    return {"type": t.key, "label": t.label, "adaptor_version": t.version or None, "schema": t.schema}


@router.get(
    "/credential-types",
    response=TypePage,
    by_alias=True,
    summary="Credential types: Raw JSON and each installed adaptor's schema",
)
def list_types(request, limit: Limit = LIMIT, offset: Offset = 0):
    return page(schemas.available_types(), limit, offset, type_out)


@router.get(
    "/credentials",
    response=CredentialPage,
    exclude_unset=True,
    summary="The credentials you own (search by name with q)",
)
def list_my_credentials(request, q: str = "", limit: Limit = LIMIT, offset: Offset = 0):
    return listing(request, Credential.objects.live().filter(owner=request.user), q, limit, offset)


@router.get(
    "/projects/{slug}/credentials",
    response=CredentialPage,
    exclude_unset=True,
    summary="The credentials shared with a project",
)
def list_project_credentials(request, slug: str, q: str = "", limit: Limit = LIMIT, offset: Offset = 0):
    project = project_for(request.user, slug)
    return listing(request, Credential.objects.shared_with(project), q, limit, offset)


@router.post(
    "/credentials",
    response={201: CredentialOut, **errors(400)},
    exclude_unset=True,
    summary="Create a credential you own",
    openapi_extra=links(
        201,
        **{
            name: (operation_id(THIS, function), {"credential_id": "$response.body#/id"})
            for name, function in (
                ("get", "get_credential"),
                ("patch", "patch_credential"),
                ("share", "put_projects"),
                ("delete", "delete"),
            )
        },
    ),
)
def create(request, payload: CredentialIn):
    mine = {p.slug: p for p in projects_of(request.user).filter(slug__in=payload.projects)}
    unknown = [slug for slug in payload.projects if slug not in mine]
    if unknown:
        return Status(400, {"error": f"No project {unknown[0]!r} among your projects."})
    projects = [mine[slug] for slug in dict.fromkeys(payload.projects)]
    try:
        credential = create_credential(request.user, payload.name, payload.type, payload.body, projects)
    except (CredentialError, schemas.InvalidBody) as exc:
        return refused(exc)
    return Status(201, credential_out(credential, request.user))


@router.get(
    "/credentials/{credential_id}",
    response=CredentialOut,
    exclude_unset=True,
    summary="One credential (the owner gets the masked body)",
)
def get_credential(request, credential_id: Id):
    return credential_out(credential_for(request.user, credential_id), request.user)


@router.patch(
    "/credentials/{credential_id}",
    response={200: CredentialOut, **errors(400, 403)},
    exclude_unset=True,
    summary="Rename or change the body (owner); a field sent as ****** keeps its value",
)
def patch_credential(request, credential_id: Id, payload: CredentialPatch):
    credential = credential_for(request.user, credential_id, "edit")
    try:
        update_credential(credential, request.user, name=payload.name, body=payload.body)
    except (CredentialError, schemas.InvalidBody) as exc:
        return refused(exc)
    return Status(200, credential_out(credential, request.user))


@router.put(
    "/credentials/{credential_id}/projects",
    response={200: CredentialOut, **errors(400, 403)},
    exclude_unset=True,
    summary="Share with exactly these projects (owner): grants and revokes",
)
def put_projects(request, credential_id: Id, payload: ProjectsIn):
    credential = credential_for(request.user, credential_id, "share")
    try:
        set_projects(credential, request.user, projects_by_slug(credential, payload.projects))
    except CredentialError as exc:
        return refused(exc)
    return Status(200, credential_out(credential, request.user))


@router.post(
    "/credentials/{credential_id}/transfer",
    response={200: TransferredOut, **errors(400, 403)},
    summary="Give the credential to the user with this email and user number (owner)",
)
def post_transfer(request, credential_id: Id, payload: TransferIn):
    credential = credential_for(request.user, credential_id, "transfer")
    try:
        recipient = transfer(credential, request.user, payload.email, payload.user_number)
    except CredentialError as exc:
        return refused(exc)
    return Status(200, {"id": credential.pk, "name": credential.name, "owner": {"email": recipient.email}})


@router.delete(
    "/credentials/{credential_id}",
    response={204: None, **errors(403)},
    summary="Delete now and for good (owner); jobs using it fail to start until changed",
)
def delete(request, credential_id: Id):
    delete_credential(credential_for(request.user, credential_id, "delete"), request.user)
    return Status(204, None)


@router.post(
    "/credentials/{credential_id}/reveal",
    response={200: RevealedOut, **errors(400, 403)},
    summary="A Raw JSON credential's values in clear, for its owner after their password (recorded, as "
    "the portal's Reveal is)",
)
def reveal(request, credential_id: Id, payload: RevealIn):
    credential = credential_for(request.user, credential_id, "reveal")
    if not schemas.type_of(credential).is_raw:
        return Status(
            400,
            {
                "error": "Only a Raw JSON credential's values can be revealed: a typed one shows every field "
                "its schema does not mark secret."
            },
        )
    try:
        body = reveal_body(credential, request.user, payload.password)
    except CredentialError as exc:
        return Status(400, {"error": str(exc)})
    return Status(200, {"id": credential.pk, "name": credential.name, "body": body})
