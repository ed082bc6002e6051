"""The REST API's plan and usage, rejected runs in the runs API, and `kindling plan list|create|assign`."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from kindling.plans.limits import limits_for, plan_of
from kindling.plans.models import Plan
from tests.conftest import make_job, make_plan, make_trigger, post_message


def test_get_project_includes_plan_and_usage(call, alice, project, free):
    make_job(project, "job-1", make_trigger(project, criteria={}))
    post_message(project, {"n": 1})
    response = call(alice, "GET", f"/projects/{project.slug}")
    assert response.status_code == 200
    body = response.json()
    assert body["plan"]["name"] == "Free" and body["plan"]["runs_per_month"] == 100
    start, end = limits_for(project.pk).cycle()
    assert body["usage"]["runs_used"] == 1 and body["usage"]["runs_limit"] == 100
    assert body["usage"]["cycle_start"] == start.isoformat()
    assert body["usage"]["cycle_end"] < end.isoformat()


def test_an_outsider_gets_404_for_the_project_and_its_plan(call, charlie, project, free):
    assert call(charlie, "GET", f"/projects/{project.slug}").status_code == 404
    assert call(charlie, "PUT", f"/projects/{project.slug}/plan", {"plan": "Free"}).status_code == 404


def test_rejected_runs_have_status_rejected_in_the_runs_api(call, alice, project, free):
    free.runs_per_month = 0
    free.save()
    make_job(project, "job-1", make_trigger(project, criteria={}))
    post_message(project, {"n": 1})
    items = call(alice, "GET", f"/projects/{project.slug}/runs", status="rejected").json()["items"]
    assert [item["status"] for item in items] == ["rejected"]
    detail = call(alice, "GET", f"/runs/{items[0]['id']}").json()
    assert "Rejected: the project has used all 0 runs" in json.dumps(detail["log"])


def test_changing_the_plan_through_the_api(call, alice, bob, project, free):
    make_plan("Team", runs_per_month=1000)
    response = call(bob, "PUT", f"/projects/{project.slug}/plan", {"plan": "Team"})
    assert response.status_code == 403 and "administrators" in response.json()["error"]
    assert (
        call(alice, "PUT", f"/projects/{project.slug}/plan", {"plan": "Team"}).status_code == 403
    )  # not staff
    alice.is_staff = True
    alice.save()
    response = call(alice, "PUT", f"/projects/{project.slug}/plan", {"plan": "Gold"})
    assert response.status_code == 400 and "There is no plan 'Gold'" in response.json()["error"]
    response = call(alice, "PUT", f"/projects/{project.slug}/plan", {"plan": "team"})
    assert response.status_code == 200 and response.json()["plan"]["name"] == "Team"
    assert [p["name"] for p in call(bob, "GET", "/plans").json()["items"]] == ["Free", "Team"]


def run(*args) -> str:
    out = StringIO()
    call_command("plan", *args, stdout=out)
    return out.getvalue()


def test_the_plan_command_creates_lists_and_assigns_plans(project, free):
    assert "plan Team: 5,000 runs a month, concurrency up to 4, runs may take 300 s" in run(
        "create",
        "Team",
        "--runs",
        "5000",
        "--concurrency",
        "4",
        "--timeout",
        "300",
        "--price",
        "$49 / month",
        "--paid",
    )
    run("create", "Unlimited", "--unlimited", "--concurrency", "10")
    listed = [json.loads(line) for line in run("list").splitlines()]
    assert [plan["name"] for plan in listed] == ["Free", "Team", "Unlimited"]
    assert listed[1] == {
        "name": "Team",
        "runs_per_month": 5000,
        "max_concurrency": 4,
        "run_timeout": 300,
        "price_label": "$49 / month",
        "paid": True,
        "default": False,
    }
    assert run("assign", project.slug, "Team").strip() == "health-ministry is now on the Team plan"
    assert plan_of(project).name == "Team"


def test_the_plan_command_refuses_bad_input(project, free):
    with pytest.raises(CommandError, match="max_concurrency: Ensure this value is less than or equal to 10"):
        run("create", "Huge", "--runs", "5", "--concurrency", "11")
    with pytest.raises(CommandError, match="no project with slug nope"):
        run("assign", "nope", "Free")
    with pytest.raises(CommandError, match="There is no plan 'Gold'"):
        run("assign", project.slug, "Gold")
    assert not Plan.objects.filter(name="Huge").exists()


def test_a_new_default_plan_replaces_the_old_one(project, free):
    run("create", "Starter", "--runs", "500", "--default")
    assert Plan.objects.get(is_default=True).name == "Starter"
    assert plan_of(project).name == "Starter"


def test_messages_whose_runs_were_rejected_can_be_found_to_reprocess_them(call, alice, project, free):
    free.runs_per_month = 1
    free.save()
    make_job(project, "job-1", make_trigger(project, criteria={}))
    ran, _ = post_message(project, {"n": 1})
    refused, _ = post_message(project, {"n": 2})
    items = call(alice, "GET", f"/projects/{project.slug}/messages", state="rejected").json()["items"]
    assert [item["id"] for item in items] == [refused.pk]
    assert ran.pk not in [item["id"] for item in items]
