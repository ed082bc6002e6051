"""The Search Console page and its REST API endpoint."""

from datetime import timedelta

from django.utils import timezone

from kindling.inbox.models import Message
from tests.conftest import make_job, post_message
from tests.portal.conftest import make_run


def results(html: str) -> str:
    return html.split('role="search"')[1].split("</form>")[1]


def console(project):
    return f"/projects/{project.slug}/search"


def test_the_menu_links_to_the_search_console(client_for, project, alice):
    html = client_for(alice).get(f"/projects/{project.slug}/jobs").content.decode()

    assert f'href="{console(project)}"' in html


def test_the_page_shows_each_kind_with_highlighted_excerpts_and_links(client_for, project, bob):
    message, _ = post_message(project, {"patient": "798123"}, {"X-Form": "798123-form"})
    run = make_run(make_job(project), message=message, logs=[("JOB", "info", "sent 798123 to DHIS2")])

    html = client_for(bob).get(console(project), {"q": "798123"}).content.decode()

    assert f'href="/projects/{project.slug}/inbox/{message.pk}"' in html
    assert f'href="/projects/{project.slug}/runs/{run.pk}"' in html
    assert "<mark>798123</mark>" in html
    assert "Message headers" not in results(html)


def test_the_page_searches_headers_when_chosen(client_for, project, bob):
    message, _ = post_message(project, {"a": 1}, {"X-Form": "kobo-798123"})

    html = client_for(bob).get(console(project), {"q": "KOBO-7", "kinds": ["headers"]}).content.decode()

    assert f'href="/projects/{project.slug}/inbox/{message.pk}"' in html and "Run logs" not in results(html)


def test_the_page_says_why_a_search_is_refused(client_for, project, bob):
    response = client_for(bob).get(console(project), {"q": "ab"})

    assert response.status_code == 400
    assert "Type at least 3 characters" in response.content.decode()


def test_outsiders_get_404(client_for, project, charlie, call):
    assert client_for(charlie).get(console(project), {"q": "abc"}).status_code == 404
    assert call(charlie, "GET", f"/projects/{project.slug}/search", q="abc").status_code == 404


def test_the_api_answers_each_kind(call, project, alice):
    old, _ = post_message(project, {"patient": "798123"}, {"X-Form": "798123"})
    Message.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=3))
    new, _ = post_message(project, {"patient": "798123", "n": 2})
    run = make_run(make_job(project), logs=[("JOB", "info", "patient 798123")])
    path = f"/projects/{project.slug}/search"

    everything = call(alice, "GET", path, q="798123", kinds="bodies,logs,headers").json()
    today = call(alice, "GET", path, q="798123", **{"from": timezone.now().date().isoformat()}).json()

    assert [hit["message"] for hit in everything["bodies"]] == [new.pk, old.pk]
    assert [hit["message"] for hit in everything["headers"]] == [old.pk]
    assert [hit["run"] for hit in everything["logs"]] == [run.pk]
    assert "798123" in everything["logs"][0]["excerpt"] and "created_at" in everything["logs"][0]
    assert [hit["message"] for hit in today["bodies"]] == [new.pk] and "headers" not in today


def test_the_api_refuses_bad_input_with_a_reason(call, project, alice):
    path = f"/projects/{project.slug}/search"

    short = call(alice, "GET", path, q="ab")
    kind = call(alice, "GET", path, q="abc", kinds="files")
    day = call(alice, "GET", path, q="abc", **{"from": "yesterday"})

    assert short.status_code == kind.status_code == day.status_code == 400
    assert "3 characters" in short.json()["error"] and "files" in kind.json()["error"]
    assert "YYYY-MM-DD" in day.json()["error"]
