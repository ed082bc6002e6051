"""Security headers: a Content-Security-Policy on every page, and secure cookies and HSTS when the
public address is https."""

import json
import os
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.urls import reverse

from tests.conftest import PASSWORD


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


def test_every_page_gets_a_policy_without_inline_scripts_or_eval(client_for, project, alice):
    client = client_for(alice)
    for url in (reverse("login"), reverse("project-list"), reverse("job-list", args=[project.slug])):
        policy = directives(client.get(url))
        assert policy["script-src"] == ["'self'"], url
        assert policy["style-src"] == ["'self'"], url
        assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]


def test_only_job_studio_allows_inline_styles_for_its_editor(client_for, project, alice):
    policy = directives(client_for(alice).get(reverse("job-create", args=[project.slug])))

    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["script-src"] == ["'self'"]


def test_api_answers_carry_the_policy_too(client):
    assert "Content-Security-Policy" in client.get("/api/v1/projects")


def test_no_template_has_an_inline_script_handler_or_style():
    templates = settings.BASE_DIR / "kindling" / "templates"
    for path in templates.rglob("*.html"):
        tags = re.findall(r"<[a-z][^>]*>", path.read_text(), re.S)
        assert not [tag for tag in tags if re.search(r"\sstyle=|\son[a-z]+=|javascript:", tag)], path
        assert all("src=" in tag for tag in tags if tag.startswith("<script")), path


@pytest.fixture
def https(settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.HSTS_HEADER = "max-age=31536000"


def test_https_cookies_are_secure_and_hsts_is_sent(client, alice, https):
    page = client.get(reverse("login"))
    response = client.post(reverse("login"), {"username": "alice@example.com", "password": PASSWORD})

    assert page.cookies["csrftoken"]["secure"] is True
    assert response.cookies["sessionid"]["secure"] is True
    assert response["Strict-Transport-Security"] == "max-age=31536000"


def test_plain_http_sends_no_hsts(client, db):
    assert "Strict-Transport-Security" not in client.get(reverse("login"))


def settings_for(**env) -> dict:
    code = (
        "import json; from django.conf import settings as s; "
        "print(json.dumps([s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.HSTS_HEADER]))"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KINDLING_")}
    environ.update(DJANGO_SETTINGS_MODULE="kindling.settings", **env)
    out = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_an_https_base_url_turns_on_secure_cookies_and_hsts(tmp_path):
    data = str(tmp_path)
    assert settings_for(KINDLING_DATA_DIR=data, KINDLING_BASE_URL="https://kindling.example.org") == [
        True,
        True,
        "max-age=31536000",
    ]
    assert settings_for(
        KINDLING_DATA_DIR=data, KINDLING_BASE_URL="https://kindling.example.org", KINDLING_HSTS_SECONDS="600"
    ) == [True, True, "max-age=600"]
    plain = settings_for(KINDLING_DATA_DIR=data, KINDLING_BASE_URL="http://127.0.0.1:8000")
    assert plain == [False, False, ""]


def test_pages_cannot_be_framed_or_sniffed(client, db):
    response = client.get(reverse("login"))

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_htmx_is_configured_to_write_no_style_and_run_no_eval(client, db):
    html = client.get(reverse("login")).content.decode()
    config = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", html).group(1))

    assert config["includeIndicatorStyles"] is False and config["allowEval"] is False
    assert "style" not in config["attributesToSettle"]
