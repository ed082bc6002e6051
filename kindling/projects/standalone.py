"""The one project of a `kindling microservice` database: imported from its project.yaml on the first
start, its credentials' bodies read from the environment on every start."""

import json

from django.db import transaction

from kindling.accounts.models import User
from kindling.projects.microservice import credential_env_name
from kindling.projects.models import Project
from kindling.projects.portability import import_project, load, mapping

OWNER_EMAIL = "microservice@localhost"


class StandaloneError(ValueError):
    pass


def credential_bodies(text: str, environ) -> dict[str, dict]:
    """Each credential of the file with its body from its environment variable; StandaloneError names
    every variable that is missing or not a JSON object."""
    names = list(mapping(load(text).get("credentials"), "credentials"))
    bodies, problems = {}, []
    for name in names:
        variable = credential_env_name(name)
        raw = environ.get(variable)
        if raw is None:
            problems.append(f"{variable} is not set (the JSON body of credential {name!r})")
            continue
        try:
            body = json.loads(raw)
        except ValueError as exc:
            problems.append(f"{variable} is not valid JSON: {exc}")
            continue
        if not isinstance(body, dict):
            problems.append(f'{variable} must be a JSON object, like {{"username": "..."}}')
            continue
        bodies[name] = body
    if problems:
        raise StandaloneError("; ".join(problems))
    return bodies


def install(text: str, environ) -> tuple[Project, bool]:
    """The microservice's project, imported if the database has none yet; (project, imported)."""
    bodies = credential_bodies(text, environ)
    with transaction.atomic():
        project = Project.objects.order_by("id").first()
        imported = project is None
        if imported:
            owner = User.objects.filter(email=OWNER_EMAIL).first() or User.objects.create_user(OWNER_EMAIL)
            project = import_project(text, "Microservice", owner)
        for credential in project.credentials.all():
            if credential.name in bodies:
                credential.body = bodies[credential.name]
                credential.save()
    return project, imported
