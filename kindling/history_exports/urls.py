from django.urls import path

from kindling.history_exports import views

urlpatterns = [
    path("projects/<slug:slug>/history/<slug:kind>/export", views.bulk_export, name="bulk-export"),
    path("history-exports/<int:export_id>/download", views.export_download, name="history-export-download"),
]
