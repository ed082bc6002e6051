"""Personas and builders shared by every test.

alice owns the project, bob collaborates on it, charlie has no access to it.
"""

import contextlib
import os

import pytest
from django.test import Client

from kindling.accounts.models import ApiToken, User
from kindling.credentials.models import Credential
from kindling.inbox.receive import receive
from kindling.jobs.models import Job, Trigger
from kindling.plans.models import Plan, Subscription
from kindling.projects.models import Membership, Project

PASSWORD = "correct horse battery"


def make_user(email: str, **kw) -> User:
    return User.objects.create_user(email, PASSWORD, **kw)


def make_project(owner, name="Health Ministry", **kw) -> Project:
    project = Project.create(name, owner)
    for key, value in kw.items():
        setattr(project, key, value)
    if kw:
        project.save()
    return project


def make_plan(name="Scale", **kw) -> Plan:
    kw.setdefault("runs_per_month", None)
    kw.setdefault("max_concurrency", 10)
    kw.setdefault("run_timeout", 100)
    return Plan.objects.update_or_create(name=name, defaults=kw)[0]


def put_on_plan(project, plan=None) -> Project:
    """Put the project on `plan` (default: unlimited runs, concurrency up to 10): the Free plan allows
    concurrency 1 and 100 runs a month, and tests of the queue need more."""
    Subscription.objects.update_or_create(project=project, defaults={"plan": plan or make_plan()})
    return project


@pytest.fixture
def generous_default_plan(db):
    """The operator's default plan allows v1's highest concurrency (Free allows 1): for tests of the
    settings, not of plans."""
    Plan.objects.filter(is_default=True).update(max_concurrency=10)


def make_trigger(project, name="trigger-1", kind=Trigger.Kind.MESSAGE, **kw) -> Trigger:
    if kind == Trigger.Kind.MESSAGE:
        kw.setdefault("criteria", {})
    return Trigger.objects.create(project=project, name=name, kind=kind, **kw)


def make_job(project, name="job-1", trigger=None, **kw) -> Job:
    kw.setdefault("expression", "fn(state => state);")
    kw.setdefault("adaptor", "@openfn/language-common")
    kw.setdefault("adaptor_version", "3.3.4")
    kw.setdefault("enabled", True)
    return Job.objects.create(project=project, name=name, trigger=trigger, **kw)


def make_credential(owner, name="my-secret-credential", body=None, projects=()) -> Credential:
    credential = Credential(name=name, owner=owner)
    credential.body = (
        body if body is not None else {"username": "user@example.com", "password": "shhh-secret"}
    )
    credential.save()
    credential.projects.add(*projects)
    return credential


def post_message(project, body, headers=None):
    return receive(project.pk, body, headers or {})


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2's deliberate slowness costs seconds per test and proves nothing here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(db):
    return make_user("alice@example.com", name="Alice")


@pytest.fixture
def bob(db):
    return make_user("bob@example.com", name="Bob")


@pytest.fixture
def charlie(db):
    return make_user("charlie@example.com", name="Charlie")


@pytest.fixture
def project(alice, bob):
    project = make_project(alice)
    Membership.objects.create(project=project, user=bob, role=Membership.Role.COLLABORATOR)
    return project


@pytest.fixture
def client_for(db):
    """client_for(user) -> a test client logged in as that user."""

    def login(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return login


@pytest.fixture
def token_for():
    return lambda user: ApiToken.issue(user, "test")


@pytest.fixture(autouse=True)
def sandbox_may_read_tmp_path(request):
    """pytest makes its temporary folders 0700; when the tests run as root, a job's sandbox runs as a
    uid of its own and could not read an adaptor repository made in one. Let others pass through."""
    if "tmp_path" in request.fixturenames:
        path = request.getfixturevalue("tmp_path")
        root = request.config._tmp_path_factory.getbasetemp().parent
        for folder in [path, *path.parents]:
            folder.chmod(folder.stat().st_mode | 0o011)
            if folder == root:
                break


@contextlib.contextmanager
def jobs_may_reach(port: int):
    """Jobs run in a network of their own that cannot reach this machine: open one local port to them,
    as an operator would with KINDLING_JOB_ALLOW_HOSTS (processes started from now on see it)."""
    key = "KINDLING_JOB_ALLOW_HOSTS"
    before = os.environ.get(key)
    os.environ[key] = " ".join(filter(None, [before, f"127.0.0.1:{port}"]))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before
