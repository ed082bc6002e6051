"""Old portal URLs of a renamed project: `/projects/<old-slug>/...` answers 301 to the same page under
the new slug for 60 days, then 404 (v1's deprecation period). Only members are redirected: to anyone
else the old URL stays a 404, as every URL of a project they cannot see."""

from django.http import HttpResponsePermanentRedirect
from django.utils.deprecation import MiddlewareMixin

from kindling.projects.models import Project, SlugRedirect

PREFIX = "/projects/"


def current_slug(user, old_slug: str) -> str | None:
    if not user.is_authenticated:
        return None
    found = (
        SlugRedirect.live()
        .filter(old_slug=old_slug, project__memberships__user=user)
        .order_by("-created_at")
        .values_list("project__slug", flat=True)
        .first()
    )
    return found


class OldSlugRedirectMiddleware(MiddlewareMixin):
    # MiddlewareMixin: sync and async capable like Django's own, so the portal's async views (live
    # logs) are not forced through an extra thread hop.
    def process_response(self, request, response):
        # Only a page that was not found looks for an old slug: the current slug always wins, and
        # every other request costs nothing.
        if response.status_code != 404 or request.method not in ("GET", "HEAD"):
            return response
        if not request.path.startswith(PREFIX):
            return response
        old_slug, _, rest = request.path[len(PREFIX) :].partition("/")
        if not old_slug or Project.objects.filter(slug=old_slug).exists():
            return response
        slug = current_slug(request.user, old_slug)
        if slug is None:
            return response
        target = f"{PREFIX}{slug}/{rest}"
        if request.META.get("QUERY_STRING"):
            target += "?" + request.META["QUERY_STRING"]
        return HttpResponsePermanentRedirect(target)
