"""REST API v1 (Django Ninja): `Authorization: Bearer <personal API token>`, OpenAPI at /api/v1/openapi.json.

Each app contributes a router; errors are `{"error": "..."}` with the right status.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from kindling.accounts.models import ApiToken, TokenExpired
from kindling.api_reference import ApiReference
from kindling.openapi import NUL, add_common_answers
from kindling.patching import unknown_fields


class TokenRefused(AuthenticationError):
    def __init__(self, message: str):
        super().__init__(401, message)


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        try:
            user = ApiToken.user_for(token)
        except TokenExpired as exc:
            raise TokenRefused(str(exc)) from None
        if user is not None:
            request.user = user
        return user


class KindlingAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        # Built once per process: the routes do not change while it runs, and building the document
        # takes about a second (the time zones' enum, every schema), too long for each request.
        key = (path_prefix, tuple(sorted((path_params or {}).items())))
        cache = self.__dict__.setdefault("_documents", {})
        if key not in cache:
            document = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
            cache[key] = add_common_answers(document)
        return cache[key]


api = KindlingAPI(
    title="Kindling API",
    version="1",
    description="Send a personal API token (Account settings) as `Authorization: Bearer <token>`. "
    'Errors are `{"error": "..."}`; lists are pages of `items` with `count`, `limit` and `offset`.',
    urls_namespace="api",
    auth=TokenAuth(),
    docs=ApiReference(),
)


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, {"error": str(exc) or "Not found."}, status=404)


@api.exception_handler(PermissionDenied)
def forbidden(request, exc):
    return api.create_response(request, {"error": str(exc) or "Not allowed."}, status=403)


@api.exception_handler(HttpError)
def http_error(request, exc):
    # Ninja's own refusals: a body that is not JSON is the one a client meets.
    message = str(exc)
    if message.startswith("Cannot parse request body"):
        message = "The body is not valid JSON: send a JSON object."
    return api.create_response(request, {"error": message}, status=exc.status_code)


@api.exception_handler(AuthenticationError)
def unauthorized(request, exc):
    if isinstance(exc, TokenRefused):
        return api.create_response(request, {"error": exc.message}, status=401)
    return api.create_response(
        request, {"error": "Send a personal API token as `Authorization: Bearer <token>`."}, status=401
    )


def describe(error: dict) -> str:
    loc = [str(part) for part in error.get("loc", [])]
    if loc[:1] == ["body"] and len(loc) > 2:
        loc = loc[2:]  # ("body", "payload", "concurrency"): the field, as the client wrote it
    return f"{'.'.join(loc)}: {error.get('msg')}"


@api.exception_handler(ValidationError)
def invalid(request, exc):
    unknown = unknown_fields(exc.errors)
    if unknown:
        # An unknown field is a 400 naming it, even when other fields are wrong too.
        others = "; ".join(describe(e) for e in exc.errors if e.get("type") != "extra_forbidden")
        error = f"Unknown field(s): {', '.join(unknown)}. Send only the fields this endpoint takes."
        return api.create_response(
            request, {"error": error + (f" Also: {others}" if others else "")}, status=400
        )
    nul = [e["msg"] for e in exc.errors if e.get("type") == NUL]
    if nul:
        # A rule the document does not spell out (as a pattern on every text): 400, like other such rules.
        return api.create_response(request, {"error": f"{nul[0]}: it cannot be stored."}, status=400)
    problems = "; ".join(describe(e) for e in exc.errors)
    return api.create_response(request, {"error": f"Invalid request: {problems}"}, status=422)


def register_routers():
    from kindling.accounts.api import router as accounts_router
    from kindling.audit.api import router as audit_router
    from kindling.collections.items_api import router as collections_router
    from kindling.credentials.api import router as credentials_router
    from kindling.exports.api import router as exports_router
    from kindling.inbox.api import router as inbox_router
    from kindling.inbox.auth_api import router as inbox_auth_router
    from kindling.jobs.api import router as jobs_router
    from kindling.jobs.studio_api import router as studio_router
    from kindling.jobs.versions_api import router as versions_router
    from kindling.library.api import router as library_router
    from kindling.ops.api import router as ops_router
    from kindling.plans.api import router as plans_router
    from kindling.projects.api import router as projects_router
    from kindling.runs.api import router as runs_router
    from kindling.runs.batch_api import router as batch_router
    from kindling.search.api import router as search_router
    from kindling.vcs.api import router as vcs_router

    routers = (projects_router, jobs_router, inbox_router, runs_router, credentials_router, inbox_auth_router)
    later = (audit_router, plans_router, search_router, batch_router, exports_router, vcs_router)
    for router in (*routers, *later, versions_router, library_router):
        api.add_router("/", router)
    api.add_router("/", ops_router)
    api.add_router("/", accounts_router)
    api.add_router("/", studio_router)
    api.add_router("/", collections_router)


register_routers()
