from datetime import datetime
from typing import Literal

from ninja import Router, Schema, Status
from pydantic import Field

from kindling.inbox.auth_methods import AuthMethodError, add_method, methods_of, revoke_method
from kindling.lib.paging import page
from kindling.openapi import LIMIT, BodyIn, Id, Limit, Offset, errors, links, operation_id, page_of
from kindling.projects.access import project_for

router = Router(tags=["inbox authentication"])


class AuthMethodIn(BodyIn):
    type: Literal["api_key", "basic", "hmac"]
    name: str = Field(min_length=1, max_length=100, pattern=r"\S")
    username: str = ""
    password: str = ""


MethodType = Literal["api_key", "basic", "hmac"]


class MethodOut(Schema):
    id: int
    type: MethodType
    name: str
    username: str | None = Field(description="basic: the username")
    hint: str | None = Field(description="The key's or secret's first characters, to tell methods apart")
    created_by: str | None = Field(description="The email of who added it")
    created_at: datetime
    last_used_at: datetime | None


class AddedMethodOut(MethodOut):
    key: str | None = Field(None, description="api_key: the key, shown this once")
    secret: str | None = Field(None, description="hmac: the shared secret, shown this once")


MethodPage = page_of(MethodOut, "InboxAuthMethodPage")


def method_out(method) -> dict:
    return {
        "id": method.pk,
        "type": method.kind,
        "name": method.name,
        "username": method.username or None,
        "hint": method.hint or None,
        "created_by": method.created_by.email if method.created_by_id else None,
        "created_at": method.created_at,
        "last_used_at": method.last_used_at,
    }


@router.get(
    "/projects/{slug}/inbox-auth",
    response={200: MethodPage, **errors(403)},
    summary="The inbox's authentication methods (administrators)",
)
def list_methods(request, slug: str, limit: Limit = LIMIT, offset: Offset = 0):
    project = project_for(request.user, slug, "manage_inbox_auth")
    return page(methods_of(project), limit, offset, method_out)


@router.post(
    "/projects/{slug}/inbox-auth",
    summary="Add a method: api_key (answers the key, this once), basic (username, password) or hmac "
    "(answers the shared secret, this once)",
    response={201: AddedMethodOut, **errors(400, 403)},
    exclude_unset=True,
    openapi_extra=links(
        201,
        revoke=(
            operation_id(__name__, "revoke_method_endpoint"),
            {"slug": "$request.path.slug", "method_id": "$response.body#/id"},
        ),
    ),
)
def add_method_endpoint(request, slug: str, data: AuthMethodIn):
    project = project_for(request.user, slug, "manage_inbox_auth")
    try:
        added = add_method(project, request.user, data.type, data.name, data.username, data.password)
    except AuthMethodError as exc:
        return Status(400, {"error": str(exc)})
    out = method_out(added.method)
    if added.method.kind == "api_key":
        out["key"] = added.secret
    elif added.method.kind == "hmac":
        out["secret"] = added.secret
    return Status(201, out)


@router.delete(
    "/projects/{slug}/inbox-auth/{method_id}", summary="Revoke a method", response={204: None, **errors(403)}
)
def revoke_method_endpoint(request, slug: str, method_id: Id):
    project = project_for(request.user, slug, "manage_inbox_auth")
    revoke_method(project, request.user, method_id)
    return Status(204, None)
