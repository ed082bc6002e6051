"""Job Studio's page and JSON endpoints, through Django's test client: modes and preferences, the syntax
check, adaptor documentation and types, installs, the inspector's messages and states, Save and Run,
and the live log stream; outsiders get 404 from every one of them."""

import json
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from kindling import engine
from kindling.accounts.models import User
from kindling.engine.adaptors import AdaptorUnavailable
from kindling.jobs import adaptor_installs, studio_adaptors
from kindling.jobs.models import AdaptorInstall, Job, Trigger
from kindling.runs.models import LogLine, Run
from kindling.runs.stream import run_log_events
from tests.conftest import make_job, make_project, make_trigger, make_user, post_message
from tests.portal.conftest import make_run
from tests.queue.conftest import shared_db  # noqa: F401 - a fixture: the database file threads share

HTTP = "@openfn/language-http@7.2.10"
COMMON = "@openfn/language-common@3.3.4"
# The test client is synchronous: it reads the async event stream to its end, and Django warns about it.
sync_stream = pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous iterators")


@pytest.fixture(scope="module")
def installed():
    for spec in (HTTP, COMMON):
        engine.ensure_adaptor(spec, settings.ADAPTOR_REPO_DIR)


def config_of(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="studio-config" type="application/json">') + len(
        '<script id="studio-config" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def post_json(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


# The page ------------------------------------------------------------------------------------------


def test_a_new_job_opens_in_wizard_mode_whatever_the_preference(client_for, project, alice):
    alice.preferences = {"studio_mode": "fullscreen"}
    alice.save()

    response = client_for(alice).get(reverse("job-create", args=[project.slug]))

    assert response.status_code == 200
    assert 'data-mode="wizard"' in response.content.decode()
    assert config_of(response)["mode"] == "wizard" and config_of(response)["isNew"] is True


def test_an_existing_job_opens_in_the_mode_saved_as_preference(client_for, project, alice):
    job = make_job(project)
    client = client_for(alice)
    url = reverse("job-edit", args=[project.slug, job.pk])
    assert config_of(client.get(url))["mode"] == "wizard"  # v1's default

    saved = post_json(client, reverse("account-preferences"), {"studio_mode": "fullscreen"})

    assert saved.status_code == 200 and saved.json()["studio_mode"] == "fullscreen"
    assert 'data-mode="fullscreen"' in client.get(url).content.decode()
    assert User.objects.get(pk=alice.pk).preferences["studio_mode"] == "fullscreen"


def test_the_wizard_opens_on_the_step_whose_field_was_refused(client_for, project, alice):
    make_job(project, "taken")
    client = client_for(alice)
    url = reverse("job-create", args=[project.slug])

    bad_name = client.post(url, {"name": "taken", "adaptor": "@openfn/language-common"})
    bad_adaptor = client.post(url, {"name": "free", "adaptor": "left-pad", "adaptor_version": "1.0.0"})

    assert config_of(bad_name)["step"] == 1 and "is already taken" in bad_name.content.decode()
    assert config_of(bad_adaptor)["step"] == 3 and "is not an adaptor" in bad_adaptor.content.decode()
    assert Job.objects.count() == 1


def test_preferences_refuse_unknown_keys_and_values_saying_what_is_valid(client_for, alice):
    client = client_for(alice)
    url = reverse("account-preferences")

    bad_value = post_json(client, url, {"editor_theme": "solarized"})
    bad_key = post_json(client, url, {"font": "comic"})
    not_json = client.post(url, "theme=dark", content_type="application/x-www-form-urlencoded")
    good = post_json(client, url, {"editor_theme": "hc-black"})

    assert bad_value.status_code == 400 and "vs, vs-dark, hc-black, hc-light" in bad_value.json()["error"]
    assert bad_key.status_code == 400 and "Unknown preference 'font'" in bad_key.json()["error"]
    assert not_json.status_code == 400 and "JSON" in not_json.json()["error"]
    assert good.json() == {
        "studio_mode": "wizard",
        "editor_theme": "hc-black",
        "theme": "light",
        "failure_alerts": "off",
    }
    assert User.objects.get(pk=alice.pk).preferences == {"editor_theme": "hc-black"}


def test_the_account_settings_page_saves_the_studio_preferences(client_for, alice):
    client = client_for(alice)

    client.post(
        reverse("account-settings"), {"name": "Alice", "studio_mode": "fullscreen", "editor_theme": "vs-dark"}
    )

    alice.refresh_from_db()
    assert alice.preferences == {"studio_mode": "fullscreen", "editor_theme": "vs-dark"}
    assert '<option value="vs-dark" selected>' in client.get(reverse("account-settings")).content.decode()


# Syntax check --------------------------------------------------------------------------------------


def test_the_syntax_check_answers_the_operations_of_a_good_expression(client_for, project, bob):
    response = post_json(
        client_for(bob), reverse("studio-check", args=[project.slug]), {"expression": "fn(s => s);"}
    )

    assert response.status_code == 200
    assert response.json() == {"ok": True, "operations": [{"name": "fn", "line": 1, "order": 1}]}


def test_the_syntax_check_gives_the_line_and_column_of_an_error(client_for, project, alice):
    response = post_json(
        client_for(alice),
        reverse("studio-check", args=[project.slug]),
        {"expression": "fn(s => {\n  return s;\n);"},
    )

    assert response.status_code == 422
    assert (response.json()["line"], response.json()["column"]) == (3, 1)
    assert response.json()["error"].startswith("Syntax error at line 3, column 1")


def test_the_syntax_check_needs_an_expression(client_for, project, alice):
    response = post_json(client_for(alice), reverse("studio-check", args=[project.slug]), {"code": "fn()"})

    assert response.status_code == 400 and '{"expression": "..."}' in response.json()["error"]


# Adaptors ------------------------------------------------------------------------------------------


def test_the_docs_list_every_public_operation_with_params_and_examples(client_for, project, alice, installed):
    url = reverse("studio-adaptor-docs", args=[project.slug])

    response = client_for(alice).get(url, {"adaptor": "@openfn/language-http", "version": "7.2.10"})

    operations = {op["name"]: op for op in response.json()["operations"]}
    assert response.status_code == 200
    assert operations["get"]["params"][0] == {
        "name": "path",
        "type": "string",
        "optional": False,
        "description": "Path to resource. Can be an absolute URL if baseURL is NOT set on "
        "`state.configuration`.",
    }
    assert operations["get"]["examples"][0]["code"].startswith("get('/patient', {")
    assert operations["get"]["examples"][0]["snippet"].endswith("a: 1 \\},\n\\});")  # } escaped for snippets
    assert operations["each"]["origin"] == "@openfn/language-common"
    assert "execute" not in operations  # private in ast.json


def test_latest_stands_for_the_newest_installed_version(client_for, project, alice, installed):
    response = client_for(alice).get(
        reverse("studio-adaptor-docs", args=[project.slug]),
        {"adaptor": "@openfn/language-http", "version": "latest"},
    )

    assert response.status_code == 200 and response.json()["version"] == "7.2.10"


@pytest.mark.parametrize(
    "adaptor, version, error",
    [
        ("@openfn/language-http", "0.0.1", "@openfn/language-http@0.0.1 is not installed yet"),
        ("left-pad", "1.0.0", "is not an adaptor Kindling can run"),
        ("@openfn/language-http", "../../etc", "has an invalid version"),
        ("", "", "Say which adaptor"),
    ],
)
def test_the_docs_of_an_adaptor_not_installed_say_so(
    client_for, project, alice, installed, adaptor, version, error
):
    response = client_for(alice).get(
        reverse("studio-adaptor-docs", args=[project.slug]), {"adaptor": adaptor, "version": version}
    )

    assert response.status_code == 404 and error in response.json()["error"]


def test_the_types_make_the_adaptors_operations_global_for_the_editor(client_for, project, alice, installed):
    response = client_for(alice).get(
        reverse("studio-adaptor-types", args=[project.slug]),
        {"adaptor": "@openfn/language-http", "version": "7.2.10"},
    )

    libs = {lib["path"]: lib["content"] for lib in response.json()["libs"]}
    assert (
        "export function get(path: string"
        in libs["file:///node_modules/@openfn/language-http/types/Adaptor.d.ts"]
    )
    assert (
        "file:///node_modules/@openfn/language-common/types/Adaptor.d.ts" in libs
    )  # fn, each... come from it
    globals_lib = libs["file:///kindling/adaptor-globals.d.ts"]
    assert "export import get = __adaptor.get;" in globals_lib
    assert "export import del = __adaptor.del;" in globals_lib  # not a JavaScript reserved word
    assert "get" in response.json()["globals"]


def test_the_catalogue_lists_recommended_adaptors_and_installed_versions(
    client_for, project, alice, installed
):
    adaptors = client_for(alice).get(reverse("studio-adaptors", args=[project.slug])).json()["adaptors"]

    by_name = {a["name"]: a for a in adaptors}
    assert adaptors[0]["name"] == "@openfn/language-common" and adaptors[0]["recommended"]
    assert "7.2.10" in by_name["@openfn/language-http"]["versions"]
    assert by_name["@openfn/language-dhis2"]["recommended"]


def test_the_versions_offered_are_the_installed_ones_and_the_releases_on_npm(
    client_for, project, alice, installed, monkeypatch
):
    asked = []
    monkeypatch.setattr(
        studio_adaptors, "published_versions", lambda name: asked.append(name) or ["7.3.0", "7.2.10", "7.2.9"]
    )
    url = reverse("studio-adaptor-versions", args=[project.slug]) + "?adaptor=@openfn/language-http"

    answer = client_for(alice).get(url)

    assert answer.status_code == 200
    assert answer.json() == {
        "adaptor": "@openfn/language-http",
        "installed": ["7.2.10"],
        "published": ["7.3.0", "7.2.10", "7.2.9"],
    }
    assert asked == ["@openfn/language-http"]


def test_when_npm_cannot_list_versions_the_installed_ones_still_come_with_the_reason(
    client_for, project, alice, installed, monkeypatch
):
    def unreachable(name):
        raise AdaptorUnavailable(f"Could not list the versions of {name} on npm", ["network request failed"])

    monkeypatch.setattr(studio_adaptors, "published_versions", unreachable)
    url = reverse("studio-adaptor-versions", args=[project.slug]) + "?adaptor=@openfn/language-http"

    answer = client_for(alice).get(url)

    assert answer.status_code == 502
    assert answer.json()["installed"] == ["7.2.10"]
    assert answer.json()["error"] == (
        "Could not list the versions of @openfn/language-http on npm network request failed"
    )


@pytest.mark.parametrize(
    "query, error",
    [("", "Say which adaptor"), ("?adaptor=left-pad", "is not an adaptor Kindling can run")],
)
def test_versions_of_something_that_is_not_an_adaptor_are_refused(client_for, project, alice, query, error):
    answer = client_for(alice).get(reverse("studio-adaptor-versions", args=[project.slug]) + query)

    assert answer.status_code == 400
    assert error in answer.json()["error"]


@pytest.mark.parametrize(
    "body, error",
    [
        ({"adaptor": "@types/node", "version": "1.0.0"}, "is not an adaptor Kindling can run"),
        ({"adaptor": "@openfn/language-http", "version": "seven"}, "has an invalid version"),
        ({"adaptor": "", "version": "1.0.0"}, "Type the adaptor's name"),
        ({"adaptor": 7}, "as text"),
    ],
)
def test_an_install_of_something_that_is_not_an_adaptor_version_is_refused(
    client_for, project, alice, body, error
):
    response = post_json(client_for(alice), reverse("studio-adaptor-install", args=[project.slug]), body)

    assert response.status_code == 400 and error in response.json()["error"]
    assert not AdaptorInstall.objects.exists()


# shared_db: on SQLite a database file, as in production. The install's thread writes while this test
# reads, and the in-memory test database locks whole tables (a reader there fails the writer).
@pytest.mark.usefixtures("shared_db")
def test_an_install_runs_in_the_background_and_its_progress_is_polled(client_for, installed):
    alice = make_user("alice@example.com")
    project = make_project(alice)
    client = client_for(alice)

    started = post_json(
        client,
        reverse("studio-adaptor-install", args=[project.slug]),
        {"adaptor": "http", "version": "7.2.10"},
    )  # the CLI's shorthand works too

    assert started.status_code == 202 and started.json()["adaptor"] == "@openfn/language-http"
    deadline = timezone.now() + timedelta(seconds=60)
    status = started.json()
    while status["status"] == "running" and timezone.now() < deadline:
        time.sleep(0.05)  # the page polls at an interval too
        status = client.get(started.json()["url"]).json()
    assert (status["status"], status["installed_version"]) == ("done", "7.2.10")
    assert status["notes"][-1]["message"] == "@openfn/language-http@7.2.10 is installed"


def test_a_failed_install_keeps_npms_reasons(db, tmp_path):
    install = AdaptorInstall.objects.create(adaptor="@openfn/language-common", version="0.0.999")

    adaptor_installs.run_install(install.pk, tmp_path)

    install.refresh_from_db()
    assert install.status == "failed" and install.finished_at is not None
    assert install.error == "Could not install @openfn/language-common@0.0.999"
    assert any("0.0.999" in reason for reason in install.details)


def test_an_install_already_going_is_answered_instead_of_starting_another(client_for, project, alice):
    going = AdaptorInstall.objects.create(adaptor="@openfn/language-http", version="7.2.10")

    response = post_json(
        client_for(alice),
        reverse("studio-adaptor-install", args=[project.slug]),
        {"adaptor": "@openfn/language-http", "version": "7.2.10"},
    )

    assert response.status_code == 202 and response.json()["id"] == going.pk
    assert AdaptorInstall.objects.count() == 1


def test_an_install_while_four_others_are_going_is_a_429_that_says_to_wait(client_for, project, alice):
    for n in range(adaptor_installs.MAX_RUNNING):
        AdaptorInstall.objects.create(adaptor=f"@openfn/language-a{n}", version="1.0.0")

    response = post_json(
        client_for(alice),
        reverse("studio-adaptor-install", args=[project.slug]),
        {"adaptor": "@openfn/language-http", "version": "7.2.10"},
    )

    assert response.status_code == 429 and "4 adaptor installs are going" in response.json()["error"]
    assert AdaptorInstall.objects.count() == adaptor_installs.MAX_RUNNING


def test_an_install_left_running_by_a_stopped_process_is_reported_failed(client_for, project, alice):
    stale = AdaptorInstall.objects.create(
        adaptor="@openfn/language-http", version="7.2.10", created_at=timezone.now() - timedelta(hours=1)
    )

    status = (
        client_for(alice).get(reverse("studio-adaptor-install-status", args=[project.slug, stale.pk])).json()
    )

    assert status["status"] == "failed" and "stopped without finishing" in status["error"]


# Inspector and Save and Run ------------------------------------------------------------------------


def test_a_trigger_offers_the_messages_it_matches(client_for, project, alice):
    trigger = make_trigger(project, criteria={"formID": "visit"})
    matched, _ = post_message(project, {"formID": "visit", "n": 1})
    post_message(project, {"formID": "other"})
    cron = make_trigger(project, "nightly", Trigger.Kind.CRON, cron="0 2 * * *")
    client = client_for(alice)

    messages = client.get(reverse("studio-trigger-messages", args=[project.slug, trigger.pk])).json()
    not_messages = client.get(reverse("studio-trigger-messages", args=[project.slug, cron.pk])).json()

    assert [m["id"] for m in messages["messages"]] == [matched.pk]
    assert messages["messages"][0]["label"].startswith(f"Message {matched.pk} · ")
    assert not_messages["messages"] == [] and "not a message filter" in not_messages["note"]


def test_the_initial_state_of_a_message_is_its_body_as_data(client_for, project, alice):
    message, _ = post_message(project, {"form": {"patient": {"name": "Ada"}}})

    response = client_for(alice).get(reverse("studio-message-state", args=[project.slug, message.pk]))

    assert response.json()["state"] == {"data": {"form": {"patient": {"name": "Ada"}}}}


def save_and_run_form(trigger, message, **fields):
    return {
        "name": "visit-job",
        "trigger": trigger.pk,
        "adaptor": "@openfn/language-common",
        "adaptor_version": "3.3.4",
        "expression": "fn(s => s);",
        "message": message.pk if message else "",
        **fields,
    }


def test_save_and_run_creates_the_job_and_queues_a_run_on_the_message(client_for, project, alice):
    trigger = make_trigger(project, criteria={"formID": "visit"})
    message, _ = post_message(project, {"formID": "visit"})

    response = client_for(alice).post(
        reverse("studio-save-and-run-new", args=[project.slug]), save_and_run_form(trigger, message)
    )

    job = Job.objects.get(name="visit-job")
    run = Run.objects.get(job=job)
    assert response.status_code == 201
    assert response.json()["edit_url"] == reverse("job-edit", args=[project.slug, job.pk])
    assert response.json()["events_url"] == reverse("run-events", args=[project.slug, run.pk])
    assert (run.status, run.message, run.cause, run.initial_state) == (
        "pending",
        message,
        "manual",
        {"data": {"formID": "visit"}},
    )
    assert job.enabled is False


def test_save_and_run_saves_an_existing_job_before_running_it(client_for, project, bob):
    trigger = make_trigger(project, criteria={})
    job = make_job(project, "visit-job", trigger)
    message, _ = post_message(project, {"n": 1})
    Run.objects.all().delete()

    response = client_for(bob).post(
        reverse("studio-save-and-run", args=[project.slug, job.pk]),
        save_and_run_form(trigger, message, expression="fn(s => ({...s, changed: true}));"),
    )

    job.refresh_from_db()
    assert response.status_code == 201 and job.expression == "fn(s => ({...s, changed: true}));"
    assert Run.objects.get().job == job


def test_save_and_run_refuses_a_job_that_is_not_message_triggered_without_saving(client_for, project, alice):
    cron = make_trigger(project, "nightly", Trigger.Kind.CRON, cron="0 2 * * *")
    message, _ = post_message(project, {"n": 1})

    response = client_for(alice).post(
        reverse("studio-save-and-run-new", args=[project.slug]), save_and_run_form(cron, message)
    )

    assert response.status_code == 409 and "message-triggered jobs" in response.json()["error"]
    assert not Job.objects.exists()


def test_save_and_run_needs_a_message_of_the_project(client_for, project, alice):
    trigger = make_trigger(project, criteria={})
    elsewhere, _ = post_message(make_project(alice, "Elsewhere"), {"n": 1})
    client = client_for(alice)
    url = reverse("studio-save-and-run-new", args=[project.slug])

    none = client.post(url, save_and_run_form(trigger, None))
    foreign = client.post(url, save_and_run_form(trigger, elsewhere))

    assert none.status_code == foreign.status_code == 400
    assert none.json()["field"] == "message" and "Choose the message" in foreign.json()["error"]
    assert not Job.objects.exists()


def test_save_and_run_answers_what_the_form_refuses(client_for, project, alice):
    make_job(project, "visit-job")
    trigger = make_trigger(project, criteria={})
    message, _ = post_message(project, {"n": 1})

    response = client_for(alice).post(
        reverse("studio-save-and-run-new", args=[project.slug]), save_and_run_form(trigger, message)
    )

    assert response.status_code == 400
    assert response.json()["field"] == "name" and "already taken" in response.json()["error"]


def test_save_and_run_again_at_once_on_the_same_message_saves_and_runs_again(client_for, project, alice):
    # The 10-second rule is for duplicate deliveries: an edit-and-test loop runs every time.
    trigger = make_trigger(project, criteria={})
    job = make_job(project, "visit-job", trigger)
    message, _ = post_message(project, {"n": 1})  # its run of visit-job has just been created
    url = reverse("studio-save-and-run", args=[project.slug, job.pk])
    client = client_for(alice)

    first = client.post(url, save_and_run_form(trigger, message, expression="fn(s => s); // v2"))
    second = client.post(url, save_and_run_form(trigger, message, expression="fn(s => s); // v3"))

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["run"] != second.json()["run"]
    assert Job.objects.get(pk=job.pk).expression == "fn(s => s); // v3"
    assert Run.objects.filter(job=job, message=message).count() == 3


def test_a_double_click_on_save_and_run_starts_one_run(client_for, project, alice):
    trigger = make_trigger(project, criteria={})
    job = make_job(project, "visit-job", trigger)
    message, _ = post_message(project, {"n": 1})
    url = reverse("studio-save-and-run", args=[project.slug, job.pk])
    client = client_for(alice)
    form = save_and_run_form(trigger, message, request_token="0123456789abcdef")

    first, second = client.post(url, form), client.post(url, form)

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["run"] == second.json()["run"]
    assert Run.objects.filter(job=job, message=message, cause="manual").count() == 1


# The live log --------------------------------------------------------------------------------------


def sse_events(raw: bytes) -> list[tuple[str, str | None, dict]]:
    events = []
    for block in raw.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":"))
        if fields:
            events.append((fields["event"], fields.get("id"), json.loads(fields["data"])))
    return events


