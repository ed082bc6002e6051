"""The portal's actions that the REST API gained for issue 21: the queue, a run's log as it is written,
Job Studio's helpers (check, adaptors, cron preview), collections, credential reveal, billing, the
webhook secret and one Job Library job. Each calls what the portal calls; outsiders get 404."""

import json
import logging
from types import SimpleNamespace

import pytest
from django.utils import timezone

from kindling.collections.store import create_collection, upsert
from kindling.engine.adaptors import AdaptorUnavailable
from kindling.jobs import adaptor_installs
from kindling.jobs.models import AdaptorInstall
from kindling.library import catalogue
from kindling.runs.models import Run
from kindling.vcs.link import link_repository
from tests.conftest import PASSWORD, make_credential, make_job, make_trigger
from tests.credentials.conftest import install_fake_adaptor
from tests.portal.conftest import make_run


def line(text: str):
    return SimpleNamespace(time=timezone.now(), source="JOB", level="info", message=text)


def test_the_queue_lists_pending_and_running_runs_oldest_first_with_counts(call, project, alice):
    job = make_job(project)
    make_run(job)  # ended: not in the queue
    running = make_run(job, status=Run.Status.RUNNING)
    pending = make_run(job, status=Run.Status.PENDING)

    response = call(alice, "GET", f"/projects/{project.slug}/queue")

    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body["items"]] == [running.pk, pending.pk]
    assert (body["pending"], body["running"], body["count"], body["concurrency"]) == (1, 1, 2, 1)


def test_an_outsider_gets_404_for_the_queue(call, project, charlie):
    assert call(charlie, "GET", f"/projects/{project.slug}/queue").status_code == 404


def test_the_run_log_cursor_answers_the_lines_after_the_last_one_seen(call, project, bob):
    run = make_run(make_job(project), status=Run.Status.RUNNING)
    run.append_log([line("one"), line("two")])

    first = call(bob, "GET", f"/runs/{run.pk}/log").json()
    run.append_log([line("three")])
    second = call(bob, "GET", f"/runs/{run.pk}/log", after=first["after"]).json()

    assert [item["message"] for item in first["lines"]] == ["one", "two"]
    assert (first["status"], first["complete"], first["after"]) == ("running", False, 1)
    assert [item["message"] for item in second["lines"]] == ["three"] and second["after"] == 2


def test_the_log_of_an_ended_run_says_it_is_complete(call, project, alice):
    run = make_run(make_job(project))

    body = call(alice, "GET", f"/runs/{run.pk}/log").json()

    assert body["complete"] is True and body["lines"] == [] and body["after"] == -1


def test_an_outsider_gets_404_for_a_runs_log(call, project, charlie):
    run = make_run(make_job(project))

    assert call(charlie, "GET", f"/runs/{run.pk}/log").status_code == 404


