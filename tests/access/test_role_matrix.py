"""The one role matrix (kindling/projects/access.py), walked over every portal URL that names a project
and every REST API operation addressed by a project or an object of one, for every role: the owner,
an administrator, a collaborator, support staff with support access granted, an outsider and an
anonymous visitor.

The walk reads the URL conf and the API's routes, so pages merged later are covered without editing
this file. What each role may do comes from PERMISSIONS; ADMIN_PAGES and ADMIN_OPERATIONS name the
action of the pages that are not for every member, and a page that refuses a collaborator must be
listed there (a new administrators' page fails this test until it is).
"""

import json
import re

import pytest
from django.urls import URLResolver, get_resolver, reverse

from kindling.api import api
from kindling.audit.models import AuditEvent
from kindling.collections.store import create_collection, upsert
from kindling.exports.models import Export
from kindling.inbox.auth_methods import add_method
from kindling.inbox.models import Message
from kindling.jobs.models import AdaptorInstall
from kindling.jobs.versions import record_version
from kindling.projects.access import PERMISSIONS
from kindling.projects.members import set_support_access
from kindling.projects.models import Membership
from tests.conftest import make_credential, make_job, make_plan, make_trigger, make_user, post_message
from tests.portal.conftest import make_run

# URL name (portal) -> the action it needs, for pages that are not for every member.
ADMIN_PAGES = {
    "project-access": "manage_access",
    "project-access-member-add": "manage_access",
    "project-access-member-role": "manage_access",
    "project-access-member-revoke": "manage_access",
    "project-access-support": "manage_access",
    "project-access-inbox-auth-add": "manage_inbox_auth",
    "project-access-inbox-auth-revoke": "manage_inbox_auth",
    "project-audit": "view_audit",
    "plan-change": "manage_plan",
    "run-abort": "abort_run",
    "project-retention": "edit_settings",
    "project-version-control": "manage_vcs",
    "project-version-control-unlink": "manage_vcs",
    "project-version-control-secret": "manage_vcs",
    "project-version-control-resend": "manage_vcs",
    "project-library": "edit_settings",
}
# (method, API path) -> the action it needs, for operations that are not for every member.
ADMIN_OPERATIONS = {
    ("GET", "/projects/{slug}/members"): "manage_access",
    ("POST", "/projects/{slug}/members"): "manage_access",
    ("PATCH", "/projects/{slug}/members/{user_id}"): "manage_access",
    ("DELETE", "/projects/{slug}/members/{user_id}"): "manage_access",
    ("GET", "/projects/{slug}/inbox-auth"): "manage_inbox_auth",
    ("POST", "/projects/{slug}/inbox-auth"): "manage_inbox_auth",
    ("DELETE", "/projects/{slug}/inbox-auth/{method_id}"): "manage_inbox_auth",
    ("GET", "/projects/{slug}/audit"): "view_audit",
    ("PATCH", "/projects/{slug}"): "edit_settings",
    ("PUT", "/projects/{slug}/retention"): "edit_settings",
    ("GET", "/projects/{slug}/version-control"): "manage_vcs",
    ("PUT", "/projects/{slug}/version-control"): "manage_vcs",
    ("DELETE", "/projects/{slug}/version-control"): "manage_vcs",
    ("POST", "/projects/{slug}/version-control/resend"): "manage_vcs",
    ("POST", "/projects/{slug}/version-control/secret"): "manage_vcs",
    ("PUT", "/projects/{slug}/library"): "edit_settings",
    ("PUT", "/projects/{slug}/support-access"): "manage_access",
}
# Owner-only operations of a credential (tests/credentials/test_access_matrix.py covers them in full).
CREDENTIAL_OWNER_OPERATIONS = {
    ("PATCH", "/credentials/{credential_id}"),
    ("DELETE", "/credentials/{credential_id}"),
    ("PUT", "/credentials/{credential_id}/projects"),
    ("POST", "/credentials/{credential_id}/transfer"),
    ("POST", "/credentials/{credential_id}/reveal"),
}
# Operations addressed by an id that is not of a project: the Job Library's jobs (any user reads them,
# tests/library) and your own API tokens (tests/api/test_api_account.py).
NOT_OF_A_PROJECT = {("GET", "/library/{job_id}"), ("DELETE", "/account/tokens/{token_id}")}
# Valid bodies, so that a refusal is the role's and not the body's.
BODIES = {
    ("POST", "/projects/{slug}/members"): {"email": "eve@example.org", "role": "administrator"},
    ("PATCH", "/projects/{slug}/members/{user_id}"): {"role": "administrator"},
    ("POST", "/projects/{slug}/inbox-auth"): {"type": "api_key", "name": "mine"},
    ("PATCH", "/credentials/{credential_id}"): {"name": "renamed"},
    ("PUT", "/credentials/{credential_id}/projects"): {"projects": []},
    ("POST", "/credentials/{credential_id}/transfer"): {"email": "bob@example.com", "user_number": 1},
    ("PATCH", "/projects/{slug}"): {"description": "changed"},
    ("PUT", "/projects/{slug}/plan"): {"plan": "Scale"},
    ("PUT", "/projects/{slug}/retention"): {"days": 30},
    ("PUT", "/projects/{slug}/version-control"): {"repository": "owner/name", "branch": "main"},
    ("POST", "/projects/{slug}/version-control/resend"): {"commit": "abc1234"},
    ("PUT", "/projects/{slug}/library"): {"contribute": True},
    ("POST", "/jobs/{job_id}/revert"): {"version": 1},
    ("PUT", "/projects/{slug}/support-access"): {"enabled": True},
    ("POST", "/projects/{slug}/messages"): {"body": {"posted": "by the matrix"}},
    ("POST", "/credentials/{credential_id}/reveal"): {"password": "not the password"},
}
ROLES = {"alice": "owner", "dana": "admin", "bob": "collaborator", "sam": "support"}
PERSONAS = [*ROLES, "charlie", "anonymous"]
PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")
PATH_PARAMETER = re.compile(r"{(\w+)}")