@sync_stream
def test_the_stream_of_a_finished_run_sends_its_lines_then_its_end(client_for, project, alice):
    job = make_job(project)
    run = make_run(job, final_state={"data": {"n": 2}}, logs=[("JOB", "info", "one"), ("JOB", "info", "two")])

    response = client_for(alice).get(reverse("run-events", args=[project.slug, run.pk]))

    assert response["Content-Type"] == "text/event-stream"
    events = sse_events(b"".join(response))
    assert [(e[0], e[1]) for e in events] == [("status", None), ("log", "0"), ("log", "1"), ("end", None)]
    assert events[1][2]["message"] == "one" and events[1][2]["source"] == "JOB"
    assert events[3][2] == {
        "status": "success",
        "exit_code": 0,
        "final_state": {"data": {"n": 2}},
        "url": reverse("run-detail", args=[project.slug, run.pk]),
    }


@sync_stream
def test_a_reconnecting_stream_resumes_after_the_last_event_id(client_for, project, alice):
    run = make_run(make_job(project), logs=[("JOB", "info", "one"), ("JOB", "info", "two")])

    response = client_for(alice).get(
        reverse("run-events", args=[project.slug, run.pk]), HTTP_LAST_EVENT_ID="0"
    )

    assert [e[2].get("message") for e in sse_events(b"".join(response)) if e[0] == "log"] == ["two"]


