from django.urls import path

from kindling.projects import security, settings_pages, views

urlpatterns = [
    path("", views.project_list, name="project-list"),
    path("projects/new", views.project_new, name="project-new"),
    path("projects/<slug:slug>/", views.project_dashboard, name="project-dashboard"),
    path("projects/<slug:slug>/settings", settings_pages.project_settings, name="project-settings"),
    path("projects/<slug:slug>/settings/export", settings_pages.project_export, name="project-export"),
    path("join", views.join, name="join"),
    path("projects/<slug:slug>/access", security.access, name="project-access"),
    path("projects/<slug:slug>/access/members", security.member_add, name="project-access-member-add"),
    path(
        "projects/<slug:slug>/access/members/<int:user_id>/role",
        security.member_role,
        name="project-access-member-role",
    ),
    path(
        "projects/<slug:slug>/access/members/<int:user_id>/revoke",
        security.member_revoke,
        name="project-access-member-revoke",
    ),
    path("projects/<slug:slug>/access/support", security.support, name="project-access-support"),
    path(
        "projects/<slug:slug>/access/inbox-auth",
        security.inbox_auth_add,
        name="project-access-inbox-auth-add",
    ),
    path(
        "projects/<slug:slug>/access/inbox-auth/<int:method_id>/revoke",
        security.inbox_auth_revoke,
        name="project-access-inbox-auth-revoke",
    ),
]
