"""REST API v1 (Django Ninja): `Authorization: Bearer <personal API token>`, OpenAPI at /api/v1/openapi.json.

Each app contributes a router; errors are `{"error": "..."}` with the right status.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import HttpBearer

from kindling.accounts.models import ApiToken


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        user = ApiToken.user_for(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(title="Kindling API", version="1", urls_namespace="api", auth=TokenAuth())


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, {"error": str(exc) or "Not found."}, status=404)


@api.exception_handler(PermissionDenied)
def forbidden(request, exc):
    return api.create_response(request, {"error": str(exc) or "Not allowed."}, status=403)


@api.exception_handler(AuthenticationError)
def unauthorized(request, exc):
    return api.create_response(
        request, {"error": "Send a personal API token as `Authorization: Bearer <token>`."}, status=401
    )


@api.exception_handler(ValidationError)
def invalid(request, exc):
    problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg')}" for e in exc.errors)
    return api.create_response(request, {"error": f"Invalid request: {problems}"}, status=422)


def register_routers():
    from kindling.credentials.api import router as credentials_router
    from kindling.history_exports.api import router as exports_router
    from kindling.inbox.api import router as inbox_router
    from kindling.jobs.api import router as jobs_router
    from kindling.projects.api import router as projects_router
    from kindling.runs.api import router as runs_router
    from kindling.runs.batch_api import router as batch_router
    from kindling.search.api import router as search_router

    routers = (projects_router, jobs_router, inbox_router, runs_router, credentials_router)
    for router in (*routers, search_router, batch_router, exports_router):
        api.add_router("/", router)


register_routers()
