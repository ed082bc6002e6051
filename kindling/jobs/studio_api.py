"""REST API of Job Studio's helpers: the compiler's check of an expression, the adaptor picker
(installed adaptors, an adaptor's versions, installing another version) and the cron preview of the
trigger form. Each calls what the portal's endpoint calls (kindling/jobs/studio.py,
studio_adaptors.py, views.py)."""

from datetime import datetime
from typing import Literal

from django.conf import settings
from django.http import Http404
from ninja import Query, Router, Schema, Status
from pydantic import Field

from kindling.engine.adaptors import AdaptorUnavailable, published_versions
from kindling.engine.compile import CompileError, CompilerUnavailable, compile_expression
from kindling.jobs import adaptor_docs, adaptor_installs
from kindling.jobs.models import AdaptorInstall
from kindling.jobs.studio import compile_reason
from kindling.jobs.views import CRON_PREVIEW, next_fire_times
from kindling.openapi import BodyIn, Id, errors, links, operation_id
from kindling.projects.access import project_for

router = Router(tags=["job studio"])


class ExpressionIn(BodyIn):
    expression: str


class OperationOut(Schema):
    name: str
    line: int
    order: int


class CheckOut(Schema):
    ok: bool = Field(description="The expression compiles")
    operations: list[OperationOut] = Field(description="Its top-level operations (empty when not ok)")
    error: str | None = Field(description="What is wrong, when not ok")
    line: int | None
    column: int | None


class AdaptorOut(Schema):
    name: str
    recommended: bool
    versions: list[str] = Field(description="The installed versions, newest first")


class CatalogueOut(Schema):
    adaptors: list[AdaptorOut]


class VersionsOut(Schema):
    adaptor: str
    installed: list[str]
    published: list[str] | None = Field(description="Released versions, newest first; null if npm cannot say")
    published_error: str | None = Field(description="Why npm could not list them")


class ParamOut(Schema):
    name: str
    type: str
    optional: bool
    description: str


class ExampleOut(Schema):
    caption: str
    code: str
    snippet: str


class OperationDocOut(Schema):
    name: str
    origin: str = Field(description="The adaptor it comes from (language-common's are shared)")
    description: str
    params: list[ParamOut]
    returns: str
    examples: list[ExampleOut]


class AdaptorDocsOut(Schema):
    adaptor: str
    version: str = Field(description="The installed version documented")
    operations: list[OperationDocOut]


class InstallIn(BodyIn):
    adaptor: str = Field(
        min_length=1,
        max_length=200,
        description="The package, like @openfn/language-http (the shorthand http stands for it)",
    )
    version: str = Field("latest", max_length=50, description="An exact version (7.2.10) or latest")


class InstallNoteOut(Schema):
    time: datetime
    level: str
    message: str


class InstallOut(Schema):
    id: int
    adaptor: str
    version: str = Field(description="As asked: an exact version or latest")
    installed_version: str = Field(description="The exact version installed, once done")
    # Literal, not the TextChoices: the document names an enum by its class, and Status is a run's.
    status: Literal[tuple(AdaptorInstall.Status.values)]
    notes: list[InstallNoteOut] = Field(description="Its progress, in order")
    error: str = Field(description="Why it failed")
    details: list[str] = Field(description="npm's reasons, when it failed")


INSTALL_LINKS = links(
    202,
    get=(operation_id(__name__, "get_adaptor_install"), {"install_id": "$response.body#/id"}),
)


class CronTimesOut(Schema):
    cron: str
    timezone: str = Field(description="The project's time zone, which its cron triggers fire by")
    fire_times: list[datetime] = Field(max_length=CRON_PREVIEW)


@router.post(
    "/projects/{slug}/jobs/check",
    response={200: CheckOut, **errors(503)},
    summary="Check that an expression compiles, as Job Studio does before saving: its operations, or "
    "what is wrong and where (line, column)",
)
def check_expression(request, slug: str, payload: ExpressionIn):
    project_for(request.user, slug, "edit_job")
    try:
        compiled = compile_expression(payload.expression)
    except CompileError as exc:
        reason = compile_reason(exc)
        return Status(
            200, {"ok": False, "operations": [], "error": reason, "line": exc.line, "column": exc.column}
        )
    except CompilerUnavailable as exc:
        return Status(503, {"error": f"The syntax check is not available right now: {exc}"})
    return Status(
        200, {"ok": True, "operations": compiled.operations, "error": None, "line": None, "column": None}
    )


