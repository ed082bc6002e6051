from ninja import Router

from kindling.lib.paging import DEFAULT_LIMIT, page
from kindling.projects.access import project_for

router = Router(tags=["messages"])


def message_out(message) -> dict:
    return {
        "id": message.pk,
        "body": message.body,
        "headers": message.headers,
        "received_at": message.received_at,
    }


@router.get("/projects/{slug}/messages", summary="Messages received by a project's inbox, newest first")
def list_messages(request, slug: str, limit: int = DEFAULT_LIMIT, offset: int = 0):
    project = project_for(request.user, slug)
    return page(project.messages.order_by("-received_at", "-id"), limit, offset, message_out)
