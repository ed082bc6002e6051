from django.urls import path

from kindling.vcs import views

urlpatterns = [
    path("vcs/hooks/<uuid:token>", views.webhook, name="vcs-webhook"),
    path("account/github/connect", views.github_connect, name="github-connect"),
    path("account/github/callback", views.github_callback, name="github-callback"),
    path("account/github/disconnect", views.github_disconnect, name="github-disconnect"),
    path("projects/<slug:slug>/version-control", views.version_control, name="project-version-control"),
    path(
        "projects/<slug:slug>/version-control/unlink",
        views.version_control_unlink,
        name="project-version-control-unlink",
    ),
    path(
        "projects/<slug:slug>/version-control/secret",
        views.version_control_secret,
        name="project-version-control-secret",
    ),
    path(
        "projects/<slug:slug>/version-control/resend",
        views.version_control_resend,
        name="project-version-control-resend",
    ),
    path("projects/<slug:slug>/jobs/<int:job_id>/git/history", views.job_git_history, name="job-git-history"),
    path("projects/<slug:slug>/jobs/<int:job_id>/git/revert", views.job_git_revert, name="job-git-revert"),
]