def portal_routes():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern.name

    return [
        (route, name)
        for route, name in walk(get_resolver().url_patterns)
        if not route.startswith("api/") and "slug" in PARAMETER.findall(route)
    ]


def api_operations():
    found = []
    for prefix, router in api._routers:
        for path, view in router.path_operations.items():
            full = (prefix.rstrip("/") + "/" + path.lstrip("/")) if prefix else path
            if PATH_PARAMETER.search(full):
                found += [
                    (method, full)
                    for operation in view.operations
                    for method in operation.methods
                    if (method, full) not in NOT_OF_A_PROJECT
                ]
    return found


@pytest.fixture
def world(project, alice, bob, charlie):
    dana = make_user("dana@example.com")
    Membership.objects.create(project=project, user=dana, role=Membership.Role.ADMIN)
    sam = make_user("sam@example.com", is_support=True)
    set_support_access(project, alice, True)
    trigger = make_trigger(project)
    job = make_job(project, trigger=trigger)
    record_version(job, alice)  # its history's version 1, for the version pages
    message, _runs = post_message(project, {"a": 1})
    run = make_run(job, message=message)
    credential = make_credential(alice, projects=[project])
    method = add_method(project, alice, "api_key", "matrix").method
    install = AdaptorInstall.objects.create(adaptor="@openfn/language-common", version="3.3.4")
    collection = create_collection(project, "matrix")
    upsert(collection, [{"key": "k", "value": "1"}])
    make_plan("Scale")
    people = {"alice": alice, "dana": dana, "bob": bob, "sam": sam, "charlie": charlie, "anonymous": None}
    # An export is its requester's alone (other members get 404): each member asks for their own, and
    # an outsider for the owner's.
    exports = {
        persona: Export.objects.create(project=project, requester=user, kind="runs").pk
        for persona, user in people.items()
        if persona in ROLES
    }
    exports["charlie"] = exports["anonymous"] = exports["alice"]
    values = {
        "slug": project.slug,
        "job_id": job.pk,
        "trigger_id": trigger.pk,
        "message_id": message.pk,
        "run_id": run.pk,
        "pk": credential.pk,
        "method_id": method.pk,
        "user_id": bob.pk,
        "install_id": install.pk,
        "collection_id": collection.pk,
        "item_id": collection.items.get().pk,
        "flag": "private",
        "credential_id": credential.pk,
        "kind": "runs",
        "action": "reprocess",
        "exports": exports,
        "number": 1,
    }
    return values, people


def fill(route: str, values: dict) -> dict:
    missing = [name for name in PARAMETER.findall(route) if name not in values]
    assert not missing, f"add a value for {missing} of {route} to the world fixture"
    return {name: values[name] for name in PARAMETER.findall(route)}


def allowed(role: str, action: str) -> bool:
    return role in PERMISSIONS[action]


