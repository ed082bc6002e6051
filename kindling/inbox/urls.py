from django.urls import path

from kindling.inbox import pages

# Included under projects/<slug:slug>/
urlpatterns = [
    path("inbox", pages.inbox, name="project-inbox"),
    path("inbox/<int:message_id>", pages.message_detail, name="message-detail"),
]
