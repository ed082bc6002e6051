"""Portal pages: Credentials (the project's), My Credentials (the user's own), a credential's page.

Every page exists with and without a project in its path: under /projects/<slug>/ it keeps that
project's menu, and a credential created there is shared with that project.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kindling.credentials import schemas
from kindling.credentials.access import credential_for
from kindling.credentials.editing import create_credential, delete_credential, update_credential
from kindling.credentials.forms import CredentialForm, TransferForm
from kindling.credentials.models import Credential
from kindling.credentials.reveal import reveal_body
from kindling.credentials.sharing import CredentialError, set_projects, shareable_projects
from kindling.credentials.transfer import transfer
from kindling.projects.access import project_for


def url_for(name: str, project, *args) -> str:
    if project is not None:
        return reverse(f"project-{name}", args=[project.slug, *args])
    return reverse(name, args=args)


def list_url(project, own: bool = True) -> str:
    if project is None:
        return reverse("my-credentials")
    return reverse("project-my-credentials" if own else "project-credentials", args=[project.slug])


def card(credential: Credential, user, project) -> dict:
    credential_type = schemas.type_of(credential)
    return {
        "credential": credential,
        "type": credential_type,
        "is_owner": credential.is_owned_by(user),
        "fields_set": [
            credential_type.title_of(k) for k in schemas.fields_set(credential.readable_body() or {})
        ],
        "url": url_for("credential-detail", project, credential.pk),
    }


def render_list(request, project, credentials, *, title: str, own: bool):
    query = request.GET.get("q", "").strip()
    if query:
        credentials = credentials.filter(name__icontains=query)
    credentials = credentials.select_related("owner").prefetch_related("projects").order_by("name", "id")
    context = {
        "project": project,
        "title": title,
        "own": own,
        "query": query,
        "cards": [card(c, request.user, project) for c in credentials],
        "types": schemas.available_types(),
        "new_url": url_for("credential-new", project),
        "list_url": list_url(project, own),
    }
    return render(request, "credentials/list.html", context)


@login_required
def project_credentials(request, slug):
    project = project_for(request.user, slug)
    return render_list(
        request, project, Credential.objects.shared_with(project), title="Credentials", own=False
    )


@login_required
def my_credentials(request, slug=None):
    project = project_for(request.user, slug) if slug else None
    mine = Credential.objects.live().filter(owner=request.user)
    return render_list(request, project, mine, title="My Credentials", own=True)


@login_required
def credential_new(request, slug=None):
    project = project_for(request.user, slug) if slug else None
    type_key = request.POST.get("type") or request.GET.get("type") or ""
    credential_type = schemas.type_for(type_key, strict=True) if type_key else None
    if credential_type is None:
        context = {
            "project": project,
            "types": schemas.available_types(),
            "unknown_type": type_key,
            "new_url": url_for("credential-new", project),
            "list_url": list_url(project),
        }
        return render(request, "credentials/choose_type.html", context, status=400 if type_key else 200)
    form = CredentialForm(request.POST or None, credential_type=credential_type)
    if request.method == "POST" and form.is_valid():
        try:
            credential = create_credential(
                request.user,
                form.cleaned_data["name"],
                credential_type.key,
                form.body,
                projects=[project] if project else [],
            )
        except (CredentialError, schemas.InvalidBody) as exc:
            form.add_error(None, str(exc))
        else:
            shared = f" and shared it with {project.name}" if project else ""
            messages.success(request, f"Created the credential {credential.name}{shared}.")
            return redirect(url_for("credential-detail", project, credential.pk))
    context = {"project": project, "form": form, "type": credential_type, "list_url": list_url(project)}
    return render(request, "credentials/new.html", context, status=400 if form.errors else 200)


def detail_context(request, credential, project, **extra) -> dict:
    credential_type = schemas.type_of(credential)
    is_owner = credential.is_owned_by(request.user)
    stored = credential.readable_body()
    context = {
        "project": project,
        "credential": credential,
        "type": credential_type,
        "is_owner": is_owner,
        "fields_set": [credential_type.title_of(k) for k in schemas.fields_set(stored or {})],
        "unreadable": stored is None,
        "list_url": list_url(project, own=project is None),
        "urls": {
            name: url_for(f"credential-{name}", project, credential.pk)
            for name in ("detail", "access", "transfer", "delete", "reveal")
        },
    }
    if is_owner:
        shared = set(credential.projects.values_list("pk", flat=True))
        context["access"] = [(p, p.pk in shared) for p in shareable_projects(credential)]
        context.setdefault(
            "form",
            CredentialForm(credential_type=credential_type, stored=stored, name=credential.name),
        )
        context.setdefault("transfer_form", TransferForm())
    else:
        context["shared_here"] = credential.projects.filter(memberships__user=request.user).order_by("name")
    context.update(extra)
    return context


@login_required
def credential_detail(request, pk, slug=None):
    project = project_for(request.user, slug) if slug else None
    credential = credential_for(request.user, pk, "edit" if request.method == "POST" else "view")
    if request.method == "POST":
        form = CredentialForm(
            request.POST,
            credential_type=schemas.type_of(credential),
            stored=credential.readable_body(),
            name=credential.name,
        )
        if form.is_valid():
            try:
                update_credential(credential, request.user, name=form.cleaned_data["name"], body=form.body)
            except (CredentialError, schemas.InvalidBody) as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Saved the credential {credential.name}.")
                return redirect(url_for("credential-detail", project, credential.pk))
        return render(
            request,
            "credentials/detail.html",
            detail_context(request, credential, project, form=form),
            status=400,
        )
    return render(request, "credentials/detail.html", detail_context(request, credential, project))


@login_required
@require_POST
@never_cache
def credential_reveal(request, pk, slug=None):
    """The owner's Raw JSON values in clear, once they typed their password again."""
    project = project_for(request.user, slug) if slug else None
    credential = credential_for(request.user, pk, "reveal")
    credential_type = schemas.type_of(credential)
    try:
        if not credential_type.is_raw:
            # A typed credential's form shows every field its schema does not mark secret.
            raise CredentialError("Only a Raw JSON credential's values can be revealed.")
        body = reveal_body(credential, request.user, request.POST.get("password", ""))
    except CredentialError as exc:
        context = detail_context(request, credential, project, reveal_error=str(exc))
        return render(request, "credentials/detail.html", context, status=400)
    form = CredentialForm(credential_type=credential_type, stored=body, name=credential.name, revealed=True)
    context = detail_context(request, credential, project, form=form, revealed=True)
    return render(request, "credentials/detail.html", context)


