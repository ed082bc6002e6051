"""Who may do what in a project: one table, denying by default.

Views and API endpoints fetch through `project_for`, which answers 404 to non-members so that
an outsider cannot even learn that a project exists.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from kindling.projects.models import Membership, Project

# action -> roles allowed
PERMISSIONS: dict[str, set[str]] = {
    "view": {"owner", "admin", "collaborator"},
    "edit_job": {"owner", "admin", "collaborator"},
    "post_message": {"owner", "admin", "collaborator"},
    "reprocess": {"owner", "admin", "collaborator"},
    "abort_run": {"owner", "admin"},
    "manage_access": {"owner", "admin"},
    "edit_settings": {"owner", "admin"},
}


def role_of(user, project: Project) -> str | None:
    if not user or not user.is_authenticated:
        return None
    membership = Membership.objects.filter(project=project, user=user).only("role").first()
    return membership.role if membership else None


def can(user, action: str, project: Project) -> bool:
    role = role_of(user, project)
    return role is not None and role in PERMISSIONS.get(action, set())


def projects_of(user):
    if not user or not user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(memberships__user=user)


def project_for(user, slug: str, action: str = "view") -> Project:
    project = projects_of(user).filter(slug=slug).first()
    if project is None:
        raise Http404("No such project")
    if not can(user, action, project):
        raise PermissionDenied(f"Your role in this project does not allow: {action.replace('_', ' ')}")
    return project
