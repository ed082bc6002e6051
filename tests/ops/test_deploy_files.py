"""The Dockerfile, docker-compose.yaml and docs/deploy.md agree with each other and with the code.
(No Docker engine runs the tests: these read the files; docs/deploy.md says what was not tried.)"""

import re
from pathlib import Path

import yaml
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
GUIDE = (ROOT / "docs" / "deploy.md").read_text()


def source_text() -> str:
    return "\n".join(path.read_text() for path in (ROOT / "kindling").rglob("*.py"))


def test_compose_runs_postgresql_the_portal_and_workers():
    assert set(COMPOSE["services"]) == {"db", "migrate", "web", "worker"}
    assert COMPOSE["services"]["db"]["image"].startswith("postgres:")
    assert COMPOSE["services"]["web"]["command"][:2] == ["kindling", "serve"]
    assert "--workers" in COMPOSE["services"]["web"]["command"]
    assert COMPOSE["services"]["worker"]["command"][:2] == ["kindling", "worker"]
    assert COMPOSE["services"]["migrate"]["command"][:2] == ["kindling", "migrate"]


def test_every_kindling_container_shares_the_database_and_the_keys():
    for name in ("migrate", "web", "worker"):
        environment = COMPOSE["services"][name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://kindling:")
        assert "@db:5432/kindling" in environment["DATABASE_URL"]
        # Required (compose refuses to start without them), never generated per container.
        assert ":?" in environment["SECRET_KEY"] and ":?" in environment["KINDLING_ENCRYPTION_KEY"]


def test_workers_get_what_the_sandbox_needs_and_no_more():
    worker = COMPOSE["services"]["worker"]
    assert set(worker["security_opt"]) == {"seccomp=unconfined", "apparmor=unconfined"}
    assert worker["devices"] == ["/dev/net/tun:/dev/net/tun"]
    assert not worker.get("privileged") and not worker.get("cap_add")
    assert "security_opt" not in COMPOSE["services"]["web"]  # only workers run job code


def test_the_web_container_is_checked_on_healthz():
    assert "/healthz" in " ".join(COMPOSE["services"]["web"]["healthcheck"]["test"])


def test_the_image_has_node_20_the_sandbox_tools_and_runs_unprivileged():
    assert re.search(r"^FROM node:20-", DOCKERFILE, re.M)
    for package in ("bubblewrap", "slirp4netns", "iproute2", "python3-venv"):
        assert package in DOCKERFILE
    assert re.search(r"^USER kindling$", DOCKERFILE, re.M)


def test_every_setting_the_guide_and_the_env_example_name_is_one_kindling_reads():
    named = set(re.findall(r"\bKINDLING_[A-Z_]+\b", GUIDE + (ROOT / ".env.example").read_text()))
    read = set(re.findall(r"\bKINDLING_[A-Z_]+\b", source_text()))
    assert named and named <= read, sorted(named - read)


def test_the_guide_keeps_the_inbox_limit_and_streams_events_through_both_proxies():
    assert "client_max_body_size 9m;" in GUIDE and "max_size 9MB" in GUIDE
    assert "proxy_buffering off;" in GUIDE and "flush_interval -1" in GUIDE
    events = re.search(r"location ~ (\S+) \{", GUIDE).group(1)
    assert re.match(events, reverse("run-events", kwargs={"slug": "demo", "run_id": 12}))
