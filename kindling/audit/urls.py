from django.urls import path

from kindling.audit import views

urlpatterns = [
    path("projects/<slug:slug>/audit", views.audit, name="project-audit"),
]
