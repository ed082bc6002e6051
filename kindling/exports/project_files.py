"""The Project Settings exports: `project.yaml` and `microservice.zip`."""

import json
import zipfile

from django.template.loader import render_to_string

from kindling.exports.registry import register
from kindling.projects.microservice import DEFAULT_PORT, credential_env_name
from kindling.projects.portability import export_project, load

ZIP_TEMPLATES = ("README.md", "Dockerfile", "docker-compose.yaml")


def write_project_yaml(export, path) -> None:
    path.write_text(export_project(export.project))


def write_microservice_zip(export, path) -> None:
    """project.yaml and what runs it on its own: `kindling microservice project.yaml`, in Docker or not."""
    project = export.project
    text = export_project(project)
    # The credentials as the file names them (names made unique by the export), with their fields.
    credentials = [
        {
            "name": name,
            "variable": credential_env_name(name),
            "fields": list(body or {}),
            "example": json.dumps({field: "..." for field in body or {}}),
        }
        for name, body in (load(text).get("credentials") or {}).items()
    ]
    context = {"project": project, "credentials": credentials, "port": DEFAULT_PORT}
    folder = f"{project.slug}-microservice"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{folder}/project.yaml", text)
        for name in ZIP_TEMPLATES:
            archive.writestr(f"{folder}/{name}", render_to_string(f"exports/microservice/{name}", context))


register(
    "project.yaml",
    label="project.yaml",
    filename=lambda export: f"{export.project.slug}-project.yaml",
    content_type="application/yaml",
    build=write_project_yaml,
)
register(
    "microservice.zip",
    label="microservice.zip",
    filename=lambda export: f"{export.project.slug}-microservice.zip",
    content_type="application/zip",
    build=write_microservice_zip,
)
