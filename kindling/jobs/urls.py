from django.urls import path

from kindling.jobs import views

# Included under projects/<slug:slug>/
urlpatterns = [
    path("jobs", views.job_list, name="job-list"),
    path("jobs/new", views.job_create, name="job-create"),
    path("jobs/<int:job_id>", views.job_detail, name="job-detail"),
    path("jobs/<int:job_id>/edit", views.job_edit, name="job-edit"),
    path("jobs/<int:job_id>/enabled", views.job_set_enabled, name="job-set-enabled"),
    path("jobs/<int:job_id>/run", views.job_run, name="job-run"),
    # private, public, console-off, console-on, archive, restore
    path("jobs/<int:job_id>/<slug:flag>", views.job_set_flag, name="job-set-flag"),
    path("triggers", views.trigger_list, name="trigger-list"),
    path("triggers/new", views.trigger_create, name="trigger-create"),
    path("triggers/cron-times", views.cron_preview, name="trigger-cron-times"),
    path("triggers/<int:trigger_id>", views.trigger_edit, name="trigger-edit"),
    path("triggers/<int:trigger_id>/delete", views.trigger_delete, name="trigger-delete"),
]
