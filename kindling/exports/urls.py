from django.urls import path

from kindling.exports import views

urlpatterns = [
    path("projects/<slug:slug>/history/<slug:kind>/export", views.bulk_export, name="bulk-export"),
    path("exports/<int:export_id>/download", views.download, name="export-download"),
]