@router.get(
    "/adaptors",
    response=CatalogueOut,
    summary="The adaptor picker: recommended adaptors, then any other installed one, with their installed "
    "versions",
)
def list_adaptors(request):
    return adaptor_docs.catalogue(settings.ADAPTOR_REPO_DIR)


@router.get(
    "/adaptors/versions",
    response={200: VersionsOut, **errors(400)},
    summary="An adaptor's installed versions and its releases on npm (any of which a job may name)",
)
def adaptor_versions(
    request,
    adaptor: str = Query(
        ..., min_length=1, max_length=200, description="The package, like @openfn/language-http"
    ),
):
    name = adaptor.strip()
    installed = adaptor_docs.installed_versions(settings.ADAPTOR_REPO_DIR).get(name, [])
    try:
        published, problem = published_versions(name), None
    except AdaptorUnavailable as exc:
        if not exc.details:  # not an adaptor's name at all
            return Status(400, {"error": f"adaptor: {exc}"})
        published, problem = None, " ".join([str(exc), *exc.details])
    return Status(
        200, {"adaptor": name, "installed": installed, "published": published, "published_error": problem}
    )


@router.get(
    "/adaptors/docs",
    response={200: AdaptorDocsOut, **errors(400)},
    summary="Every public operation of an installed adaptor version (Job Studio's documentation panel); "
    "400 when that version is not installed",
)
def adaptor_operations(
    request,
    adaptor: str = Query(..., min_length=1, max_length=200),
    version: str = Query("latest", max_length=50, description="An installed version, or latest"),
):
    try:
        name = adaptor.strip()
        exact = adaptor_docs.resolve_installed(settings.ADAPTOR_REPO_DIR, name, version.strip())
        operations = adaptor_docs.operations(settings.ADAPTOR_REPO_DIR, name, exact)
    except adaptor_docs.NotInstalled as exc:
        return Status(400, {"error": str(exc)})
    return Status(200, {"adaptor": name, "version": exact, "operations": operations})


@router.post(
    "/projects/{slug}/adaptors/installs",
    response={202: InstallOut, **errors(400, 429)},
    summary="Install an adaptor version from npm in the background, as Job Studio's install button "
    "does: poll the install it answers. An install of the same version still going is answered "
    "instead of a new one; 429 while four others are going",
    openapi_extra=INSTALL_LINKS,
)
def install_adaptor(request, slug: str, payload: InstallIn):
    project_for(request.user, slug, "edit_job")
    try:
        install = adaptor_installs.start_install(
            payload.adaptor, payload.version, settings.ADAPTOR_REPO_DIR, request.user
        )
    except adaptor_installs.InstallRefused as exc:
        return Status(400, {"error": f"adaptor: {exc}"})
    except adaptor_installs.InstallBusy as exc:
        return Status(429, {"error": str(exc)})
    return Status(202, adaptor_installs.describe(install))


@router.get(
    "/projects/{slug}/adaptors/installs/{install_id}",
    response=InstallOut,
    summary="An adaptor install: running, done (with the exact version installed) or failed (with "
    "npm's reasons)",
)
def get_adaptor_install(request, slug: str, install_id: Id):
    project_for(request.user, slug)
    install = AdaptorInstall.objects.filter(pk=install_id).first()
    if install is None:
        raise Http404(f"There is no adaptor install {install_id}.")
    return adaptor_installs.describe(install)


@router.get(
    "/projects/{slug}/cron-times",
    response={200: CronTimesOut, **errors(400)},
    summary="The next five times a cron expression fires, in the project's time zone (the trigger "
    "form's preview)",
)
def cron_times(request, slug: str, cron: str = Query(..., min_length=1, max_length=100)):
    project = project_for(request.user, slug)
    times, error = next_fire_times(project, cron)
    if error:
        return Status(400, {"error": f"cron: {error}"})
    return Status(200, {"cron": cron, "timezone": project.timezone, "fire_times": times})
