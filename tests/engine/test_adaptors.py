"""The adaptor repository: names, versions, installs on first use, and no npm when not needed."""

import subprocess

import pytest

from kindling.engine import adaptors
from kindling.engine.adaptors import AdaptorUnavailable, ensure_adaptor, parse_adaptor


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("@openfn/language-http@7.2.10", ("@openfn/language-http", "7.2.10")),
        ("@openfn/language-common", ("@openfn/language-common", None)),
        ("@openfn/language-dhis2@latest", ("@openfn/language-dhis2", "latest")),
    ],
)
def test_it_splits_name_and_version(spec, expected):
    assert parse_adaptor(spec) == expected


@pytest.mark.parametrize(
    "spec",
    [
        "lodash",
        "@openfn/runtime@1.9.5",
        "@openfn/language-http@^7",
        "@openfn/language-http@7.2.10 && rm -rf /",
        "@OpenFn/language-http",
    ],
)
def test_it_refuses_anything_but_an_exact_openfn_adaptor(spec):
    with pytest.raises(AdaptorUnavailable):
        parse_adaptor(spec)


@pytest.fixture
def no_npm(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("npm was called")

    monkeypatch.setattr(adaptors, "_run_npm", refuse)


def test_an_installed_version_is_used_without_calling_npm(adaptor_repo, no_npm):
    assert ensure_adaptor("@openfn/language-common@3.3.4", adaptor_repo) == (
        "@openfn/language-common",
        "3.3.4",
    )


def test_latest_is_resolved_with_npm_view_once(adaptor_repo, monkeypatch):
    calls = []

    def npm(args, cwd=None):
        calls.append(args)
        return subprocess.CompletedProcess(args, 0, stdout="3.3.4\n", stderr="")

    monkeypatch.setattr(adaptors, "_latest", {})
    monkeypatch.setattr(adaptors, "_run_npm", npm)

    assert ensure_adaptor("@openfn/language-common@latest", adaptor_repo)[1] == "3.3.4"
    assert ensure_adaptor("@openfn/language-common", adaptor_repo)[1] == "3.3.4"
    assert calls == [["view", "@openfn/language-common@latest", "version"]]


def test_without_the_registry_latest_falls_back_to_the_newest_installed_version(adaptor_repo, monkeypatch):
    notes = []
    monkeypatch.setattr(adaptors, "_latest", {})
    monkeypatch.setattr(
        adaptors,
        "_run_npm",
        lambda args, cwd=None: subprocess.CompletedProcess(
            args, 1, stdout="", stderr="npm error code ENOTFOUND\n"
        ),
    )

    version = ensure_adaptor("@openfn/language-http", adaptor_repo, note=lambda *line: notes.append(line))[1]

    assert version == "7.2.10"
    assert notes[0][0] == "warn"


def test_it_lists_installed_adaptors(adaptor_repo):
    installed = adaptors.list_installed(adaptor_repo)

    assert ("@openfn/language-common", "3.3.4") in installed
    assert ("@openfn/language-http", "7.2.10") in installed
