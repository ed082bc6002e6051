from pathlib import Path

from django.contrib import admin
from django.http import FileResponse
from django.urls import include, path

from kindling.api import api
from kindling.collections.api import collection
from kindling.inbox.views import inbox

FAVICON = Path(__file__).parent / "static" / "kindling" / "favicon.ico"


def favicon(request):
    # Browsers ask for /favicon.ico on every fresh page load, whatever the page links to.
    response = FileResponse(FAVICON.open("rb"), content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response


urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("inbox/<str:inbox_uuid>", inbox, name="inbox"),
    # @openfn/language-collections' API, for runs (their token), not people: kindling/collections/api.py
    path("collections/<str:name>", collection, name="collections-api"),
    path("collections/<str:name>/<path:key>", collection, name="collections-api-key"),
    path("api/v1/", api.urls),
    path("", include("kindling.accounts.urls")),
    path("", include("kindling.projects.urls")),
    path("", include("kindling.credentials.urls")),
    path("", include("kindling.exports.urls")),
    path("", include("kindling.audit.urls")),
    path("projects/<slug:slug>/", include("kindling.runs.urls")),
    path("projects/<slug:slug>/", include("kindling.inbox.urls")),
    path("projects/<slug:slug>/", include("kindling.jobs.urls")),
    path("", include("kindling.plans.urls")),
    path("admin/", admin.site.urls),
    path("projects/<slug:slug>/", include("kindling.search.urls")),
    path("", include("kindling.ops.urls")),
    path("", include("kindling.vcs.urls")),
    path("", include("kindling.library.urls")),
    path("projects/<slug:slug>/", include("kindling.collections.urls")),
]
