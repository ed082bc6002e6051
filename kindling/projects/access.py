"""Who may do what in a project: one table, denying by default, for the portal, the REST API and the CLI.

Views and API endpoints fetch through `project_for`, which answers 404 to non-members so that
an outsider cannot even learn that a project exists. Instance staff marked as support (User.is_support)
reach a project whose administrators granted support access, with an administrator's permissions;
every request they make there is recorded in the audit log (kindling/audit/middleware.py).
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from kindling.projects.models import Membership, Project

SUPPORT = "support"
ADMINS = {Membership.Role.OWNER, Membership.Role.ADMIN, SUPPORT}
MEMBERS = ADMINS | {Membership.Role.COLLABORATOR}

# action -> roles allowed. Administrators manage settings, plan, access, inbox authentication and
# version control; collaborators work with jobs, triggers, credentials, runs, messages, reprocess, export.
PERMISSIONS: dict[str, set[str]] = {
    "view": MEMBERS,
    "edit_job": MEMBERS,
    "post_message": MEMBERS,
    "reprocess": MEMBERS,
    "export": MEMBERS,
    "abort_run": ADMINS,
    "manage_access": ADMINS,
    "edit_settings": ADMINS,
    "manage_plan": ADMINS,
    "manage_inbox_auth": ADMINS,
    "manage_vcs": ADMINS,
    "view_audit": ADMINS,
}


def role_of(user, project: Project) -> str | None:
    if not user or not user.is_authenticated:
        return None
    # Remembered on the project object, which lives for one request: the page's menu asks again what the
    # view's project_for already asked, and must not cost a query per page.
    known = project.__dict__.setdefault("_roles", {})
    if user.pk not in known:
        membership = Membership.objects.filter(project=project, user=user).only("role").first()
        if membership is not None:
            known[user.pk] = membership.role
        elif getattr(user, "is_support", False) and project.support_access:
            known[user.pk] = SUPPORT
        else:
            known[user.pk] = None
    return known[user.pk]


def forget_roles(project: Project) -> None:
    """After a change of membership: the next question about `project` reads the database again."""
    project.__dict__.pop("_roles", None)


def can(user, action: str, project: Project) -> bool:
    role = role_of(user, project)
    return role is not None and role in PERMISSIONS.get(action, set())


def require(user, action: str, project: Project) -> None:
    """Raise PermissionDenied (403) unless `user` may do `action` in `project`."""
    role = role_of(user, project)
    if role is None or role not in PERMISSIONS.get(action, set()):
        raise PermissionDenied(f"Your role in this project does not allow: {action.replace('_', ' ')}")
    if role == SUPPORT:
        # Marked on the request's user object: the audit middleware records this request in the project's
        # log once it is answered (kindling/audit/middleware.py), whatever the URL looks like.
        user.support_project = project


def projects_of(user):
    if not user or not user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(memberships__user=user)


def supported_projects(user):
    """The projects a support user may open because their administrators granted support access."""
    if not getattr(user, "is_support", False) or not user.is_active:
        return Project.objects.none()
    return Project.objects.filter(support_access=True).exclude(memberships__user=user)


def reachable_projects(user):
    """The projects `user` may open at all: theirs, and for support staff those granting support access.
    For lookups by an object's id (`/jobs/{id}`, a credential shared with a project)."""
    if not getattr(user, "is_support", False) or not user.is_active:
        return projects_of(user)
    mine = Membership.objects.filter(user=user).values("project_id")
    return Project.objects.filter(Q(pk__in=mine) | Q(support_access=True))


def project_for(user, slug: str, action: str = "view") -> Project:
    project = reachable_projects(user).filter(slug=slug).first()
    if project is None:
        raise Http404("No such project")
    require(user, action, project)
    return project
