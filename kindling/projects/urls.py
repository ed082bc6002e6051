from django.urls import path

from kindling.projects import views

urlpatterns = [
    path("", views.project_list, name="project-list"),
]
