from django.urls import path

from kindling.inbox import pages

# Included under projects/<slug:slug>/
urlpatterns = [
    path("inbox", pages.inbox, name="project-inbox"),
    path("inbox/new", pages.message_create, name="message-create"),
    path("inbox/<int:message_id>", pages.message_detail, name="message-detail"),
    path("inbox/<int:message_id>/edit", pages.message_edit, name="message-edit"),
    path("inbox/<int:message_id>/process", pages.message_process, name="message-process"),
]
