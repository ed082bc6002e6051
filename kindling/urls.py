from django.urls import include, path

from kindling.api import api
from kindling.inbox.views import inbox

urlpatterns = [
    path("inbox/<uuid:inbox_uuid>", inbox, name="inbox"),
    path("api/v1/", api.urls),
]