def test_checking_an_expression_lists_its_operations(call, project, bob):
    response = call(
        bob, "POST", f"/projects/{project.slug}/jobs/check", {"expression": "fn(s => s);\nfn(s => s);"}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and [op["name"] for op in body["operations"]] == ["fn", "fn"]


def test_checking_an_expression_that_does_not_compile_says_where(call, project, bob):
    response = call(bob, "POST", f"/projects/{project.slug}/jobs/check", {"expression": "fn(s => {"})

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False and body["line"] == 1 and body["error"]


def test_the_cron_preview_gives_five_times_in_the_projects_time_zone(call, project, bob):
    project.timezone = "Africa/Nairobi"
    project.save()

    response = call(bob, "GET", f"/projects/{project.slug}/cron-times", cron="0 9 * * *")

    assert response.status_code == 200
    times = response.json()["fire_times"]
    assert len(times) == 5 and all(t.endswith("T09:00:00+03:00") for t in times)


def test_a_cron_expression_that_does_not_parse_is_a_400(call, project, bob):
    response = call(bob, "GET", f"/projects/{project.slug}/cron-times", cron="every day")

    assert response.status_code == 400 and response.json()["error"].startswith("cron:")


def test_the_adaptor_picker_lists_recommended_adaptors(call, bob):
    response = call(bob, "GET", "/adaptors")

    assert response.status_code == 200
    assert any(a["name"] == "@openfn/language-http" and a["recommended"] for a in response.json()["adaptors"])


def test_adaptor_versions_refuse_what_is_not_an_adaptor(call, bob):
    response = call(bob, "GET", "/adaptors/versions", adaptor="left-pad")

    assert response.status_code == 400 and "not an adaptor" in response.json()["error"]


def test_adaptor_versions_say_when_npm_cannot_list_them(call, bob, monkeypatch):
    def unreachable(name):
        raise AdaptorUnavailable(f"Could not list the versions of {name} on npm", ["network unreachable"])

    monkeypatch.setattr("kindling.jobs.studio_api.published_versions", unreachable)

    response = call(bob, "GET", "/adaptors/versions", adaptor="@openfn/language-http")

    assert response.status_code == 200
    body = response.json()
    assert body["published"] is None and "network unreachable" in body["published_error"]


def test_adaptor_docs_list_an_installed_versions_operations(call, bob, tmp_path, settings):
    settings.ADAPTOR_REPO_DIR = tmp_path
    install_fake_adaptor(tmp_path, "@openfn/language-example", "1.2.0")
    ast = {"operations": [{"name": "upsert", "docs": {"description": "Create or update", "tags": []}}]}
    (tmp_path / "node_modules" / "@openfn/language-example_1.2.0" / "ast.json").write_text(json.dumps(ast))

    response = call(bob, "GET", "/adaptors/docs", adaptor="@openfn/language-example")

    assert response.status_code == 200
    body = response.json()
    assert body["version"] == "1.2.0"
    assert [(op["name"], op["description"]) for op in body["operations"]] == [("upsert", "Create or update")]


def test_adaptor_docs_of_a_version_not_installed_is_a_400(call, bob, tmp_path, settings):
    settings.ADAPTOR_REPO_DIR = tmp_path

    response = call(bob, "GET", "/adaptors/docs", adaptor="@openfn/language-http", version="7.2.10")

    assert response.status_code == 400 and "not installed" in response.json()["error"]


@pytest.fixture
def installs_wait(monkeypatch):
    """start_install's background threads, held back: the test runs each install itself (the test
    database is one connection, which a thread of its own would not share)."""
    held = []

    class Held:
        def __init__(self, target, args, **_options):
            held.append(args)

        def start(self):
            pass

    monkeypatch.setattr(adaptor_installs.threading, "Thread", Held)
    return held


def test_an_install_from_the_api_is_polled_until_it_is_done(
    call, project, bob, tmp_path, settings, installs_wait
):
    settings.ADAPTOR_REPO_DIR = tmp_path
    install_fake_adaptor(tmp_path, "@openfn/language-example", "1.2.0")

    started = call(
        bob, "POST", f"/projects/{project.slug}/adaptors/installs", {"adaptor": "example", "version": "1.2.0"}
    )

    assert started.status_code == 202
    install = started.json()
    assert (install["adaptor"], install["version"], install["status"]) == (
        "@openfn/language-example",
        "1.2.0",
        "running",
    )
    adaptor_installs.run_install(*installs_wait[0])
    done = call(bob, "GET", f"/projects/{project.slug}/adaptors/installs/{install['id']}").json()
    assert (done["status"], done["installed_version"]) == ("done", "1.2.0")
    assert done["notes"][-1]["message"] == "@openfn/language-example@1.2.0 is installed"


def test_an_install_that_is_not_an_adaptor_version_is_a_400(call, project, bob, installs_wait):
    response = call(bob, "POST", f"/projects/{project.slug}/adaptors/installs", {"adaptor": "@types/node"})

    assert response.status_code == 400 and "not an adaptor Kindling can run" in response.json()["error"]
    assert not AdaptorInstall.objects.exists() and not installs_wait


def test_an_install_whose_name_is_too_long_once_expanded_is_a_400(call, project, bob, installs_wait):
    # 200 characters, as the document allows: the shorthand makes it @openfn/language-<200 characters>.
    response = call(bob, "POST", f"/projects/{project.slug}/adaptors/installs", {"adaptor": "a" * 200})

    assert response.status_code == 400 and "longer than 200 characters" in response.json()["error"]
    assert not AdaptorInstall.objects.exists()


def test_a_fifth_install_while_four_are_going_is_a_429_and_the_same_version_is_answered(
    call, project, bob, installs_wait
):
    going = [
        AdaptorInstall.objects.create(adaptor=f"@openfn/language-a{n}", version="1.0.0")
        for n in range(adaptor_installs.MAX_RUNNING)
    ]
    path = f"/projects/{project.slug}/adaptors/installs"

    busy = call(bob, "POST", path, {"adaptor": "@openfn/language-http", "version": "7.2.10"})
    same = call(bob, "POST", path, {"adaptor": "@openfn/language-a2", "version": "1.0.0"})

    assert busy.status_code == 429 and "try again when one has ended" in busy.json()["error"]
    assert same.status_code == 202 and same.json()["id"] == going[2].pk
    assert AdaptorInstall.objects.count() == adaptor_installs.MAX_RUNNING and not installs_wait


def test_an_outsider_gets_404_for_adaptor_installs(call, project, charlie, installs_wait):
    install = AdaptorInstall.objects.create(adaptor="@openfn/language-http", version="7.2.10")
    base = f"/projects/{project.slug}/adaptors/installs"

    assert call(charlie, "POST", base, {"adaptor": "http"}).status_code == 404
    assert call(charlie, "GET", f"{base}/{install.pk}").status_code == 404
    assert not installs_wait


def test_an_unknown_install_is_a_404(call, project, bob):
    response = call(bob, "GET", f"/projects/{project.slug}/adaptors/installs/999999")

    assert response.status_code == 404 and "no adaptor install 999999" in response.json()["error"]


def test_collections_items_and_deletion(call, project, bob):
    collection = create_collection(project, "patients")
    upsert(collection, [{"key": "patient-1", "value": '{"a": 1}'}, {"key": "visit-1", "value": "2"}])

    listed = call(bob, "GET", f"/projects/{project.slug}/collections").json()["items"]
    items = call(bob, "GET", f"/collections/{collection.pk}/items", key="patient-*").json()["items"]
    item = call(bob, "GET", f"/collections/{collection.pk}/items/{items[0]['id']}").json()
    deleted = call(bob, "DELETE", f"/collections/{collection.pk}/items/{items[0]['id']}")

    assert [(c["name"], c["items"]) for c in listed] == [("patients", 2)]
    assert [i["key"] for i in items] == ["patient-1"] and item["value"] == '{"a": 1}'
    assert deleted.status_code == 204
    assert list(collection.items.values_list("key", flat=True)) == ["visit-1"]


def test_creating_a_collection_with_a_taken_name_is_a_400(call, project, bob):
    created = call(bob, "POST", f"/projects/{project.slug}/collections", {"name": "patients"})
    again = call(bob, "POST", f"/projects/{project.slug}/collections", {"name": "patients"})

    assert created.status_code == 201 and created.json()["items"] == 0
    assert again.status_code == 400 and "already" in again.json()["error"]


def test_an_outsider_gets_404_for_a_collection(call, project, charlie):
    collection = create_collection(project, "patients")

    assert call(charlie, "GET", f"/collections/{collection.pk}").status_code == 404
    assert call(charlie, "DELETE", f"/collections/{collection.pk}").status_code == 404
    assert project.collections.exists()


def test_the_owner_reveals_a_raw_credential_after_the_password_and_it_is_recorded(call, alice, caplog):
    credential = make_credential(alice)

    with caplog.at_level(logging.INFO, logger="kindling.credentials.reveal"):
        response = call(alice, "POST", f"/credentials/{credential.pk}/reveal", {"password": PASSWORD})

    assert response.status_code == 200
    assert response.json()["body"] == {"username": "user@example.com", "password": "shhh-secret"}
    assert "revealed to its owner alice@example.com" in caplog.text


def test_a_wrong_password_reveals_nothing(call, alice):
    credential = make_credential(alice)

    response = call(alice, "POST", f"/credentials/{credential.pk}/reveal", {"password": "guess"})

    assert response.status_code == 400 and "shhh" not in response.content.decode()


def test_a_member_who_is_not_the_owner_cannot_reveal(call, project, alice, bob):
    credential = make_credential(alice, projects=[project])

    response = call(bob, "POST", f"/credentials/{credential.pk}/reveal", {"password": PASSWORD})

    assert response.status_code == 403 and "owner" in response.json()["error"]


def test_billing_lists_the_projects_billed_to_you(call, project, alice):
    response = call(alice, "GET", "/account/billing")

    assert response.status_code == 200
    body = response.json()
    assert body["card"] is None and [p["slug"] for p in body["projects"]] == [project.slug]


def test_without_a_billing_provider_no_card_is_set_up(call, alice, settings):
    settings.BILLING_PROVIDER = "none"

    response = call(alice, "POST", "/account/billing/card-setup")

    assert response.status_code == 400 and "no card is needed" in response.json()["error"]


def test_an_administrator_renews_the_webhook_secret(call, project, alice):
    repo = link_repository(project, alice, "acme/jobs", "main")
    old = repo.webhook_secret

    response = call(alice, "POST", f"/projects/{project.slug}/version-control/secret")

    assert response.status_code == 200
    repo.refresh_from_db()
    assert repo.webhook_secret != old


def test_renewing_the_secret_of_an_unlinked_project_is_a_409(call, project, alice):
    assert call(alice, "POST", f"/projects/{project.slug}/version-control/secret").status_code == 409


def test_one_job_library_job_is_readable_by_any_user(call, project, alice, charlie):
    job = make_job(project, trigger=make_trigger(project), expression="get('/patients');")
    catalogue.set_contribution(project, alice, True)

    response = call(charlie, "GET", f"/library/{job.pk}")

    assert response.status_code == 200 and response.json()["expression"] == "get('/patients');"


def test_a_private_job_is_not_in_the_library(call, project, alice, charlie):
    job = make_job(project, private=True)
    catalogue.set_contribution(project, alice, True)

    assert call(charlie, "GET", f"/library/{job.pk}").status_code == 404
