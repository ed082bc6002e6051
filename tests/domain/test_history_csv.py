"""CSV exports: built in the background, emailed through a real (local) SMTP server, downloadable by
the requester only, for 7 days."""

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from kindling.exports import build as exports
from kindling.exports.history_csv import request_csv
from kindling.exports.models import Export
from kindling.inbox.filters import InboxFilters
from kindling.runs.filters import ActivityFilters
from kindling.runs.models import Run
from tests.api.conftest import call  # noqa: F401
from tests.conftest import make_job, make_trigger, post_message
from tests.domain.test_mail import smtp_server  # noqa: F401
from tests.portal.conftest import make_run


@pytest.fixture
def smtp(settings, smtp_server, tmp_path):  # noqa: F811
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.server_address[1]
    settings.DATA_DIR = tmp_path
    settings.BASE_URL = "http://kindling.test"
    return smtp_server


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def link_in(smtp) -> str:
    _sender, _recipients, mail = smtp.received[-1]
    return re.search(r"http://kindling.test(\S+)", mail.get_payload()).group(1)


def test_a_runs_export_is_emailed_and_downloads_with_its_columns(smtp, project, alice, client_for):
    job = make_job(project, "send-to-dhis2", make_trigger(project, "forms"))
    message, _ = post_message(project, {"form": 1})
    failed = make_run(job, message=message, status=Run.Status.FAILED, exit_code=1, seconds=2.5)
    make_run(job, status=Run.Status.SUCCESS)
    export = request_csv(project, alice, "runs", ActivityFilters.from_params({"status": "failed"}))

    assert exports.build_pending() == 1

    export.refresh_from_db()
    assert export.status == Export.Status.READY and export.row_count == 1
    sender, recipients, mail = smtp.received[-1]
    assert recipients == ["alice@example.com"] and "ready" in mail["Subject"]
    response = client_for(alice).get(link_in(smtp))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    header, row = rows_of(response)
    assert header == [
        "id",
        "job",
        "trigger",
        "cause",
        "status",
        "exit_code",
        "created_at",
        "started_at",
        "finished_at",
        "duration_seconds",
        "message_id",
    ]
    assert row[:6] == [str(failed.pk), "send-to-dhis2", "forms", "message", "failed", "1"]
    assert row[9:] == ["2.500", str(message.pk)]


def test_a_messages_export_has_matches_run_states_headers_and_body(smtp, project, alice, client_for):
    forms = make_trigger(project, "forms", criteria={"form": "v7"})
    make_trigger(project, "other", criteria={"form": "v8"})
    job = make_job(project, "send", forms)
    message, (run,) = post_message(project, {"form": "v7", "name": "Zoë"}, {"X-Source": "kobo"})
    Run.objects.filter(pk=run.pk).update(status=Run.Status.FAILED, exit_code=1, finished_at=timezone.now())
    request_csv(project, alice, "messages", InboxFilters.from_params({}))

    exports.build_pending()

    header, row = rows_of(client_for(alice).get(link_in(smtp)))
    assert header == ["id", "received_at", "trigger_matches", "run_states", "headers", "body"]
    assert row[0] == str(message.pk) and row[2] == "forms" and row[3] == f"{job.name}: failed"
    assert row[4] == '{"x-source": "kobo"}' and row[5] == '{"form": "v7", "name": "Zoë"}'


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised(smtp, project, alice, client_for):
    job = make_job(project, '=HYPERLINK("http://evil")')
    make_run(job)
    request_csv(project, alice, "runs", ActivityFilters.from_params({}))

    exports.build_pending()

    _header, row = rows_of(client_for(alice).get(link_in(smtp)))
    assert row[1] == '\'=HYPERLINK("http://evil")'


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_neutralised(start):
    from kindling.lib.spreadsheet import safe_row

    assert safe_row([f"{start}1+1", "fine", 5, None]) == [f"'{start}1+1", "fine", 5, None]


