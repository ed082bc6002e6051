from django.urls import path

from kindling.projects import settings_pages, views

urlpatterns = [
    path("", views.project_list, name="project-list"),
    path("projects/new", views.project_new, name="project-new"),
    path("projects/<slug:slug>/", views.project_dashboard, name="project-dashboard"),
    path("projects/<slug:slug>/settings", settings_pages.project_settings, name="project-settings"),
    path("projects/<slug:slug>/settings/export", settings_pages.project_export, name="project-export"),
]
