from django.urls import path

from kindling.credentials import views

# Each credential page twice: alone, and under a project (which keeps that project's menu).
CREDENTIAL_PAGES = [
    ("new", views.credential_new, "credential-new"),
    ("<int:pk>", views.credential_detail, "credential-detail"),
    ("<int:pk>/access", views.credential_access, "credential-access"),
    ("<int:pk>/transfer", views.credential_transfer, "credential-transfer"),
    ("<int:pk>/delete", views.credential_delete, "credential-delete"),
    ("<int:pk>/reveal", views.credential_reveal, "credential-reveal"),
]

urlpatterns = [
    path("credentials", views.my_credentials, name="my-credentials"),
    path("projects/<slug:slug>/credentials", views.project_credentials, name="project-credentials"),
    path("projects/<slug:slug>/my-credentials", views.my_credentials, name="project-my-credentials"),
]
for route, view, name in CREDENTIAL_PAGES:
    urlpatterns += [
        path(f"credentials/{route}", view, name=name),
        path(f"projects/<slug:slug>/credentials/{route}", view, name=f"project-{name}"),
    ]
