from django.urls import path

from kindling.runs import batch_views, stream, views

# Included under projects/<slug:slug>/
urlpatterns = [
    path("activity", views.activity, name="project-activity"),
    path("runs/<int:run_id>", views.run_detail, name="run-detail"),
    path("runs/<int:run_id>/log", views.run_log, name="run-log"),
    path("runs/<int:run_id>/reprocess", views.run_reprocess, name="run-reprocess"),
    path("runs/<int:run_id>/abort", views.run_abort, name="run-abort"),
    path("runs/<int:run_id>/events", stream.run_events, name="run-events"),
    # Bulk actions on the current filters of Activity (kind "runs") and Inbox (kind "messages").
    path("history/<slug:kind>/reprocess", batch_views.bulk_reprocess, name="bulk-reprocess"),
    path("history/<slug:kind>/<slug:action>/dialog", batch_views.bulk_dialog, name="bulk-dialog"),
    path("queue", batch_views.project_queue, name="project-queue"),
]