def test_only_the_requester_downloads(smtp, project, alice, bob, charlie, client_for, client):
    make_run(make_job(project))
    request_csv(project, alice, "runs", ActivityFilters.from_params({}))
    exports.build_pending()
    link = link_in(smtp)

    assert client_for(bob).get(link).status_code == 404  # a member of the project, not the requester
    assert client_for(charlie).get(link).status_code == 404
    assert client.get(link).status_code == 302  # to the login page
    assert client_for(alice).get(link).status_code == 200


def test_the_link_expires_after_7_days_and_the_file_is_deleted(smtp, project, alice, client_for):
    make_run(make_job(project))
    export = request_csv(project, alice, "runs", ActivityFilters.from_params({}))
    exports.build_pending()
    export.refresh_from_db()
    path = Path(export.file_path)
    assert path.exists() and export.expires_at - export.finished_at == timedelta(days=7)

    assert exports.expire(now=timezone.now() + timedelta(days=6)) == []
    assert exports.expire(now=timezone.now() + timedelta(days=7, seconds=1)) == [export.pk]

    assert not path.exists()
    response = client_for(alice).get(link_in(smtp))
    assert response.status_code == 410 and "expired" in response.content.decode()


def test_the_portal_dialog_asks_for_an_export(smtp, project, bob, client_for):
    make_run(make_job(project), status=Run.Status.FAILED, exit_code=1)
    client = client_for(bob)
    dialog = client.get(f"/projects/{project.slug}/history/runs/export/dialog", {"status": "failed"})

    response = client.post(f"/projects/{project.slug}/history/runs/export", {"status": "failed"}, follow=True)

    assert (
        "failed runs, in the last 30 days" in dialog.content.decode()
        and "1 run will be exported" in dialog.content.decode()
    )
    export = Export.objects.get()
    assert export.requester == bob and export.params["filters"] == {"status": "failed"}
    assert "a download link will be emailed to bob@example.com" in response.content.decode()


def test_the_api_requests_an_export_and_reports_it_to_its_requester_only(smtp, project, alice, bob, call):  # noqa: F811
    make_run(make_job(project, "send"), status=Run.Status.FAILED, exit_code=1)

    response = call(
        alice, "POST", f"/projects/{project.slug}/runs/export", {"job": "send", "status": "failed"}
    )

    assert response.status_code == 202
    export_id = response.json()["export"]
    assert call(alice, "GET", f"/exports/{export_id}").json()["status"] == "pending"
    exports.build_pending()
    report = call(alice, "GET", f"/exports/{export_id}").json()
    assert report["status"] == "ready" and report["row_count"] == 1
    assert report["download_url"] == f"http://kindling.test/exports/{export_id}/download"
    assert call(bob, "GET", f"/exports/{export_id}").status_code == 404
    bad = call(alice, "POST", f"/projects/{project.slug}/messages/export", {"job": "send"})
    assert bad.status_code == 400 and "not job" in bad.json()["error"]


def test_outsiders_cannot_export(project, charlie, client_for, call):  # noqa: F811
    assert client_for(charlie).post(f"/projects/{project.slug}/history/runs/export").status_code == 404
    assert call(charlie, "POST", f"/projects/{project.slug}/runs/export", {}).status_code == 404
    assert Export.objects.count() == 0


def test_the_scheduler_builds_exports_in_a_thread_and_resumes_one_cut_short(
    smtp, transactional_db, project, alice, monkeypatch
):
    make_run(make_job(project))
    cut_short = request_csv(project, alice, "runs", ActivityFilters.from_params({}))
    Export.objects.filter(pk=cut_short.pk).update(status=Export.Status.BUILDING)
    monkeypatch.setattr(exports, "_resumed", False)

    exports.background_pass()

    exports._builder.join(timeout=30)
    cut_short.refresh_from_db()
    assert cut_short.status == Export.Status.READY and len(smtp.received) == 1
