"""Job Studio's adaptor endpoints: the picker's catalogue, an installed version's documentation and
type definitions, and installing another version from npm in the background.

They are under a project (`/projects/<slug>/studio/...`) like the rest of the studio: only members
reach them, although what they serve is the same for every project of this Kindling.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from kindling.engine.adaptors import AdaptorUnavailable, published_versions
from kindling.jobs import adaptor_docs, adaptor_installs
from kindling.jobs.models import AdaptorInstall
from kindling.jobs.studio import json_error, read_json, studio_endpoint


def _installed_spec(request) -> tuple[str, str]:
    """(name, exact installed version) from ?adaptor=&version=; raises NotInstalled saying why."""
    name = request.GET.get("adaptor", "").strip()
    if not name:
        raise adaptor_docs.NotInstalled("Say which adaptor: ?adaptor=@openfn/language-http&version=7.2.10")
    version = request.GET.get("version", "").strip()
    return name, adaptor_docs.resolve_installed(settings.ADAPTOR_REPO_DIR, name, version)


@login_required
@require_GET
@studio_endpoint()
def adaptor_catalogue(request, _project):
    return JsonResponse(adaptor_docs.catalogue(settings.ADAPTOR_REPO_DIR))


@login_required
@require_GET
@studio_endpoint()
def adaptor_versions(request, _project):
    """The versions the picker offers for ?adaptor=NAME: installed ones, and the releases on npm
    (any of which the job's first run, or the install button, installs). 502 when npm cannot say."""
    name = request.GET.get("adaptor", "").strip()
    if not name:
        return json_error("Say which adaptor: ?adaptor=@openfn/language-http", 400)
    installed = adaptor_docs.installed_versions(settings.ADAPTOR_REPO_DIR).get(name, [])
    try:
        published = published_versions(name)
    except AdaptorUnavailable as exc:
        status = 400 if not exc.details else 502
        return json_error(" ".join([str(exc), *exc.details]), status, adaptor=name, installed=installed)
    return JsonResponse({"adaptor": name, "installed": installed, "published": published})


@login_required
@require_GET
@studio_endpoint()
def adaptor_docs_view(request, _project):
    """Every public operation of an installed version, from its ast.json."""
    try:
        name, version = _installed_spec(request)
        operations = adaptor_docs.operations(settings.ADAPTOR_REPO_DIR, name, version)
    except adaptor_docs.NotInstalled as exc:
        return json_error(str(exc), 404)
    return JsonResponse({"adaptor": name, "version": version, "operations": operations})


@login_required
@require_GET
@studio_endpoint()
def adaptor_types(request, _project):
    """The version's .d.ts files (and language-common's) for the editor's JavaScript service."""
    try:
        name, version = _installed_spec(request)
        libraries = adaptor_docs.type_libraries(settings.ADAPTOR_REPO_DIR, name, version)
    except adaptor_docs.NotInstalled as exc:
        return json_error(str(exc), 404)
    response = JsonResponse(libraries)
    if request.GET.get("version", "").strip() == version:
        # An installed version never changes: the browser may keep what it fetched ("latest" may move).
        response["Cache-Control"] = "private, max-age=3600"
    return response


def _described(install: AdaptorInstall, project) -> dict:
    return {
        **adaptor_installs.describe(install),
        "url": reverse("studio-adaptor-install-status", args=[project.slug, install.pk]),
    }


@login_required
@require_POST
@studio_endpoint("edit_job")
def adaptor_install(request, project):
    """Start installing {"adaptor", "version"} from npm; 202 with the install to poll."""
    try:
        body = read_json(request)
    except ValueError as exc:
        return json_error(f'{exc} Send {{"adaptor": "@openfn/language-http", "version": "7.2.10"}}.', 400)
    name, version = body.get("adaptor"), body.get("version")
    if not isinstance(name, str) or not isinstance(version, str | None):
        return json_error('Send {"adaptor": "@openfn/language-http", "version": "7.2.10"} as text.', 400)
    try:
        install = adaptor_installs.start_install(name, version or "", settings.ADAPTOR_REPO_DIR, request.user)
    except adaptor_installs.InstallRefused as exc:
        return json_error(str(exc), 400, field="adaptor")
    except adaptor_installs.InstallBusy as exc:
        return json_error(str(exc), 429)
    return JsonResponse(_described(install, project), status=202)


@login_required
@require_GET
@studio_endpoint()
def adaptor_install_status(request, project, install_id):
    install = AdaptorInstall.objects.filter(pk=install_id).first()
    if install is None:
        return json_error(f"There is no adaptor install {install_id}.", 404)
    return JsonResponse(_described(install, project))
