"""The Jobs pages: cards, search, the on/off switch, the job page's icons, create, edit, run now."""

import re

import pytest
from django.urls import reverse

from kindling.jobs.models import Job, Trigger
from kindling.runs.models import Run
from tests.conftest import make_credential, make_job, make_trigger, post_message
from tests.portal.conftest import make_run


@pytest.fixture
def jobs_url(project):
    return reverse("job-list", args=[project.slug])


def card_names(html) -> list[str]:
    return re.findall(r'<h2 class="h6 mb-0 me-auto text-break" id="job-\d+-name">([^<]+)</h2>', html)


def card_of(html, job) -> str:
    start = html.index(f'id="job-{job.pk}"')
    return html[start : html.index("</article>", start)]


def test_a_card_shows_name_trigger_adaptor_credential_and_last_run(client_for, project, alice, jobs_url):
    credential = make_credential(alice, "dhis2-prod", projects=[project])
    trigger = make_trigger(project, "registrations", criteria={"formID": "x"})
    job = make_job(
        project,
        "send-to-dhis2",
        trigger,
        credential=credential,
        adaptor="@openfn/language-dhis2",
        adaptor_version="4.0.3",
    )
    make_run(job)
    make_run(job, status=Run.Status.FAILED, exit_code=1)

    card = card_of(client_for(alice).get(jobs_url).content.decode(), job)

    assert "send-to-dhis2" in card and "registrations" in card and "Message filter" in card
    assert "@openfn/language-dhis2@4.0.3" in card
    assert "dhis2-prod" in card
    assert re.search(r'kindling-last-run">.*>failed</span>', card, re.S)
    view = reverse("job-detail", args=[project.slug, job.pk])
    assert f'href="{view}" aria-label="View send-to-dhis2">View</a>' in card


def test_archived_jobs_leave_the_list_and_come_back_with_show_archived(client_for, project, alice, jobs_url):
    make_job(project, "live")
    make_job(project, "old", archived=True)
    client = client_for(alice)

    assert card_names(client.get(jobs_url).content.decode()) == ["live"]
    shown = client.get(jobs_url + "?archived=1").content.decode()
    assert card_names(shown) == ["live", "old"]
    assert ">archived</span>" in shown


def test_search_filters_by_any_part_of_the_name(client_for, project, alice, jobs_url):
    for name in ("send-to-dhis2", "DHIS2 import", "nightly-sync"):
        make_job(project, name)

    html = client_for(alice).get(jobs_url, {"q": "dhis"}).content.decode()

    assert card_names(html) == ["DHIS2 import", "send-to-dhis2"]


def test_the_search_as_you_type_answers_with_the_cards_only(client_for, project, alice, jobs_url):
    make_job(project, "send-to-dhis2")
    make_job(project, "nightly-sync")

    html = client_for(alice).get(jobs_url, {"q": "night"}, headers={"HX-Request": "true"}).content.decode()

    assert html.lstrip().startswith('<div id="job-cards"')
    assert card_names(html) == ["nightly-sync"]
    assert "<html" not in html


def test_the_switch_turns_a_job_on_and_off(client_for, project, alice):
    job = make_job(project, enabled=False)
    client = client_for(alice)
    switch = reverse("job-set-enabled", args=[project.slug, job.pk])

    on = client.post(switch, {"enabled": "on"}, headers={"HX-Request": "true"}).content.decode()
    job.refresh_from_db()
    assert job.enabled is True
    assert re.search(r'id="job-\d+-enabled" checked', on)

    off = client.post(switch, {}, headers={"HX-Request": "true"}).content.decode()
    job.refresh_from_db()
    assert job.enabled is False
    assert "checked" not in off


def test_an_archived_job_cannot_be_switched_on(client_for, project, alice):
    job = make_job(project, enabled=False, archived=True)

    html = (
        client_for(alice)
        .post(
            reverse("job-set-enabled", args=[project.slug, job.pk]),
            {"enabled": "on"},
            headers={"HX-Request": "true"},
        )
        .content.decode()
    )

    job.refresh_from_db()
    assert job.enabled is False
    assert "restore it before switching it on" in html


