"""The run page: state trees, the runs a run started, Reprocess, and Abort for administrators."""

from django.urls import reverse

from kindling.projects.models import Membership
from kindling.runs.models import Run
from kindling.runs.templatetags.jsontree import json_tree
from tests.conftest import make_job, make_trigger, post_message
from tests.portal.conftest import make_run


def page(client, run) -> str:
    return client.get(reverse("run-detail", args=[run.project.slug, run.pk])).content.decode()


def test_states_show_as_collapsible_trees(client_for, project, alice):
    run = make_run(
        make_job(project),
        initial_state={"data": {"patient": {"name": "Jack", "ids": [7, 8]}}},
        final_state={"data": {"ok": True}, "big": 12345678901234567890},
    )

    html = page(client_for(alice), run)

    assert 'id="initial-state-tree"' in html and 'id="final-state-tree"' in html
    assert '<summary><span class="kindling-tree-key">&quot;patient&quot;</span>: {…}' in html
    assert '<span class="kindling-tree-string">&quot;Jack&quot;</span>' in html
    # Integers keep every digit (a browser's JSON.parse would round this one).
    assert '<span class="kindling-tree-number">12345678901234567890</span>' in html


def test_the_tree_opens_two_levels_and_escapes_everything():
    tree = json_tree({"a": {"b": {"c": "<script>"}}})

    assert tree.count("<details open>") == 1 and tree.count("<details>") == 1
    assert "<script>" not in tree and "&lt;script&gt;" in tree


def test_a_huge_state_gets_no_tree_but_its_raw_json(client_for, project, alice):
    run = make_run(make_job(project), final_state={"rows": list(range(5000))})

    html = page(client_for(alice), run)

    assert 'id="final-state-tree"' not in html
    assert '<details class="kindling-raw" open>' in html


def test_a_run_links_to_the_runs_it_started(client_for, project, alice):
    parent = make_run(make_job(project, "a"))
    child = make_run(make_job(project, "b"), parent=parent, cause=Run.Cause.FLOW)

    html = page(client_for(alice), parent)

    assert (
        f'href="{reverse("run-detail", args=[project.slug, child.pk])}">run {child.pk}</a> (b, flow)' in html
    )


def test_reprocess_queues_the_job_again_on_the_message_as_it_is_now(client_for, project, alice):
    job = make_job(project, trigger=make_trigger(project))
    message, _ = post_message(project, {"n": 1})
    Run.objects.all().delete()
    run = make_run(job, message=message, status=Run.Status.FAILED, exit_code=1)
    Run.objects.filter(pk=run.pk).update(created_at=run.created_at.replace(year=2020))
    message.body = {"n": 2}
    message.save()

    response = client_for(alice).post(reverse("run-reprocess", args=[project.slug, run.pk]))

    new = Run.objects.exclude(pk=run.pk).get()
    assert (new.job, new.message, new.initial_state, new.status) == (
        job,
        message,
        {"data": {"n": 2}},
        "pending",
    )
    assert response["Location"] == reverse("run-detail", args=[project.slug, new.pk])


def test_reprocess_refuses_an_archived_job(client_for, project, alice):
    run = make_run(make_job(project, archived=True))

    response = client_for(alice).post(reverse("run-reprocess", args=[project.slug, run.pk]), follow=True)

    assert "restore it before reprocessing" in response.content.decode()
    assert Run.objects.count() == 1


def test_an_owner_aborts_a_pending_run(client_for, project, alice):
    run = make_run(make_job(project), status=Run.Status.PENDING)
    client = client_for(alice)

    assert "> Abort</button>" in page(client, run)
    client.post(reverse("run-abort", args=[project.slug, run.pk]))

    run.refresh_from_db()
    assert (run.status, run.exit_code) == ("aborted", 6)


def test_a_collaborator_cannot_abort(client_for, project, bob):
    run = make_run(make_job(project), status=Run.Status.PENDING)
    client = client_for(bob)

    assert "> Abort</button>" not in page(client, run)
    response = client.post(reverse("run-abort", args=[project.slug, run.pk]))

    assert response.status_code == 403
    run.refresh_from_db()
    assert run.status == "pending"


def test_an_admin_may_abort_and_a_finished_run_stays_as_it_was(client_for, project, bob):
    Membership.objects.filter(user=bob).update(role=Membership.Role.ADMIN)
    run = make_run(make_job(project))

    response = client_for(bob).post(reverse("run-abort", args=[project.slug, run.pk]), follow=True)

    assert "had already ended" in response.content.decode()
    run.refresh_from_db()
    assert run.status == "success"


# Explicit clicks pass the 10-second rule; a double click (one page's token) starts one run.


def test_reprocess_pressed_again_at_once_starts_another_run(client_for, project, alice):
    job = make_job(project, "double", make_trigger(project, criteria={"number": 2}))
    _message, (run,) = post_message(project, {"number": 2})
    client = client_for(alice)
    url = reverse("run-reprocess", args=[project.slug, run.pk])

    client.post(url, {"request_token": "first-page-token"})
    client.post(url, {"request_token": "second-page-token"})

    assert Run.objects.filter(job=job).count() == 3


def test_a_double_click_on_reprocess_starts_one_run_and_both_land_on_it(client_for, project, alice):
    make_job(project, "double", make_trigger(project, criteria={"number": 2}))
    _message, (run,) = post_message(project, {"number": 2})
    client = client_for(alice)
    page = client.get(reverse("run-detail", args=[project.slug, run.pk])).content.decode()
    token = page.split('name="request_token" value="', 1)[1].split('"', 1)[0]
    url = reverse("run-reprocess", args=[project.slug, run.pk])

    first = client.post(url, {"request_token": token})
    second = client.post(url, {"request_token": token})

    new = Run.objects.exclude(pk=run.pk).get()
    assert first["Location"] == second["Location"] == reverse("run-detail", args=[project.slug, new.pk])


def test_an_outsider_cannot_reprocess(client_for, project, charlie):
    make_job(project, "double", make_trigger(project, criteria={"number": 2}))
    _message, (run,) = post_message(project, {"number": 2})

    response = client_for(charlie).post(reverse("run-reprocess", args=[project.slug, run.pk]))

    assert response.status_code == 404 and Run.objects.count() == 1


def test_run_now_on_the_job_page_twice_runs_twice_and_a_double_click_once(client_for, project, alice):
    job = make_job(project, "double", make_trigger(project, criteria={"number": 2}))
    message, _runs = post_message(project, {"number": 2})
    client = client_for(alice)
    page = client.get(reverse("job-detail", args=[project.slug, job.pk])).content.decode()
    token = page.split('name="request_token" value="', 1)[1].split('"', 1)[0]
    url = reverse("job-run", args=[project.slug, job.pk])

    first = client.post(url, {"message": message.pk, "request_token": token})
    double = client.post(url, {"message": message.pk, "request_token": token})
    again = client.post(url, {"message": message.pk, "request_token": "the-next-page-load"})

    assert first["Location"] == double["Location"] != again["Location"]
    assert Run.objects.filter(job=job, cause="manual").count() == 2
