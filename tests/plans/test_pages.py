"""Plan & usage, Historical Project Usage, change plan and Billing in the portal: administrators
change the plan, collaborators see it read-only, outsiders get 404."""

import pytest
from django.urls import reverse

from kindling.plans.limits import plan_of
from kindling.plans.models import Plan, Subscription, Usage
from tests.conftest import make_job, make_plan, make_trigger, post_message


@pytest.fixture
def team(free):
    return make_plan(
        "Team",
        runs_per_month=10_000,
        max_concurrency=5,
        run_timeout=300,
        price_label="$49 / month",
        paid=True,
    )


def test_the_plan_page_shows_this_cycles_usage_and_the_chart(client_for, alice, project, free):
    make_job(project, "job-1", make_trigger(project, criteria={}))
    for _ in range(3):
        post_message(project, {"n": 1})
    response = client_for(alice).get(reverse("plan-usage", args=[project.slug]))
    assert response.status_code == 200
    text = response.content.decode()
    assert "<strong>3</strong>" in text and "of <strong>100</strong> runs used (3%)" in text
    assert 'id="usage-chart"' in text and "vendor/chartjs/chart.umd.min.js" in text
    assert response.context["chart"]["used"][-1] == 3


def test_the_project_menu_links_to_plan_and_usage_and_the_account_menu_to_billing(
    client_for, alice, project, free
):
    text = client_for(alice).get(reverse("job-list", args=[project.slug])).content.decode()
    assert f'href="{reverse("plan-usage", args=[project.slug])}"' in text
    assert f'href="{reverse("billing")}"' in text


def test_the_history_lists_runs_per_cycle_and_keeps_counts_of_deleted_runs(client_for, bob, project, free):
    make_job(project, "job-1", make_trigger(project, criteria={}))
    post_message(project, {"n": 1})
    project.runs.all().delete()
    response = client_for(bob).get(reverse("plan-history", args=[project.slug]))
    assert response.status_code == 200
    assert response.context["cycles"][0]["runs"] == 1 and response.context["cycles"][0]["current"]


@pytest.mark.parametrize("name", ["plan-usage", "plan-history", "plan-change"])
def test_an_outsider_gets_404(client_for, charlie, project, free, name):
    client = client_for(charlie)
    response = (
        client.post(reverse(name, args=[project.slug]), {"plan": "Free"})
        if name == "plan-change"
        else (client.get(reverse(name, args=[project.slug])))
    )
    assert response.status_code == 404


def test_a_collaborator_sees_the_plans_read_only_and_cannot_change_them(client_for, bob, project, team):
    client = client_for(bob)
    text = client.get(reverse("plan-usage", args=[project.slug])).content.decode()
    assert "Only the project&#x27;s administrators can change its plan." in text
    assert 'id="change-plan-button"' not in text
    response = client.post(reverse("plan-change", args=[project.slug]), {"plan": "Team"})
    assert response.status_code == 403
    assert plan_of(project).name == "Free"


def test_without_a_billing_provider_only_instance_administrators_change_plans(
    client_for, alice, project, team
):
    client = client_for(alice)
    text = client.get(reverse("plan-usage", args=[project.slug])).content.decode()
    assert "Plans are assigned by this Kindling&#x27;s instance administrators" in text
    assert client.post(reverse("plan-change", args=[project.slug]), {"plan": "Team"}).status_code == 403

    alice.is_staff = True
    alice.save()
    response = client.post(reverse("plan-change", args=[project.slug]), {"plan": "Team"}, follow=True)
    assert "Health Ministry is now on the Team plan." in response.content.decode()
    subscription = Subscription.objects.get(project=project)
    assert subscription.plan == team and subscription.billed_to is None  # nobody pays without a provider


def test_an_unknown_plan_is_refused_with_the_plans_named(client_for, alice, project, team):
    alice.is_staff = True
    alice.save()
    response = client_for(alice).post(
        reverse("plan-change", args=[project.slug]), {"plan": "Gold"}, follow=True
    )
    assert "There is no plan &#x27;Gold&#x27;; the plans are: " in response.content.decode()
    assert plan_of(project).name == "Free"


def test_billing_lists_the_projects_billed_to_the_user_with_plan_and_usage(
    client_for, alice, bob, project, free
):
    Usage.objects.create(project=project, cycle_start=project.created_at.date(), runs=7)
    text = client_for(alice).get(reverse("billing")).content.decode()
    assert "Health Ministry" in text and "7 of 100 runs" in text
    assert "No billing provider is set up" in text
    # bob collaborates on it but is not billed for it
    assert "Health Ministry" not in client_for(bob).get(reverse("billing")).content.decode()


def test_the_plan_table_is_in_the_django_admin(client_for, alice, free):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    response = client_for(alice).get(reverse("admin:plans_plan_changelist"))
    assert response.status_code == 200 and "Free" in response.content.decode()
    assert Plan.objects.filter(is_default=True).count() == 1


def test_the_billing_page_costs_the_same_queries_for_one_project_or_five(
    client_for, alice, free, django_assert_max_num_queries
):
    from tests.conftest import make_project

    client = client_for(alice)
    make_project(alice, "P0")
    client.get(reverse("billing"))
    with django_assert_max_num_queries(12) as one:
        client.get(reverse("billing"))
    for n in range(1, 5):
        make_project(alice, f"P{n}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("billing"))
    assert response.content.decode().count("of 100 runs") == 5