@pytest.mark.parametrize(
    ("flag", "field", "start", "end"),
    [
        ("private", "private", False, True),
        ("public", "private", True, False),
        ("console-off", "console_disabled", False, True),
        ("console-on", "console_disabled", True, False),
        ("archive", "archived", False, True),
        ("restore", "archived", True, False),
    ],
)
def test_the_job_pages_icons_change_the_job(client_for, project, bob, flag, field, start, end):
    job = make_job(project, **{field: start})

    response = client_for(bob).post(reverse("job-set-flag", args=[project.slug, job.pk, flag]))

    job.refresh_from_db()
    assert getattr(job, field) is end
    assert response.status_code == 302


def test_the_job_page_has_labelled_icon_buttons_and_an_archive_dialog(client_for, project, alice):
    job = make_job(project)

    html = client_for(alice).get(reverse("job-detail", args=[project.slug, job.pk])).content.decode()

    for label in ("Make private", "Archive job", "Disable console.log", "Edit job"):
        assert f'aria-label="{label}" title="' in html
    assert 'data-bs-target="#archive-dialog"' in html
    assert (
        'id="archive-dialog"' in html
        and reverse("job-set-flag", args=[project.slug, job.pk, "archive"]) in html
    )
    assert "Restore job" not in html


def test_an_archived_job_shows_the_restore_icon(client_for, project, alice):
    job = make_job(project, archived=True)

    html = client_for(alice).get(reverse("job-detail", args=[project.slug, job.pk])).content.decode()

    assert 'aria-label="Restore job"' in html and 'aria-label="Archive job"' not in html


def test_a_job_without_a_trigger_shows_a_warning(client_for, project, alice, jobs_url):
    job = make_job(project, trigger=None)

    card = card_of(client_for(alice).get(jobs_url).content.decode(), job)
    page = client_for(alice).get(reverse("job-detail", args=[project.slug, job.pk])).content.decode()

    assert "No trigger: this job does not run until it gets one." in card
    assert "No trigger: this job does not run until it gets one." in page


def test_creating_a_job_saves_it_switched_off(client_for, project, alice):
    credential = make_credential(alice, "dhis2-prod", projects=[project])
    trigger = make_trigger(project, "registrations")

    response = client_for(alice).post(
        reverse("job-create", args=[project.slug]),
        {
            "name": "send-to-dhis2",
            "trigger": trigger.pk,
            "adaptor": "@openfn/language-dhis2",
            "adaptor_version": "4.0.3",
            "credential": credential.pk,
            "expression": "fn(state => state);",
        },
    )

    job = Job.objects.get(name="send-to-dhis2")
    assert response["Location"] == reverse("job-edit", args=[project.slug, job.pk])  # stays in Job Studio
    assert (job.trigger, job.credential, job.adaptor_spec, job.enabled) == (
        trigger,
        credential,
        "@openfn/language-dhis2@4.0.3",
        False,
    )
    assert job.expression == "fn(state => state);"


def test_a_job_name_must_be_free(client_for, project, alice):
    make_job(project, "send-to-dhis2")

    response = client_for(alice).post(
        reverse("job-create", args=[project.slug]),
        {"name": "send-to-dhis2", "adaptor": "@openfn/language-common"},
    )

    assert response.status_code == 200
    assert "is already taken in this project" in response.content.decode()
    assert Job.objects.count() == 1


def test_the_form_offers_only_credentials_shared_with_the_project(client_for, project, alice):
    make_credential(alice, "shared-one", projects=[project])
    other = make_credential(alice, "not-shared")

    client = client_for(alice)
    html = client.get(reverse("job-create", args=[project.slug])).content.decode()
    response = client.post(
        reverse("job-create", args=[project.slug]),
        {"name": "j", "adaptor": "@openfn/language-common", "credential": other.pk},
    )

    assert "shared-one" in html and "not-shared" not in html
    assert response.status_code == 200 and not Job.objects.filter(name="j").exists()


def test_editing_refuses_a_trigger_that_closes_a_cycle(client_for, project, alice):
    a = make_job(project, "a", make_trigger(project, "incoming"))
    make_job(project, "b", make_trigger(project, "after-a", Trigger.Kind.FLOW, upstream_job=a))
    after_b = make_trigger(project, "after-b", Trigger.Kind.FLOW, upstream_job=Job.objects.get(name="b"))

    response = client_for(alice).post(
        reverse("job-edit", args=[project.slug, a.pk]),
        {"name": "a", "trigger": after_b.pk, "adaptor": "@openfn/language-common"},
    )

    assert "start itself forever" in response.content.decode()
    a.refresh_from_db()
    assert a.trigger.name == "incoming"


