"""The Job Library: the non-private, non-archived jobs of contributing projects, read as they are now,
searchable by text, adaptor and operation, by every logged-in user; nothing else of a project leaves it."""

import pytest
from django.urls import reverse

from kindling.audit.models import AuditEvent
from kindling.jobs import editing
from kindling.library import catalogue
from kindling.projects.models import Membership
from tests.conftest import make_credential, make_project, make_trigger, make_user, post_message
from tests.portal.conftest import make_run

UPSERT = "upsert('Patient', 'patient_id', state => state.data);"


@pytest.fixture
def contributing(project, alice):
    return catalogue.set_contribution(project, alice, True)


def publish(project, by, name, **fields):
    return editing.create_job(project, by, name=name, **fields)


def library_ids(call, user, **params):
    response = call(user, "GET", "/library", **params)
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def test_a_contributing_projects_jobs_are_in_the_library_for_any_user(call, contributing, alice, charlie):
    job = publish(contributing, alice, "register", expression=UPSERT, adaptor="@openfn/language-dhis2")

    response = call(charlie, "GET", "/library")

    assert response.json()["count"] == 1
    (item,) = response.json()["items"]
    assert item == {
        "id": job.pk,
        "name": "register",
        "adaptor": "@openfn/language-dhis2",
        "adaptor_version": "latest",
        "operations": ["upsert"],
        "expression": UPSERT,
        "created_at": item["created_at"],
        "updated_at": item["updated_at"],
    }


def test_a_project_that_does_not_contribute_publishes_nothing(call, project, alice, charlie):
    publish(project, alice, "register")

    assert library_ids(call, charlie) == []


def test_private_jobs_are_never_in_the_library(call, client_for, contributing, alice, charlie):
    kept = publish(contributing, alice, "public-one")
    secret = publish(contributing, alice, "secret-one", private=True, expression="fn(s => 'hush');")
    later = publish(contributing, alice, "made-private-later")
    editing.set_private(later, True, alice)

    assert library_ids(call, charlie) == [kept.pk]
    assert client_for(charlie).get(reverse("library-job", args=[secret.pk])).status_code == 404
    assert "hush" not in client_for(charlie).get(reverse("library")).content.decode()


def test_an_archived_job_leaves_the_library_at_once_and_comes_back_when_restored(
    call, contributing, alice, bob
):
    job = publish(contributing, alice, "register")

    editing.archive_job(job, alice)
    assert library_ids(call, bob) == []

    editing.restore_job(job, alice)
    assert library_ids(call, bob) == [job.pk]


def test_a_project_that_stops_contributing_leaves_the_library_at_once(
    call, client_for, contributing, alice, charlie
):
    job = publish(contributing, alice, "register")
    assert library_ids(call, charlie) == [job.pk]

    catalogue.set_contribution(contributing, alice, False)

    assert library_ids(call, charlie) == []
    assert client_for(charlie).get(reverse("library-job", args=[job.pk])).status_code == 404


def test_a_deleted_project_leaves_the_library(call, contributing, alice, charlie):
    publish(contributing, alice, "register")

    contributing.delete()

    assert library_ids(call, charlie) == []


def test_the_library_shows_no_messages_runs_states_credentials_or_project(
    client_for, call, contributing, alice, charlie
):
    credential = make_credential(
        alice, "dhis2-prod", body={"password": "p4ssw0rd-xyz"}, projects=[contributing]
    )
    trigger = make_trigger(contributing, "registrations-trigger")
    job = publish(contributing, alice, "register", credential=credential, trigger=trigger)
    message, _runs = post_message(contributing, {"patient": "Jane Secretperson"})
    make_run(job, message=message, final_state={"data": {"token": "state-secret"}})

    pages = client_for(charlie).get(reverse("library")).content.decode()
    pages += client_for(charlie).get(reverse("library-job", args=[job.pk])).content.decode()
    pages += call(charlie, "GET", "/library").content.decode()

    for private in ("dhis2-prod", "p4ssw0rd-xyz", "registrations-trigger", "Secretperson", "state-secret"):
        assert private not in pages
    assert contributing.name not in pages and contributing.slug not in pages


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "patient"}, ["upserts"]),
        ({"q": "PATIENT register"}, ["upserts"]),
        ({"q": "dhis2"}, ["upserts", "creates"]),
        ({"adaptor": "dhis2"}, ["upserts", "creates"]),
        ({"adaptor": "@openfn/language-http"}, ["gets"]),
        ({"operation": "upsert"}, ["upserts"]),
        ({"operation": "each"}, ["creates"]),
        ({"operation": "create"}, []),  # called inside each(), not at the top level
        ({"adaptor": "dhis2", "operation": "each"}, ["creates"]),
    ],
)
def test_it_searches_by_text_adaptor_and_operation(call, contributing, alice, bob, params, expected):
    dhis2 = {"adaptor": "@openfn/language-dhis2"}
    publish(contributing, alice, "upserts", expression="// register\n" + UPSERT, **dhis2)
    publish(contributing, alice, "creates", expression="each('$.data[*]', create('events', {}));", **dhis2)
    publish(contributing, alice, "gets", expression="get('/tracker');", adaptor="@openfn/language-http")

    response = call(bob, "GET", "/library", **params)

    assert sorted(item["name"] for item in response.json()["items"]) == sorted(expected)


