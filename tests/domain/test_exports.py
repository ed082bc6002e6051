"""Exports (Project Settings' project.yaml and microservice.zip, and any registered kind): built by the
scheduler process, emailed as a link, downloadable by the requester only, deleted after 7 days."""

import io
import zipfile
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from kindling.exports import build
from kindling.exports.models import Export
from kindling.exports.registry import BUILDERS, Builder, BuildError
from kindling.projects.portability import export_project
from kindling.runs.management.commands.scheduler import safe_pass
from tests.conftest import make_credential, make_job, make_trigger


@pytest.fixture(autouse=True)
def exports_dir(settings, tmp_path):
    settings.EXPORTS_DIR = tmp_path / "exports"
    return settings.EXPORTS_DIR


def ask(client, project, kind):
    return client.post(reverse("project-export", args=[project.slug]), {"kind": kind})


def download(client, export):
    response = client.get(reverse("export-download", args=[export.pk]))
    return response, b"".join(response.streaming_content) if response.status_code == 200 else b""


def test_asking_for_project_yaml_queues_it_and_builds_nothing_in_the_request(client_for, project, bob):
    response = ask(client_for(bob), project, "project.yaml")

    export = Export.objects.get()
    assert response.status_code == 302
    assert (export.kind, export.requester, export.status) == ("project.yaml", bob, "pending")
    assert mail.outbox == []


class InlineThread:
    """The builder's thread, run at start(): the tests' in-memory SQLite refuses a second connection
    that writes while the scheduler's pass goes on reading (a file database waits its turn)."""

    def __init__(self, target, **options):
        self.target = target

    def start(self):
        self.target()

    def is_alive(self):
        return False


def test_the_scheduler_pass_builds_it_and_emails_the_requester_a_link(
    transactional_db, client_for, project, bob, settings, monkeypatch
):
    make_job(project, trigger=make_trigger(project))
    ask(client_for(bob), project, "project.yaml")
    monkeypatch.setattr(build, "threading", SimpleNamespace(Thread=InlineThread))

    safe_pass(io.StringIO())

    export = Export.objects.get()
    assert export.status == "ready"
    assert export.expires_at - export.finished_at == timedelta(days=7)
    [email] = mail.outbox
    assert email.to == ["bob@example.com"]
    assert f"{settings.BASE_URL}/exports/{export.pk}/download" in email.body
    response, content = download(client_for(bob), export)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="health-ministry-project.yaml"'
    assert content.decode() == export_project(project)


def test_only_the_requester_downloads_it(client_for, client, project, alice, bob, charlie):
    ask(client_for(bob), project, "project.yaml")
    export = build.build_next()

    assert download(client_for(alice), export)[0].status_code == 404  # an owner of the project too
    assert download(client_for(charlie), export)[0].status_code == 404
    anonymous = client.get(reverse("export-download", args=[export.pk]))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))


def test_an_outsider_cannot_ask_for_an_export(client_for, project, charlie):
    assert ask(client_for(charlie), project, "project.yaml").status_code == 404
    assert not Export.objects.exists()


def test_an_unknown_kind_is_refused_with_a_note(client_for, project, alice):
    response = ask(client_for(alice), project, "secrets.txt")

    assert response.status_code == 302
    assert not Export.objects.exists()


def test_after_7_days_the_file_is_deleted_and_the_link_says_it_expired(client_for, project, bob):
    ask(client_for(bob), project, "project.yaml")
    export = build.build_next()
    path = Path(export.file_path)
    assert path.is_file()

    expired = build.expire(timezone.now() + timedelta(days=7, minutes=1))

    assert expired == [export.pk]
    assert not path.exists()
    response, _ = download(client_for(bob), export)
    assert response.status_code == 410
    assert "expired" in response.content.decode()


def test_an_export_is_built_once_even_if_two_schedulers_look(client_for, project, bob):
    ask(client_for(bob), project, "project.yaml")

    first, second = build.take_next(), build.take_next()

    assert first is not None and second is None


def test_a_failing_builder_marks_it_failed_and_tells_the_requester(client_for, project, bob, monkeypatch):
    def broken(export, path):
        raise BuildError("the disk is full")

    monkeypatch.setitem(
        BUILDERS, "broken.txt", Builder("broken.txt", "broken", lambda e: "x.txt", "text/plain", broken)
    )
    export = build.request_export(project, bob, "broken.txt")

    build.build_next()

    export.refresh_from_db()
    assert (export.status, export.error) == ("failed", "the disk is full")
    assert "could not be built: the disk is full" in mail.outbox[0].body


def test_microservice_zip_holds_the_project_a_readme_a_dockerfile_and_compose(client_for, project, alice):
    make_credential(alice, "dhis2 login", body={"username": "u", "password": "p"}, projects=[project])
    make_job(project, trigger=make_trigger(project))
    ask(client_for(alice), project, "microservice.zip")

    export = build.build_next()

    with zipfile.ZipFile(export.file_path) as archive:
        names = set(archive.namelist())
        readme = archive.read("health-ministry-microservice/README.md").decode()
        compose = archive.read("health-ministry-microservice/docker-compose.yaml").decode()
        yaml_text = archive.read("health-ministry-microservice/project.yaml").decode()
    assert names == {
        f"health-ministry-microservice/{name}"
        for name in ("project.yaml", "README.md", "Dockerfile", "docker-compose.yaml")
    }
    assert yaml_text == export_project(project)
    assert "'******'" in yaml_text and "p" not in yaml_text.split("credentials:")[1].replace("password", "")
    assert "`KINDLING_CREDENTIAL_DHIS2_LOGIN`" in readme
    assert """export KINDLING_CREDENTIAL_DHIS2_LOGIN='{"username": "...", "password": "..."}'""" in readme
    assert "kindling microservice project.yaml" in readme
    assert 'KINDLING_CREDENTIAL_DHIS2_LOGIN: "${KINDLING_CREDENTIAL_DHIS2_LOGIN}"' in compose


def test_a_requester_who_left_the_project_cannot_download_any_more(client_for, project, bob):
    ask(client_for(bob), project, "project.yaml")
    export = build.build_next()

    project.memberships.filter(user=bob).delete()

    assert download(client_for(bob), export)[0].status_code == 404
