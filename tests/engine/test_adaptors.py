"""The adaptor repository: names, versions, installs on first use, and no npm when not needed."""

import json
import subprocess
import sys

import pytest

from kindling import engine
from kindling.engine import adaptors
from kindling.engine.adaptors import AdaptorUnavailable, ensure_adaptor, parse_adaptor
from tests.engine.conftest import ROOT


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


def test_published_versions_come_newest_first_without_pre_releases_and_are_kept(monkeypatch):
    calls = []

    def npm(args, cwd=None):
        calls.append(args)
        listed = ["1.0.0", "1.10.0", "1.2.0", "2.0.0-beta.1", "1.9.3"]
        return subprocess.CompletedProcess(args, 0, stdout=json.dumps(listed), stderr="")

    monkeypatch.setattr(adaptors, "_published", {})
    monkeypatch.setattr(adaptors, "_run_npm", npm)

    assert adaptors.published_versions("@openfn/language-x") == ["1.10.0", "1.9.3", "1.2.0", "1.0.0"]
    assert adaptors.published_versions("@openfn/language-x") == ["1.10.0", "1.9.3", "1.2.0", "1.0.0"]
    assert calls == [["view", "@openfn/language-x", "versions", "--json"]]


def test_published_versions_say_npms_reason_when_it_cannot_list_them(monkeypatch):
    monkeypatch.setattr(adaptors, "_published", {})
    monkeypatch.setattr(
        adaptors,
        "_run_npm",
        lambda args, cwd=None: subprocess.CompletedProcess(args, 1, "", "npm error code E404\n"),
    )

    with pytest.raises(AdaptorUnavailable) as refused:
        adaptors.published_versions("@openfn/language-nothing")

    assert str(refused.value) == "Could not list the versions of @openfn/language-nothing on npm"
    assert refused.value.details == ["code E404"]
    with pytest.raises(AdaptorUnavailable, match="is not an adaptor"):
        adaptors.published_versions("left-pad")


def test_published_versions_of_a_real_adaptor_come_from_the_registry(monkeypatch):
    monkeypatch.setattr(adaptors, "_published", {})

    versions = adaptors.published_versions("@openfn/language-common")

    assert "3.3.4" in versions and "1.2.4" in versions
    assert versions.index("3.3.4") < versions.index("1.2.4")


def test_it_lists_installed_adaptors(adaptor_repo):
    installed = adaptors.list_installed(adaptor_repo)

    assert ("@openfn/language-common", "3.3.4") in installed
    assert ("@openfn/language-http", "7.2.10") in installed


def test_concurrent_first_uses_of_one_adaptor_install_it_once(tmp_path):
    # Three processes (three workers) want the same adaptor in a new repository at the same moment.
    repo, go = tmp_path / "repo", tmp_path / "go"
    script = (
        "import sys, time, pathlib\n"
        "from kindling.engine import ensure_adaptor\n"
        "while not pathlib.Path(sys.argv[2]).exists(): time.sleep(0.01)\n"
        "print(ensure_adaptor('@openfn/language-common@3.3.4', pathlib.Path(sys.argv[1]),\n"
        "      note=lambda level, message: print(message, flush=True)))\n"
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(repo), str(go)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    go.touch()
    outputs = [worker.communicate(timeout=300) for worker in workers]

    assert [worker.returncode for worker in workers] == [0, 0, 0], outputs
    said = "".join(out for out, _ in outputs)
    assert said.count("Installing @openfn/language-common@3.3.4") == 1
    assert said.count("('@openfn/language-common', '3.3.4')") == 3
    assert adaptors.list_installed(repo) == [("@openfn/language-common", "3.3.4")]


def test_a_failed_install_says_npms_reason(tmp_path):
    with pytest.raises(AdaptorUnavailable) as failure:
        ensure_adaptor("@openfn/language-common@0.0.0-no-such-version", tmp_path)

    assert str(failure.value) == "Could not install @openfn/language-common@0.0.0-no-such-version"
    assert any("No matching version found" in reason for reason in failure.value.details)


@pytest.mark.parametrize(
    ("shorthand", "expected"),
    [
        ("http", "@openfn/language-http"),
        ("http@7.2.10", "@openfn/language-http@7.2.10"),
        ("@openfn/language-http@7.2.10", "@openfn/language-http@7.2.10"),
    ],
)
def test_it_expands_the_shorthand_of_openfns_cli(shorthand, expected):
    assert adaptors.expand_shorthand(shorthand) == expected


def test_latest_installs_on_first_use_and_runs(tmp_path):
    repo = tmp_path / "repo"
    newest = subprocess.run(
        ["npm", "view", "@openfn/language-common@latest", "version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    result = engine.execute(
        engine.RunSpec(
            run_id="latest-on-first-use",
            expression="fn(state => ({ data: { ok: true } }));",
            adaptor="@openfn/language-common@latest",
            state={"data": {}},
        ),
        repo_dir=repo,
    )

    assert result.exit_code == 0, "\n".join(line.message for line in result.log)
    assert result.adaptor_version == newest
    assert adaptors.list_installed(repo) == [("@openfn/language-common", newest)]
    assert any(f"Installed @openfn/language-common@{newest}" in line.message for line in result.log)


def test_a_version_installed_after_the_repository_was_read_is_seen(tmp_path):
    # The repository's package.json is kept parsed between runs, and read again once it changes.
    from tests.credentials.conftest import install_fake_adaptor

    install_fake_adaptor(tmp_path, "@openfn/language-example", "1.0.0")
    assert adaptors.is_installed(tmp_path, "@openfn/language-example", "1.0.0")
    assert not adaptors.is_installed(tmp_path, "@openfn/language-example", "1.1.0")

    install_fake_adaptor(tmp_path, "@openfn/language-example", "1.1.0")

    assert adaptors.is_installed(tmp_path, "@openfn/language-example", "1.1.0")
    assert adaptors.list_installed(tmp_path) == [
        ("@openfn/language-example", "1.0.0"),
        ("@openfn/language-example", "1.1.0"),
    ]