def test_the_stream_sends_lines_written_while_the_run_is_running(project):
    run = make_run(make_job(project), status=Run.Status.RUNNING, logs=[("JOB", "info", "one")])

    def the_worker_goes_on():
        LogLine.objects.create(run=run, seq=1, time=timezone.now(), source="JOB", level="info", message="two")
        Run.objects.filter(pk=run.pk).update(status=Run.Status.SUCCESS, exit_code=0, final_state={"done": 1})

    async def follow():
        seen = []
        async for chunk in run_log_events(run.pk, project.slug, limit_seconds=30):
            seen += sse_events(chunk)
            if seen[-1][0] == "log" and seen[-1][2]["message"] == "one":
                await sync_to_async(the_worker_goes_on)()
        return seen

    seen = async_to_sync(follow)()

    assert [(e[0], e[2].get("status") or e[2].get("message")) for e in seen] == [
        ("status", "running"),
        ("log", "one"),
        ("status", "success"),
        ("log", "two"),
        ("end", "success"),
    ]


def test_the_stream_of_an_aborted_run_waits_for_the_last_lines_its_worker_writes(project):
    # An administrator aborted the run while it ran: its status changed first; its worker kills the
    # Node process and writes the rest of the log (ending "Run complete with status: ...") a moment later.
    run = make_run(make_job(project), status=Run.Status.RUNNING, logs=[("JOB", "info", "one")])
    run.abort()

    def the_worker_notices():
        for seq, message in (
            (1, "Aborted: the run was cancelled while it ran"),
            (2, "Run complete with status: cancelled"),
        ):
            LogLine.objects.create(
                run=run, seq=seq, time=timezone.now(), source="RTE", level="error", message=message
            )

    async def follow():
        seen = []
        async for chunk in run_log_events(run.pk, project.slug, limit_seconds=30):
            seen += sse_events(chunk)
            if seen[-1][0] == "log" and seen[-1][2]["message"] == "one":
                await sync_to_async(the_worker_notices)()
        return seen

    seen = async_to_sync(follow)()

    assert [(e[0], e[2].get("status") or e[2].get("message")) for e in seen] == [
        ("status", "aborted"),
        ("log", "one"),
        ("log", "Aborted: the run was cancelled while it ran"),
        ("log", "Run complete with status: cancelled"),
        ("end", "aborted"),
    ]