def refusal(response) -> str | None:
    """The action a 403 names ("Your role in this project does not allow: <action>")."""
    found = re.search(r"does not allow: ([a-z ]+)", response.content.decode())
    return found.group(1).replace(" ", "_") if found else None


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_portal_page_of_a_project(client, client_for, world, persona):
    values, people = world
    user = people[persona]
    http = client_for(user) if user else client
    routes = portal_routes()
    assert len(routes) > 40  # the walk found the URL conf
    events = AuditEvent.objects.count()
    for route, name in routes:
        url = reverse(name, kwargs=fill(route, values))
        response = http.get(url)
        where = f"GET {url} ({name}) as {persona}"
        if user is None:
            assert response.status_code == 302 and "/login" in response["Location"], where
            continue
        if persona == "charlie":
            nowhere = reverse(name, kwargs=fill(route, {**values, "slug": "no-such-project"}))
            assert response.status_code in (404, 405), where
            assert response.status_code == client_for(user).get(nowhere).status_code, where
            assert http.post(url).status_code in (404, 405), f"POST {url} as charlie"
            continue
        action = ADMIN_PAGES.get(name, "view")
        if allowed(ROLES[persona], action):
            # As the owner is answered (some pages want a query, a POST, or a row that is not there).
            owner = response if persona == "alice" else client_for(people["alice"]).get(url)
            assert response.status_code == owner.status_code != 403, where
        else:
            posted = http.post(url)
            # A POST-only page answers GET with 405 before looking at the project: its POST is refused.
            refused = posted if response.status_code == 405 else response
            assert refused.status_code == 403 and refusal(refused) == action, where
            assert posted.status_code == 403, f"POST {url} as {persona}"
        if response.status_code == 403:
            # A page refusing someone must say why, and be listed above: the matrix holds no surprise.
            assert refusal(response) in PERMISSIONS, where
            assert name in ADMIN_PAGES, f"{name} refuses {persona}: add it to ADMIN_PAGES with its action"
    if persona in ("charlie", "bob"):
        # Refused requests changed nothing (the support toggle, members, methods are as they were).
        assert AuditEvent.objects.count() == events
        assert Membership.objects.count() == 3 and Message.objects.count() == 1


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_api_operation_of_a_project(client, token_for, world, persona):
    values, people = world
    values = {**values, "export_id": values["exports"][persona]}
    user = people[persona]
    headers = {"Authorization": f"Bearer {token_for(user)}"} if user else {}

    def send(method, url, path):
        body = json.dumps(BODIES.get((method, path), {}))
        return client.generic(method, url, body, content_type="application/json", headers=headers)

    operations = api_operations()
    assert len(operations) > 25  # the walk found the API's routes
    for method, path in operations:
        refused_here = ADMIN_OPERATIONS.get((method, path)) or (method, path) in CREDENTIAL_OWNER_OPERATIONS
        if method != "GET" and not (
            persona in ("charlie", "anonymous") or (persona == "bob" and refused_here)
        ):
            continue  # writes that succeed are tested with their features; here, those that must not
        url = "/api/v1" + PATH_PARAMETER.sub(lambda m: str(values[m.group(1)]), path)
        response = send(method, url, path)
        where = f"{method} {url} as {persona}"
        if user is None:
            assert response.status_code == 401, where
            continue
        if persona == "charlie":
            # Not a thing an outsider can tell from a project or an object that does not exist.
            nowhere = "/api/v1" + PATH_PARAMETER.sub(
                lambda m: "no-such-project" if m.group(1) == "slug" else "999999", path
            )
            other = send(method, nowhere, path)
            assert response.status_code in (404, 405, 422), where
            assert (response.status_code, response.json()) == (other.status_code, other.json()), where
            continue
        action = ADMIN_OPERATIONS.get((method, path), "view")
        if (method, path) in CREDENTIAL_OWNER_OPERATIONS and persona != "alice":
            assert response.status_code == 403 and "owner" in response.json()["error"], where
        elif allowed(ROLES[persona], action):
            assert response.status_code != 403, where
            assert response.status_code != 404, where
        else:
            assert response.status_code == 403, where
            assert response.json() == {
                "error": f"Your role in this project does not allow: {action.replace('_', ' ')}"
            }
        if response.status_code == 403:
            assert refused_here, f"{method} {path} refuses {persona}: add it to ADMIN_OPERATIONS"


def test_the_matrix_gives_administrators_what_the_issue_lists():
    for action in (
        "manage_access",
        "edit_settings",
        "manage_plan",
        "manage_inbox_auth",
        "manage_vcs",
        "view_audit",
    ):
        assert PERMISSIONS[action] == {"owner", "admin", "support"}
    for action in ("view", "edit_job", "post_message", "reprocess", "export"):
        assert PERMISSIONS[action] == {"owner", "admin", "support", "collaborator"}
