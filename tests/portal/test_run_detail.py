import re
from html import unescape

from django.urls import reverse

from kindling.runs.models import Run
from tests.conftest import make_job, post_message
from tests.portal.conftest import make_run


def page(client, run) -> str:
    return client.get(reverse("run-detail", args=[run.project.slug, run.pk])).content.decode()


def test_it_shows_the_initial_and_final_state_as_pretty_printed_json(client_for, project, alice):
    message, _ = post_message(project, {"number": 2})
    run = make_run(make_job(project), message=message, final_state={"data": {"number": 4}, "references": []})

    html = unescape(page(client_for(alice), run))

    assert 'id="initial-state">{\n  "data": {\n    "number": 2\n  }\n}</pre>' in html
    assert 'id="final-state">{\n  "data": {\n    "number": 4\n  },\n  "references": []\n}</pre>' in html


def test_it_shows_the_log_lines_with_time_source_and_level(client_for, project, alice):
    run = make_run(
        make_job(project),
        logs=[
            ("VER", "info", "@openfn/language-common 3.3.4"),
            ("JOB", "info", "hello from the job"),
            ("R/T", "error", "something broke"),
        ],
    )

    html = page(client_for(alice), run)

    sources = [s for s in ("VER", "JOB", "R/T") if f'kindling-log-source">{s}</span>' in html]
    assert sources == ["VER", "JOB", "R/T"]
    assert (
        html.index("@openfn/language-common 3.3.4")
        < html.index("hello from the job")
        < html.index("something broke")
    )
    assert f'datetime="{run.log_lines.first().time.isoformat()}"' in html
    assert '<tr class="table-danger">' in html


def test_it_shows_the_exit_code_and_what_it_means(client_for, project, alice):
    run = make_run(make_job(project), status=Run.Status.FAILED, exit_code=2)

    html = page(client_for(alice), run)

    assert '<span class="kindling-exit-code">2</span>' in html
    assert "timeout: the run took longer than the limit and was killed" in html
    assert ">failed</span>" in html


def test_it_links_to_the_message_and_the_parent_run(client_for, project, alice):
    message, _ = post_message(project, {"number": 2})
    parent = make_run(make_job(project), message=message)
    child = make_run(make_job(project, name="flow-job"), parent=parent, cause=Run.Cause.FLOW)

    parent_html = page(client_for(alice), parent)
    child_html = page(client_for(alice), child)

    assert (
        f'href="{reverse("message-detail", args=[project.slug, message.pk])}">message {message.pk}'
        in parent_html
    )
    parent_url = reverse("run-detail", args=[project.slug, parent.pk])
    assert f'href="{parent_url}">parent run {parent.pk}' in child_html
    assert not re.search(r'href="/projects/health-ministry/inbox/\d+"', child_html)
    assert "parent run" not in parent_html


def test_a_run_that_has_not_finished_says_so(client_for, project, alice):
    run = make_run(make_job(project), status=Run.Status.RUNNING)

    html = page(client_for(alice), run)

    assert "No final state yet." in html
    assert "No log lines yet." in html
    assert ">running</span>" in html


def test_states_and_logs_are_escaped(client_for, project, alice):
    run = make_run(
        make_job(project),
        final_state={"html": "<script>alert(1)</script>"},
        logs=[("JOB", "info", "<img src=x onerror=alert(1)>")],
    )

    html = page(client_for(alice), run)

    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html


def test_the_activity_entry_of_the_menu_is_current(client_for, project, alice):
    html = page(client_for(alice), make_run(make_job(project)))

    assert (
        'class="nav-link active" aria-current="page" href="'
        f'{reverse("project-activity", args=[project.slug])}"' in html
    )