def test_the_stream_gives_up_on_a_run_that_outlasts_it(project):
    run = make_run(make_job(project), status=Run.Status.PENDING)

    async def follow():
        return [
            event
            async for chunk in run_log_events(run.pk, project.slug, limit_seconds=0)
            for event in sse_events(chunk)
        ]

    seen = async_to_sync(follow)()

    assert [e[0] for e in seen] == ["status", "timeout"]
    assert "still pending" in seen[1][2]["error"]


# Access --------------------------------------------------------------------------------------------


def studio_urls(project, job, trigger, message, run, install):
    slug = project.slug
    return [
        ("get", reverse("job-create", args=[slug]), None),
        ("get", reverse("job-edit", args=[slug, job.pk]), None),
        ("post", reverse("studio-check", args=[slug]), {"expression": "fn(s => s);"}),
        ("get", reverse("studio-adaptors", args=[slug]), None),
        ("get", reverse("studio-adaptor-versions", args=[slug]) + "?adaptor=left-pad", None),
        (
            "get",
            reverse("studio-adaptor-docs", args=[slug]) + "?adaptor=@openfn/language-http&version=7.2.10",
            None,
        ),
        (
            "get",
            reverse("studio-adaptor-types", args=[slug]) + "?adaptor=@openfn/language-http&version=7.2.10",
            None,
        ),
        ("post", reverse("studio-adaptor-install", args=[slug]), {"adaptor": "@types/node"}),
        ("get", reverse("studio-adaptor-install-status", args=[slug, install.pk]), None),
        ("get", reverse("studio-trigger-messages", args=[slug, trigger.pk]), None),
        ("get", reverse("studio-message-state", args=[slug, message.pk]), None),
        ("post", reverse("studio-save-and-run-new", args=[slug]), {"name": "x"}),
        ("post", reverse("studio-save-and-run", args=[slug, job.pk]), {"name": "x"}),
        ("get", reverse("run-events", args=[slug, run.pk]), None),
    ]