@login_required
@require_POST
def credential_access(request, pk, slug=None):
    project = project_for(request.user, slug) if slug else None
    credential = credential_for(request.user, pk, "share")
    choices = {str(p.pk): p for p in shareable_projects(credential)}
    wanted = [choices[value] for value in request.POST.getlist("projects") if value in choices]
    try:
        set_projects(credential, request.user, wanted)
    except CredentialError as exc:
        messages.error(request, str(exc))
    else:
        names = ", ".join(p.name for p in wanted) or "no project"
        messages.success(request, f"{credential.name} is now shared with {names}.")
    return redirect(url_for("credential-detail", project, credential.pk))


@login_required
@require_POST
def credential_transfer(request, pk, slug=None):
    project = project_for(request.user, slug) if slug else None
    credential = credential_for(request.user, pk, "transfer")
    form = TransferForm(request.POST)
    if form.is_valid():
        try:
            recipient = transfer(
                credential, request.user, form.cleaned_data["email"], form.cleaned_data["user_number"]
            )
        except (CredentialError, schemas.InvalidBody) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{credential.name} now belongs to {recipient.email}.")
            return redirect(list_url(project))
    context = detail_context(request, credential, project, transfer_form=form)
    return render(request, "credentials/detail.html", context, status=400)


@login_required
@require_POST
def credential_delete(request, pk, slug=None):
    project = project_for(request.user, slug) if slug else None
    credential = credential_for(request.user, pk, "delete")
    delete_credential(credential, request.user)
    messages.success(request, f"Deleted the credential {credential.name}.")
    return redirect(list_url(project))
