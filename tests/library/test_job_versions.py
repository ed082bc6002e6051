"""Every save of a job's expression, adaptor, trigger or credential is kept as a version, whichever way
the job was saved (portal, Job Studio, REST API, project.yaml import), and restoring one saves it again."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from kindling.credentials.models import Credential
from kindling.credentials.sharing import attach
from kindling.jobs import editing, versions
from kindling.jobs.models import Job, JobVersion
from kindling.projects.models import Project
from tests.conftest import make_credential, make_job, make_trigger

EXAMPLE = Path(__file__).parent.parent / "domain" / "example_project.yaml"


def numbers(job) -> list[int]:
    return list(JobVersion.objects.filter(job=job).order_by("number").values_list("number", flat=True))


def test_a_new_job_starts_its_history_with_who_made_it(project, bob):
    job = editing.create_job(project, bob, name="register", expression="fn(s => s);")

    (version,) = JobVersion.objects.filter(job=job)
    assert (version.number, version.author, version.expression) == (1, bob, "fn(s => s);")


@pytest.mark.parametrize(
    "change",
    [
        {"expression": "upsert('Patient', 'id', s => s.data);"},
        {"adaptor": "@openfn/language-http"},
        {"adaptor_version": "6.4.0"},
    ],
)
def test_each_save_of_what_the_job_runs_adds_a_version(project, alice, change):
    job = editing.create_job(project, alice, name="register")

    editing.update_job(job, alice, **change)

    latest = JobVersion.objects.filter(job=job).first()
    assert numbers(job) == [1, 2]
    assert {key: getattr(latest, key) for key in change} == change


def test_a_new_trigger_or_credential_is_a_new_version_with_their_names(project, alice):
    job = editing.create_job(project, alice, name="register")
    trigger = make_trigger(project, "registrations")
    credential = make_credential(alice, "dhis2", projects=[project])

    editing.update_job(job, alice, trigger=trigger)
    attach(job, credential, alice)

    assert numbers(job) == [1, 2, 3]
    latest = JobVersion.objects.filter(job=job).first()
    assert (latest.trigger_name, latest.credential_name) == ("registrations", "dhis2")


def test_renaming_or_switching_a_job_adds_no_version(project, alice):
    job = editing.create_job(project, alice, name="register")

    editing.update_job(job, alice, name="registration", enabled=True, private=True)

    assert numbers(job) == [1]


def test_a_job_saved_before_versions_existed_keeps_what_it_was_as_version_1(project, alice):
    job = make_job(project, "old", expression="fn(old => old);")

    editing.update_job(job, alice, expression="fn(new => new);")

    first, second = JobVersion.objects.filter(job=job).order_by("number")
    assert (first.expression, first.author, second.expression, second.author) == (
        "fn(old => old);",
        None,
        "fn(new => new);",
        alice,
    )


def test_job_studio_keeps_a_version_of_each_save(client_for, project, bob):
    job = editing.create_job(project, bob, name="register")

    client_for(bob).post(
        reverse("job-edit", args=[project.slug, job.pk]),
        {
            "name": "register",
            "adaptor": job.adaptor,
            "adaptor_version": "latest",
            "expression": "each('$[*]', fn(s => s));",
        },
    )

    latest = JobVersion.objects.filter(job=job).first()
    assert (latest.number, latest.author, latest.expression) == (2, bob, "each('$[*]', fn(s => s));")


def test_the_api_keeps_a_version_of_each_save(client, token_for, project, bob):
    job = editing.create_job(project, bob, name="register")

    response = client.patch(
        f"/api/v1/jobs/{job.pk}",
        {"expression": "fn(s => s.data);"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token_for(bob)}"},
    )

    assert response.status_code == 200
    assert JobVersion.objects.filter(job=job).first().expression == "fn(s => s.data);"


def test_an_imported_project_yaml_gives_each_job_its_first_version(alice):
    call_command("project", "import", str(EXAMPLE), "--name", "Imported", "--owner", alice.email, stdout=None)

    jobs = Job.objects.filter(project=Project.objects.get(name="Imported"))
    assert jobs.count() == JobVersion.objects.filter(job__in=jobs, number=1, author=alice).count() > 0


def test_restoring_a_version_saves_it_again_as_a_new_version(project, alice, bob):
    job = editing.create_job(project, alice, name="register", expression="fn(a => a);")
    editing.update_job(job, alice, expression="fn(b => b);", adaptor_version="6.4.0")

    _job, number, notes = editing.restore_version(job, 1, bob)

    job.refresh_from_db()
    restored = JobVersion.objects.get(job=job, number=number)
    assert (number, notes, job.expression, job.adaptor_version) == (3, [], "fn(a => a);", "latest")
    assert (restored.author, restored.restored_from) == (bob, 1)


def test_restoring_what_the_job_already_is_is_refused(project, alice):
    job = editing.create_job(project, alice, name="register")

    with pytest.raises(versions.NothingToRestore, match="already as version 1 left it"):
        editing.restore_version(job, 1, alice)
    assert numbers(job) == [1]


def test_restoring_a_version_that_does_not_exist_says_so(project, alice):
    job = editing.create_job(project, alice, name="register")

    with pytest.raises(versions.NoSuchVersion, match="has no version 7"):
        editing.restore_version(job, 7, alice)


def test_a_trigger_deleted_since_is_not_brought_back_and_the_restore_says_so(project, alice):
    trigger = make_trigger(project, "registrations")
    job = editing.create_job(project, alice, name="register", trigger=trigger, expression="fn(a => a);")
    editing.update_job(job, alice, expression="fn(b => b);")
    editing.delete_trigger(trigger)
    other = make_trigger(project, "other")
    editing.update_job(job, alice, trigger=other)

    _job, _number, notes = editing.restore_version(job, 1, alice)

    job.refresh_from_db()
    assert (job.expression, job.trigger) == ("fn(a => a);", other)
    assert notes == ["Trigger registrations of version 1 was deleted: the job keeps its trigger."]


def test_a_credential_no_longer_shared_is_not_brought_back(project, alice):
    credential = make_credential(alice, "dhis2", projects=[project])
    job = editing.create_job(project, alice, name="register", credential=credential)
    editing.update_job(job, alice, credential=None, expression="fn(b => b);")
    credential.projects.clear()

    _job, _number, notes = editing.restore_version(job, 1, alice)

    job.refresh_from_db()
    assert job.credential is None and Credential.objects.filter(pk=credential.pk).exists()
    assert "no longer shared" in notes[0]


def test_the_diff_marks_each_line_for_its_css_class():
    rows = versions.unified_diff("fn(a);\nkeep();", "fn(b);\nkeep();", "version 1", "version 2")

    assert rows == [
        ("file", "--- version 1"),
        ("file", "+++ version 2"),
        ("hunk", "@@ -1,2 +1,2 @@"),
        ("remove", "-fn(a);"),
        ("add", "+fn(b);"),
        ("same", " keep();"),
    ]


def test_the_history_lists_versions_newest_first_with_what_each_changed(project, alice):
    job = editing.create_job(project, alice, name="register")
    editing.update_job(job, alice, expression="fn(b => b);")
    editing.update_job(job, alice, adaptor="@openfn/language-http")

    history = versions.job_history(job)

    assert [(v["version"], v["changed"], v["author"]) for v in history["versions"]] == [
        (3, ["adaptor"], "Alice"),
        (2, ["expression"], "Alice"),
        (1, [], "Alice"),
    ]