def test_outsiders_get_404_from_every_studio_page_and_endpoint(client_for, project, charlie, installed):
    trigger = make_trigger(project, criteria={})
    job = make_job(project, trigger=trigger)
    message, runs = post_message(project, {"n": 1})
    install = AdaptorInstall.objects.create(adaptor="@openfn/language-http", version="7.2.10")
    client = client_for(charlie)

    for method, url, body in studio_urls(project, job, trigger, message, runs[0], install):
        if method == "get":
            response = client.get(url)
        else:
            response = post_json(client, url, body) if "save-and-run" not in url else client.post(url, body)
        assert response.status_code == 404, url

    assert Job.objects.count() == 1 and not Run.objects.exclude(pk=runs[0].pk).exists()


@sync_stream
def test_members_reach_every_studio_page_and_endpoint(client_for, project, bob, installed):
    trigger = make_trigger(project, criteria={})
    job = make_job(project, trigger=trigger)
    message, runs = post_message(project, {"n": 1})
    make_run(job, message=message)
    install = AdaptorInstall.objects.create(adaptor="@openfn/language-http", version="7.2.10")
    client = client_for(bob)

    for method, url, body in studio_urls(project, job, trigger, message, Run.objects.last(), install):
        if method == "get":
            response = client.get(url)
            if response.get("Content-Type") == "text/event-stream":
                b"".join(response)
        else:
            response = post_json(client, url, body) if "save-and-run" not in url else client.post(url, body)
        assert response.status_code in (200, 400), (url, response.status_code)


def test_the_studio_needs_a_login(client, project, installed):
    for url in (reverse("job-create", args=[project.slug]), reverse("account-preferences")):
        assert client.get(url).status_code == 302
