from django.urls import path

from kindling.library import views

urlpatterns = [
    path("library", views.library, name="library"),
    path("library/<int:job_id>", views.library_job, name="library-job"),
    path("library/<int:job_id>/use", views.library_job_use, name="library-job-use"),
    path("projects/<slug:slug>/settings/library", views.project_library, name="project-library"),
]