def test_editing_a_job_changes_its_fields(client_for, project, alice):
    job = make_job(project, "old-name", make_trigger(project))

    client_for(alice).post(
        reverse("job-edit", args=[project.slug, job.pk]),
        {
            "name": "new-name",
            "trigger": "",
            "adaptor": "@openfn/language-http",
            "adaptor_version": "",
            "expression": "get('/x');",
        },
    )

    job.refresh_from_db()
    assert (job.name, job.trigger, job.adaptor_spec, job.expression) == (
        "new-name",
        None,
        "@openfn/language-http@latest",
        "get('/x');",
    )


def test_an_invalid_adaptor_is_refused(client_for, project, alice):
    response = client_for(alice).post(
        reverse("job-create", args=[project.slug]),
        {"name": "j", "adaptor": "left-pad", "adaptor_version": "1.0.0"},
    )

    assert "is not an adaptor Kindling can run" in response.content.decode()
    assert not Job.objects.exists()


def test_run_now_runs_a_message_job_on_the_chosen_message(client_for, project, alice):
    trigger = make_trigger(project, criteria={"number": 2})
    job = make_job(project, trigger=trigger, enabled=False)
    message, _ = post_message(project, {"number": 2})
    client = client_for(alice)

    page = client.get(reverse("job-detail", args=[project.slug, job.pk])).content.decode()
    response = client.post(reverse("job-run", args=[project.slug, job.pk]), {"message": message.pk})

    assert f'<option value="{message.pk}">Message {message.pk}' in page
    run = Run.objects.get(job=job)
    assert (run.message, run.initial_state, run.cause) == (message, {"data": {"number": 2}}, Run.Cause.MANUAL)
    assert response["Location"] == reverse("run-detail", args=[project.slug, run.pk])


def test_run_now_runs_a_cron_job_from_its_saved_state(client_for, project, alice):
    job = make_job(
        project,
        trigger=make_trigger(project, "tick", Trigger.Kind.CRON, cron="* * * * *"),
        saved_state={"counter": 3},
    )

    client_for(alice).post(reverse("job-run", args=[project.slug, job.pk]))

    assert Run.objects.get(job=job).initial_state == {"counter": 3}


def test_run_now_explains_why_a_flow_job_cannot_run_by_itself(client_for, project, alice):
    upstream = make_job(project, "a")
    job = make_job(project, "b", make_trigger(project, "after-a", Trigger.Kind.FLOW, upstream_job=upstream))

    response = client_for(alice).post(reverse("job-run", args=[project.slug, job.pk]), follow=True)

    assert "reprocess a run of that job instead" in response.content.decode()
    assert not Run.objects.exists()


def test_run_now_refuses_a_message_of_another_project(client_for, project, alice):
    from tests.conftest import make_project

    other = make_project(alice, "Other")
    job = make_job(project, trigger=make_trigger(project))
    message, _ = post_message(other, {"x": 1})

    response = client_for(alice).post(
        reverse("job-run", args=[project.slug, job.pk]), {"message_number": message.pk}, follow=True
    )

    assert f"There is no message {message.pk} in this project" in response.content.decode()
    assert not Run.objects.filter(job=job).exists()


def test_the_jobs_entry_of_the_menu_is_current(client_for, project, alice, jobs_url):
    html = client_for(alice).get(jobs_url).content.decode()

    assert f'class="nav-link active" aria-current="page" href="{jobs_url}"' in html
    assert f'href="{reverse("job-create", args=[project.slug])}" aria-label="New job"' in html


def test_a_job_keeps_a_credential_unshared_since_when_other_fields_change(client_for, project, alice):
    credential = make_credential(alice, "dhis2-prod", projects=[project])
    job = make_job(project, "send", credential=credential)
    credential.projects.clear()

    client_for(alice).post(
        reverse("job-edit", args=[project.slug, job.pk]),
        {
            "name": "send",
            "adaptor": job.adaptor,
            "adaptor_version": job.adaptor_version,
            "credential": credential.pk,
            "expression": "fn(s => s);",
        },
    )

    job.refresh_from_db()
    assert (job.expression, job.credential) == ("fn(s => s);", credential)


def test_a_history_restore_gets_the_whole_page_not_the_cards(client_for, project, alice, jobs_url):
    make_job(project, "nightly-sync")

    response = client_for(alice).get(
        jobs_url, {"q": "night"}, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )

    assert "<html" in response.content.decode()
    assert "HX-Request" in response["Vary"]
