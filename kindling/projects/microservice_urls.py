from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from kindling.inbox.views import inbox
from kindling.projects.models import Project


@csrf_exempt
def only_inbox(request):
    # OpenFn/microservice's address: POST /inbox, the one project of this database.
    project = Project.objects.order_by("id").first()
    return inbox(request, str(project.inbox_uuid) if project else "none")


urlpatterns = [
    path("inbox", only_inbox, name="microservice-inbox"),
    path("inbox/<str:inbox_uuid>", inbox, name="inbox"),
]
