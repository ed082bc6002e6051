"""A message filter whose inclusion criteria are {} matches every message: the trigger form says so and
saves one only once the user ticks "Yes, match every message"."""

from django.urls import reverse

from kindling.jobs.models import Trigger
from tests.conftest import make_trigger


def create(client, project, **data):
    return client.post(reverse("trigger-create", args=[project.slug]), {"kind": "message", **data})


def test_empty_criteria_are_refused_until_confirmed_and_the_form_says_why(client_for, project, alice):
    response = create(client_for(alice), project, name="everything", criteria="{ }")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Inclusion criteria {} match every message" in html
    assert 'id="match-all-note" role="status">' in html  # the warning shows, with its box to tick
    assert not Trigger.objects.exists()


def test_confirmed_empty_criteria_are_saved(client_for, project, alice):
    response = create(client_for(alice), project, name="everything", criteria="{}", match_all="on")

    assert response.status_code == 302
    assert Trigger.objects.get(name="everything").criteria == {}


def test_criteria_with_a_key_need_no_confirmation_and_hide_the_warning(client_for, project, alice):
    client = client_for(alice)
    create(client, project, name="visits", criteria='{"formID": "visit"}')

    trigger = Trigger.objects.get(name="visits")
    html = client.get(reverse("trigger-edit", args=[project.slug, trigger.pk])).content.decode()
    assert 'id="match-all-note" role="status" hidden>' in html


def test_an_existing_match_everything_trigger_opens_confirmed_and_saves_unchanged(client_for, project, alice):
    trigger = make_trigger(project, "everything", criteria={})
    client = client_for(alice)
    url = reverse("trigger-edit", args=[project.slug, trigger.pk])

    html = client.get(url).content.decode()
    response = client.post(
        url, {"name": "everything-else", "kind": "message", "criteria": "{}", "match_all": "on"}
    )

    assert 'id="match-all-note" role="status">' in html and "checked" in html
    assert response.status_code == 302
    assert Trigger.objects.get(pk=trigger.pk).name == "everything-else"


def test_an_outsider_cannot_reach_the_trigger_form(client_for, project, charlie):
    response = create(client_for(charlie), project, name="everything", criteria="{}", match_all="on")

    assert response.status_code == 404 and not Trigger.objects.exists()
