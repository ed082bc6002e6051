"""The Access & Security page: User Access (add, change role, revoke, support access) and Inbox Security
(the inbox's authentication methods). Administrators only; the page and each action check it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from kindling.inbox.auth_methods import AuthMethodError, add_method, methods_of, revoke_method
from kindling.projects.access import project_for
from kindling.projects.members import (
    ROLES,
    AccessError,
    add_member,
    change_role,
    is_invited,
    members_of,
    remove_member,
    set_support_access,
)


def page(request, project, status: int = 200, **extra):
    members = [
        {
            "membership": m,
            "role": m.role_label,
            "invited": is_invited(m.user),
            "is_me": m.user_id == request.user.pk,
            "dialog_id": f"revoke-{m.user_id}",
        }
        for m in members_of(project)
    ]
    methods = list(methods_of(project))
    for method in methods:
        method.dialog_id = f"revoke-method-{method.pk}"
    context = {
        "project": project,
        "members": members,
        "roles": list(ROLES),
        "methods": methods,
        "form": {},
        "method_form": {},
        **extra,
    }
    return render(request, "projects/access.html", context, status=status)


def back(project):
    return redirect(reverse("project-access", args=[project.slug]))


@login_required
def access(request, slug):
    return page(request, project_for(request.user, slug, "manage_access"))


@login_required
@require_POST
def member_add(request, slug):
    project = project_for(request.user, slug, "manage_access")
    email, role = request.POST.get("email", ""), request.POST.get("role", "collaborator")
    try:
        membership = add_member(project, request.user, email, role)
    except AccessError as exc:
        return page(request, project, 400, form={"email": email, "role": role, "error": str(exc)})
    user = membership.user
    if membership.invitation_error:
        messages.warning(request, membership.invitation_error)
    elif is_invited(user):
        messages.success(
            request,
            f"Invited {user.email} as {membership.role_label}: an email with a link to join is on its way.",
        )
    else:
        messages.success(request, f"Added {user.email} as {membership.role_label}.")
    return back(project)


def noted(request, change, done) -> bool:
    """Run `change()`; its AccessError or `done(result)` becomes the note on the next page."""
    try:
        result = change()
    except AccessError as exc:
        messages.error(request, str(exc))
        return False
    messages.success(request, done(result))
    return True


@login_required
@require_POST
def member_role(request, slug, user_id):
    project = project_for(request.user, slug, "manage_access")
    noted(
        request,
        lambda: change_role(project, request.user, user_id, request.POST.get("role", "")),
        lambda membership: f"{membership.user.email} is now {membership.role_label}.",
    )
    return back(project)


@login_required
@require_POST
def member_revoke(request, slug, user_id):
    project = project_for(request.user, slug, "manage_access")
    revoked = noted(
        request, lambda: remove_member(project, request.user, user_id), lambda _: "Access revoked."
    )
    if revoked and user_id == request.user.pk:
        return redirect(reverse("project-list"))
    return back(project)


@login_required
@require_POST
def support(request, slug):
    project = project_for(request.user, slug, "manage_access")
    on = request.POST.get("support_access") == "on"
    set_support_access(project, request.user, on)
    messages.success(request, "Support access granted." if on else "Support access revoked.")
    return back(project)


@login_required
@require_POST
def inbox_auth_add(request, slug):
    project = project_for(request.user, slug, "manage_inbox_auth")
    fields = {name: request.POST.get(name, "") for name in ("type", "name", "username")}
    try:
        added = add_method(
            project,
            request.user,
            fields["type"],
            fields["name"],
            fields["username"],
            request.POST.get("password", ""),
        )
    except AuthMethodError as exc:
        return page(request, project, 400, method_form={**fields, "error": str(exc)})
    # Rendered, not redirected: a generated key or secret is shown this once and never stored in clear
    # (nor kept in the browser's cache).
    response = page(request, project, 201 if added.secret else 200, added=added)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def inbox_auth_revoke(request, slug, method_id):
    project = project_for(request.user, slug, "manage_inbox_auth")
    method = revoke_method(project, request.user, method_id)
    messages.success(
        request, f"Revoked the inbox auth method {method.name}: senders using it are refused now."
    )
    return back(project)
