from django.urls import path

from kindling.jobs import history_views, studio, studio_adaptors, views

# Included under projects/<slug:slug>/
urlpatterns = [
    path("jobs", views.job_list, name="job-list"),
    path("jobs/new", studio.job_create, name="job-create"),
    path("jobs/new/save-and-run", studio.save_and_run, name="studio-save-and-run-new"),
    path("jobs/check", studio.check_expression, name="studio-check"),
    path("jobs/<int:job_id>", views.job_detail, name="job-detail"),
    path("jobs/<int:job_id>/edit", studio.job_edit, name="job-edit"),
    path("jobs/<int:job_id>/save-and-run", studio.save_and_run, name="studio-save-and-run"),
    path("jobs/<int:job_id>/enabled", views.job_set_enabled, name="job-set-enabled"),
    path("jobs/<int:job_id>/run", views.job_run, name="job-run"),
    path("jobs/<int:job_id>/versions/<int:number>", history_views.job_version, name="job-version"),
    path(
        "jobs/<int:job_id>/versions/<int:number>/restore",
        history_views.job_version_restore,
        name="job-version-restore",
    ),
    # private, public, console-off, console-on, archive, restore
    path("jobs/<int:job_id>/<slug:flag>", views.job_set_flag, name="job-set-flag"),
    path("studio/adaptors", studio_adaptors.adaptor_catalogue, name="studio-adaptors"),
    path("studio/adaptors/versions", studio_adaptors.adaptor_versions, name="studio-adaptor-versions"),
    path("studio/adaptors/docs", studio_adaptors.adaptor_docs_view, name="studio-adaptor-docs"),
    path("studio/adaptors/types", studio_adaptors.adaptor_types, name="studio-adaptor-types"),
    path("studio/adaptors/install", studio_adaptors.adaptor_install, name="studio-adaptor-install"),
    path(
        "studio/adaptors/installs/<int:install_id>",
        studio_adaptors.adaptor_install_status,
        name="studio-adaptor-install-status",
    ),
    path(
        "studio/triggers/<int:trigger_id>/messages", studio.trigger_messages, name="studio-trigger-messages"
    ),
    path("studio/messages/<int:message_id>/state", studio.message_state, name="studio-message-state"),
    path("studio/triggers/<int:trigger_id>/state", studio.trigger_state, name="studio-trigger-state"),
    path("triggers", views.trigger_list, name="trigger-list"),
    path("triggers/new", views.trigger_create, name="trigger-create"),
    path("triggers/cron-times", views.cron_preview, name="trigger-cron-times"),
    path("triggers/<int:trigger_id>", views.trigger_edit, name="trigger-edit"),
    path("triggers/<int:trigger_id>/delete", views.trigger_delete, name="trigger-delete"),
]
