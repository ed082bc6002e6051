from django.urls import path

from kindling.ops import retention_pages, views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics_view, name="metrics"),
    path("projects/<slug:slug>/settings/retention", retention_pages.retention, name="project-retention"),
]