def test_an_edited_expression_is_searched_as_it_is_now(call, contributing, alice, bob):
    job = publish(contributing, alice, "register", expression=UPSERT)

    editing.update_job(job, alice, expression="each('$[*]', fn(s => s));")

    assert library_ids(call, bob, operation="upsert") == []
    assert library_ids(call, bob, operation="each") == [job.pk]


def test_the_library_pages_like_the_other_lists(call, contributing, alice, bob):
    for n in range(5):
        publish(contributing, alice, f"job-{n}")

    response = call(bob, "GET", "/library", limit=2, offset=2)

    assert response.json()["count"] == 5 and len(response.json()["items"]) == 2


def test_the_library_asks_for_a_token(call):
    assert call(None, "GET", "/library").status_code == 401


def test_the_library_page_searches_and_shows_a_job(client_for, contributing, alice, charlie):
    job = publish(contributing, alice, "register", expression=UPSERT, adaptor="@openfn/language-dhis2")
    publish(contributing, alice, "other", expression="fn(s => s);")

    found = client_for(charlie).get(reverse("library"), {"operation": "upsert"})
    shown = client_for(charlie).get(reverse("library-job", args=[job.pk]))

    assert found.status_code == shown.status_code == 200
    assert "register" in found.content.decode() and "other" not in found.content.decode()
    assert "1 job found" in found.content.decode()
    assert (
        "patient_id" in shown.content.decode() and "@openfn/language-dhis2@latest" in shown.content.decode()
    )


def test_the_library_page_wants_a_login(client):
    response = client.get(reverse("library"))

    assert response.status_code == 302 and "/login" in response["Location"]


def test_use_in_my_project_opens_job_studio_filled_with_the_library_job(
    client_for, contributing, alice, charlie
):
    mine = make_project(charlie, "Charlie's")
    job = publish(contributing, alice, "register", expression=UPSERT, adaptor="@openfn/language-dhis2")
    http = client_for(charlie)

    use = http.get(reverse("library-job-use", args=[job.pk]), {"project": mine.slug})
    studio = http.get(use["Location"])

    assert use.status_code == 302
    assert use["Location"] == reverse("job-create", args=[mine.slug]) + f"?library={job.pk}"
    form = studio.context["form"]
    assert (form["name"].value(), form["adaptor"].value(), form["expression"].value()) == (
        "register",
        "@openfn/language-dhis2",
        UPSERT,
    )


def test_use_in_a_project_that_is_not_yours_is_a_404(client_for, contributing, alice, charlie):
    job = publish(contributing, alice, "register")
    theirs = make_project(make_user("eve@example.com"), "Eve's")

    response = client_for(charlie).get(reverse("library-job-use", args=[job.pk]), {"project": theirs.slug})

    assert response.status_code == 404


def test_job_studio_does_not_fill_in_a_private_job(client_for, contributing, alice, bob):
    job = publish(contributing, alice, "register", private=True, expression="fn(s => 'hush');")

    studio = client_for(bob).get(reverse("job-create", args=[contributing.slug]), {"library": job.pk})

    assert studio.status_code == 200 and "hush" not in studio.content.decode()


def test_administrators_contribute_from_project_settings_and_it_is_audited(client_for, project, alice):
    page = client_for(alice).get(reverse("project-settings", args=[project.slug])).content.decode()
    response = client_for(alice).post(reverse("project-library", args=[project.slug]), {"contribute": "on"})

    assert (
        "Yes, contribute to the job library" in page and "Data from messages or runs are NEVER shared" in page
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.contributes_to_library
    assert AuditEvent.objects.filter(project=project, action="library.joined", actor=alice).exists()


def test_a_collaborator_cannot_change_the_contribution(client_for, call, project, bob):
    page = client_for(bob).get(reverse("project-settings", args=[project.slug])).content.decode()
    portal = client_for(bob).post(reverse("project-library", args=[project.slug]), {"contribute": "on"})
    api = call(bob, "PUT", f"/projects/{project.slug}/library", {"contribute": True})

    assert "Yes, contribute to the job library" not in page
    assert (portal.status_code, api.status_code) == (403, 403)
    project.refresh_from_db()
    assert not project.contributes_to_library


def test_the_api_reads_and_sets_the_contribution(call, project, alice):
    Membership.objects.filter(project=project, user=alice).update(role=Membership.Role.ADMIN)

    put = call(alice, "PUT", f"/projects/{project.slug}/library", {"contribute": True})
    got = call(alice, "GET", f"/projects/{project.slug}/library")

    assert put.json() == got.json() == {"contribute": True}
