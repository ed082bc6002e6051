"""Every page and every action of the portal's project sections: an outsider gets 404, whatever the
method, and the objects stay as they were; an anonymous visitor is sent to log in."""

import pytest
from django.urls import reverse

from kindling.inbox.models import Message
from kindling.jobs.models import Job, Trigger
from kindling.runs.models import Run
from tests.conftest import make_job, make_trigger, post_message
from tests.portal.conftest import make_run


@pytest.fixture
def objects(project):
    trigger = make_trigger(project, criteria={"number": 2})
    job = make_job(project, trigger=trigger, enabled=False)
    message, _ = post_message(project, {"number": 2})
    run = make_run(job, message=message, status=Run.Status.PENDING)
    return {
        "slug": project.slug, "job": job.pk, "trigger": trigger.pk, "message": message.pk, "run": run.pk,
        # the bulk actions of issue 15: /history/<runs|messages>/<reprocess|export>
        "runs": "runs", "messages": "messages", "reprocess": "reprocess", "export": "export",
    }  # fmt: skip


PAGES = [
    ("job-list", []),
    ("job-create", []),
    ("job-detail", ["job"]),
    ("job-edit", ["job"]),
    ("trigger-list", []),
    ("trigger-create", []),
    ("trigger-edit", ["trigger"]),
    ("trigger-cron-times", []),
    ("project-activity", []),
    ("run-detail", ["run"]),
    ("project-inbox", []),
    ("message-create", []),
    ("message-detail", ["message"]),
    ("message-edit", ["message"]),
    ("search-console", []),
    ("project-queue", []),
    ("bulk-dialog", ["runs", "reprocess"]),
    ("bulk-dialog", ["messages", "export"]),
]

ACTIONS = [
    ("job-create", [], {"name": "sneaky", "adaptor": "@openfn/language-common"}),
    ("job-edit", ["job"], {"name": "renamed", "adaptor": "@openfn/language-common"}),
    ("job-set-enabled", ["job"], {"enabled": "on"}),
    ("job-run", ["job"], {"message": "message"}),
    ("trigger-create", [], {"name": "sneaky", "kind": "cron", "cron": "* * * * *"}),
    ("trigger-edit", ["trigger"], {"name": "renamed", "kind": "cron", "cron": "* * * * *"}),
    ("trigger-delete", ["trigger"], {}),
    ("run-reprocess", ["run"], {}),
    ("run-abort", ["run"], {}),
    ("message-create", [], {"body": '{"a": 1}'}),
    ("message-edit", ["message"], {"body": '{"a": 1}'}),
    ("message-process", ["message"], {}),
    ("bulk-reprocess", ["runs"], {}),
    ("bulk-reprocess", ["messages"], {}),
    ("bulk-export", ["runs"], {}),
    ("bulk-export", ["messages"], {}),
]
FLAGS = ["private", "public", "console-off", "console-on", "archive", "restore"]


def url(objects, name, args):
    return reverse(name, args=[objects["slug"], *(objects[a] for a in args)])


def snapshot():
    return (
        list(
            Job.objects.order_by("pk").values_list(
                "name", "enabled", "private", "archived", "console_disabled"
            )
        ),
        list(Trigger.objects.order_by("pk").values_list("name", "kind", "cron")),
        list(Run.objects.order_by("pk").values_list("pk", "status")),
        list(Message.objects.order_by("pk").values_list("pk", "body")),
    )


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_an_outsider_gets_404_on_every_page(client_for, charlie, objects, name, args):
    response = client_for(charlie).get(url(objects, name, args))

    assert response.status_code == 404
    assert "Health Ministry" not in response.content.decode()


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_an_anonymous_visitor_is_sent_to_log_in(client, objects, name, args):
    response = client.get(url(objects, name, args))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_a_collaborator_sees_every_page(client_for, bob, objects, name, args):
    assert client_for(bob).get(url(objects, name, args)).status_code == 200


@pytest.mark.parametrize(("name", "args", "data"), ACTIONS)
def test_an_outsider_gets_404_on_every_action_and_nothing_changes(
    client_for, charlie, objects, name, args, data
):
    before = snapshot()
    data = {key: objects["message"] if value == "message" else value for key, value in data.items()}

    response = client_for(charlie).post(url(objects, name, args), data)

    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("flag", FLAGS)
def test_an_outsider_gets_404_on_every_job_switch(client_for, charlie, objects, flag):
    before = snapshot()

    response = client_for(charlie).post(reverse("job-set-flag", args=[objects["slug"], objects["job"], flag]))

    assert response.status_code == 404
    assert snapshot() == before
