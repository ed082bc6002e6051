from ninja import Router, Schema, Status

from kindling.inbox.auth_methods import AuthMethodError, add_method, methods_of, revoke_method
from kindling.projects.access import project_for

router = Router(tags=["inbox authentication"])


class AuthMethodIn(Schema):
    type: str
    name: str
    username: str = ""
    password: str = ""


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


@router.get("/projects/{slug}/inbox-auth", summary="The inbox's authentication methods (administrators)")
def list_methods(request, slug: str):
    project = project_for(request.user, slug, "manage_inbox_auth")
    return [method_out(m) for m in methods_of(project)]


@router.post(
    "/projects/{slug}/inbox-auth",
    summary="Add a method: api_key (answers the key, this once), basic (username, password) or hmac "
    "(answers the shared secret, this once)",
    response={201: dict, 400: dict},
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


@router.delete("/projects/{slug}/inbox-auth/{method_id}", summary="Revoke a method", response={204: None})
def revoke_method_endpoint(request, slug: str, method_id: int):
    project = project_for(request.user, slug, "manage_inbox_auth")
    revoke_method(project, request.user, method_id)
    return Status(204, None)
