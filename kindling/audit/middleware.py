"""Every request that instance staff make in a project through support access is audited.

Support users are not members: they reach a project only because its administrators granted support
access, and the project's administrators must be able to see what was done with it. Recording at the
request level (method, path, status) covers every page, endpoint and action, including ones merged
later, without each view having to remember it.
"""

from kindling.audit.log import record
from kindling.projects.models import Project


def record_support_requests(get_response):
    def middleware(request):
        response = get_response(request)
        # request.user is the API token's user by now for /api/v1 requests (Ninja sets it in the view).
        user = getattr(request, "user", None)
        if user is None or not getattr(user, "is_support", False):
            return response
        slug = (
            getattr(request, "resolver_match", None) and request.resolver_match.kwargs.get("slug")
        ) or None
        if slug is None:
            return response
        project = (
            Project.objects.filter(slug=slug, support_access=True).exclude(memberships__user=user).first()
        )
        if project is not None:
            record(
                project,
                user,
                "support.request",
                request.path,
                method=request.method,
                status=response.status_code,
            )
        return response

    return middleware
