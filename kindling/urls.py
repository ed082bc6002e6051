from django.urls import include, path

from kindling.api import api
from kindling.inbox.views import inbox

urlpatterns = [
    path("inbox/<str:inbox_uuid>", inbox, name="inbox"),
    path("api/v1/", api.urls),
    path("", include("kindling.accounts.urls")),
    path("", include("kindling.projects.urls")),
    path("", include("kindling.credentials.urls")),
    path("projects/<slug:slug>/", include("kindling.runs.urls")),
    path("projects/<slug:slug>/", include("kindling.inbox.urls")),
    path("projects/<slug:slug>/", include("kindling.jobs.urls")),
    path("projects/<slug:slug>/", include("kindling.search.urls")),
    path("", include("kindling.history_exports.urls")),
]
