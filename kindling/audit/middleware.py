"""Every request that instance staff make in a project through support access is audited.

Support users are not members: they reach a project only because its administrators granted support
access, and the project's administrators must be able to see what was done with it. The access check
(`require` in kindling/projects/access.py) marks the user object with the project it let them into;
recording here, once the response is known (method, path, status), covers every page, endpoint and
action, including ones merged later and those addressed by an object's id (`/api/v1/jobs/{id}`).
"""

from kindling.audit.log import record


def record_support_requests(get_response):
    def middleware(request):
        response = get_response(request)
        # request.user is the API token's user by now for /api/v1 requests (Ninja sets it in the view).
        project = getattr(getattr(request, "user", None), "support_project", None)
        if project is not None:
            record(
                project,
                request.user,
                "support.request",
                request.path,
                method=request.method,
                status=response.status_code,
            )
        return response

    return middleware
