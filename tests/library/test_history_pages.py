"""The History section of a job's page, a version's diff, and restoring it from the portal."""

from django.urls import reverse

from kindling.jobs import editing
from kindling.jobs.models import Job, JobVersion


def two_versions(project, user):
    job = editing.create_job(project, user, name="register", expression="fn(a => a);\nkeep();")
    editing.update_job(job, user, expression="fn(b => b);\nkeep();")
    return job


def test_the_job_page_lists_the_versions_with_who_saved_them(client_for, project, alice, bob):
    job = two_versions(project, alice)

    page = client_for(bob).get(reverse("job-detail", args=[project.slug, job.pk])).content.decode()

    assert 'id="history-title">History' in page
    assert reverse("job-version", args=[project.slug, job.pk, 2]) in page
    assert reverse("job-version", args=[project.slug, job.pk, 1]) in page
    assert page.count("Alice") >= 2


def test_a_version_page_shows_its_unified_diff_with_css_classes_and_no_inline_style(
    client_for, project, alice, bob
):
    job = two_versions(project, alice)

    response = client_for(bob).get(reverse("job-version", args=[project.slug, job.pk, 2]))

    page = response.content.decode()
    assert response.status_code == 200
    assert '<span class="kindling-diff-remove">-fn(a =&gt; a);</span>' in page
    assert '<span class="kindling-diff-add">+fn(b =&gt; b);</span>' in page
    assert "style=" not in page


def test_an_older_version_compares_with_the_job_now_and_offers_restore(client_for, project, alice, bob):
    job = two_versions(project, alice)

    page = client_for(bob).get(reverse("job-version", args=[project.slug, job.pk, 1]), {"against": "current"})

    text = page.content.decode()
    assert '<span class="kindling-diff-add">+fn(b =&gt; b);</span>' in text
    assert "Restore this version" in text


def test_restoring_from_the_portal_makes_a_new_version_and_goes_back_to_the_job(
    client_for, project, alice, bob
):
    job = two_versions(project, alice)

    response = client_for(bob).post(reverse("job-version-restore", args=[project.slug, job.pk, 1]))

    assert response.status_code == 302
    assert response["Location"] == reverse("job-detail", args=[project.slug, job.pk])
    assert Job.objects.get(pk=job.pk).expression == "fn(a => a);\nkeep();"
    assert JobVersion.objects.get(job=job, number=3).restored_from == 1


def test_a_version_that_does_not_exist_is_a_404(client_for, project, alice):
    job = two_versions(project, alice)

    response = client_for(alice).get(reverse("job-version", args=[project.slug, job.pk, 9]))

    assert response.status_code == 404


def test_an_outsider_sees_no_version_and_restores_nothing(client_for, project, alice, charlie):
    job = two_versions(project, alice)

    seen = client_for(charlie).get(reverse("job-version", args=[project.slug, job.pk, 1]))
    restored = client_for(charlie).post(reverse("job-version-restore", args=[project.slug, job.pk, 1]))

    assert (seen.status_code, restored.status_code) == (404, 404)
    assert JobVersion.objects.filter(job=job).count() == 2
