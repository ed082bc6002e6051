"""The Reprocess dialogs of Activity and Inbox, their REST endpoints, and the queue indicator."""

from datetime import timedelta

from django.utils import timezone

from kindling.runs.models import Run
from tests.conftest import make_job, make_trigger, post_message
from tests.portal.conftest import make_run


def failed_runs(project, job, n):
    return [
        make_run(
            job,
            message=post_message(project, {"n": i})[0],
            status=Run.Status.FAILED,
            exit_code=1,
            created_at=timezone.now() - timedelta(minutes=5),
        )
        for i in range(n)
    ]


def test_activity_and_inbox_show_the_bulk_buttons(client_for, project, bob):
    for page in ("activity", "inbox"):
        html = client_for(bob).get(f"/projects/{project.slug}/{page}", {"status": "failed"}).content.decode()
        assert "Reprocess</button>" in html and "Export as CSV</button>" in html
        assert "status=failed" in html  # the dialog is asked about the current filters


def test_the_reprocess_dialog_states_the_query_and_its_count(client_for, project, bob):
    job = make_job(project, "send-to-dhis2")
    failed_runs(project, job, 3)

    html = (
        client_for(bob)
        .get(f"/projects/{project.slug}/history/runs/reprocess/dialog", {"status": "failed", "job": job.pk})
        .content.decode()
    )

    assert "failed runs of send-to-dhis2, in the last 30 days" in html
    assert "3 runs will be queued again" in html
    assert 'name="status" value="failed"' in html


def test_confirming_enqueues_the_runs_and_says_how_many(client_for, project, bob):
    job = make_job(project, "send-to-dhis2")
    failed_runs(project, job, 3)

    response = client_for(bob).post(
        f"/projects/{project.slug}/history/runs/reprocess", {"status": "failed"}, follow=True
    )

    assert "3 runs enqueued" in response.content.decode()
    assert Run.objects.filter(status=Run.Status.PENDING).count() == 3
    assert response.redirect_chain[-1][0] == f"/projects/{project.slug}/activity?status=failed"


def test_reprocessing_messages_from_the_inbox(client_for, project, bob):
    off = make_job(project, "send", make_trigger(project, "all", criteria={}), enabled=False)
    post_message(project, {"a": 1})
    post_message(project, {"a": 2})
    off.enabled = True
    off.save()

    response = client_for(bob).post(f"/projects/{project.slug}/history/messages/reprocess", {}, follow=True)

    assert "2 runs enqueued" in response.content.decode()
    assert Run.objects.filter(job=off).count() == 2


def test_outsiders_get_404_and_bad_lists_404(client_for, project, charlie, bob):
    make_run(make_job(project), status=Run.Status.FAILED, exit_code=1)
    outsider = client_for(charlie)

    assert outsider.get(f"/projects/{project.slug}/history/runs/reprocess/dialog").status_code == 404
    assert outsider.post(f"/projects/{project.slug}/history/runs/reprocess").status_code == 404
    assert outsider.get(f"/projects/{project.slug}/queue").status_code == 404
    assert client_for(bob).get(f"/projects/{project.slug}/history/files/reprocess/dialog").status_code == 404
    assert Run.objects.count() == 1


def test_the_api_reprocesses_with_the_lists_filters(call, project, alice):
    job = make_job(project, "send")
    failed_runs(project, job, 2)
    make_job(project, "register", make_trigger(project, "all", criteria={}))

    runs = call(
        alice, "POST", f"/projects/{project.slug}/runs/reprocess", {"job": "send", "status": "failed"}
    )
    messages = call(alice, "POST", f"/projects/{project.slug}/messages/reprocess", {"trigger": "all"})
    unknown = call(alice, "POST", f"/projects/{project.slug}/runs/reprocess", {"job": "ghost"})
    bad_day = call(alice, "POST", f"/projects/{project.slug}/runs/reprocess", {"from": "01/12/2026"})
    no_words = call(alice, "POST", f"/projects/{project.slug}/messages/reprocess", {"q": "!!"})

    assert runs.status_code == 200 and runs.json() == {"enqueued": 2}
    assert messages.json() == {"enqueued": 2}
    assert unknown.status_code == 400 and "ghost" in unknown.json()["error"]
    assert bad_day.status_code == 400 and "YYYY-MM-DD" in bad_day.json()["error"]
    assert no_words.status_code == 400 and "word" in no_words.json()["error"]


def test_the_api_refuses_outsiders(call, project, charlie):
    assert call(charlie, "POST", f"/projects/{project.slug}/runs/reprocess", {}).status_code == 404


def test_the_queue_indicator_counts_pending_and_running_runs(client_for, project, bob):
    job = make_job(project)
    for status in ("pending", "pending", "running", "success"):
        make_run(job, status=status)

    html = client_for(bob).get(f"/projects/{project.slug}/queue").content.decode()
    page = client_for(bob).get(f"/projects/{project.slug}/jobs").content.decode()

    assert "<strong>2</strong> pending" in html and "<strong>1</strong> running" in html
    assert f'hx-get="/projects/{project.slug}/queue"' in page and "<strong>2</strong> pending" in page


def test_the_queue_indicator_stops_asking_once_the_queue_is_empty(client_for, project, bob):
    make_run(make_job(project), status="success")

    html = client_for(bob).get(f"/projects/{project.slug}/queue").content.decode()

    assert "<strong>0</strong> pending" in html and "hx-get" not in html
