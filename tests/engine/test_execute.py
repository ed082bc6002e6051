"""Running jobs end to end: real Node, real @openfn/runtime, real adaptors."""

import base64
import json
import os
import signal
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from kindling.engine import ExitCode, Pool, RunSpec, execute, sandbox
from kindling.engine.node import WORKER, RunnerProcess
from kindling.lib.scrub import REDACTED
from tests.engine.conftest import HTTP, ROOT, log_text, process_note


@pytest.fixture(scope="module")
def doubled(run_job):
    """The example job of OpenFn's docs, with a console.log."""
    return run_job(
        "fn(state => {\n  console.log('doubling', state.data.number);\n"
        "  return { ...state, data: { result: state.data.number * 2 } };\n});",
        data={"number": 21},
        configuration={"apiKey": "a-key-nobody-may-see"},
    )


def test_a_trivial_job_returns_the_state_it_builds(run_job):
    result = run_job("fn(state => ({ ...state, data: { greeting: 'hello' } }));")

    assert result.exit_code == ExitCode.SUCCESS
    assert result.final_state["data"] == {"greeting": "hello"}
    assert result.adaptor_version == "3.3.4"


def test_state_data_number_times_two(doubled):
    assert doubled.exit_code == 0
    assert doubled.final_state["data"] == {"result": 42}


def test_configuration_never_reaches_the_final_state(doubled):
    assert "configuration" not in doubled.final_state


def test_the_log_has_a_versions_banner_then_job_and_runtime_lines(doubled):
    banner = next(line for line in doubled.log if line.source == "VER")
    assert "node.js" in banner.message
    assert "@openfn/runtime" in banner.message and "1.9.5" in banner.message
    assert "@openfn/language-common" in banner.message and "3.3.4" in banner.message
    assert any(line.source == "JOB" and line.message == "doubling 21" for line in doubled.log)
    assert any(line.source == "R/T" for line in doubled.log)
    assert doubled.log[-1].message == "Run complete with status: success"
    assert all(line.time.tzinfo is not None for line in doubled.log)


def test_a_job_that_throws_fails_with_exit_1_and_the_error_in_the_log(run_job):
    result = run_job("fn(state => state);\nfn(() => { throw new Error('broken on purpose'); });")

    assert result.exit_code == ExitCode.FAILED
    assert "broken on purpose" in log_text(result)
    assert result.final_state["errors"]["job"]["message"] == "broken on purpose"
    assert result.log[-1].message == "Run complete with status: fail"


def test_a_reference_error_crashes_with_exit_1_and_points_at_the_line(run_job):
    result = run_job("fn(state => state);\nfn(state => notDefined.x);")

    assert result.exit_code == ExitCode.FAILED
    assert "ReferenceError: notDefined is not defined" in log_text(result)
    assert "2: fn(state => notDefined.x);" in log_text(result)
    assert result.log[-1].message == "Run complete with status: crashed"


def test_a_syntax_error_fails_to_start_with_line_and_column(run_job):
    result = run_job("fn(state => state);\nfn(state => {\n  return state;\n);")

    assert result.exit_code == ExitCode.FAILED_TO_START
    assert "Syntax error at line 4, column 1" in log_text(result)


def test_dollar_at_statement_level_fails_to_start_with_line_and_column(run_job):
    result = run_job("fn(state => state);\nconst id = $.data.id;")

    assert result.exit_code == ExitCode.FAILED_TO_START
    assert "line 2, column 12" in log_text(result)
    assert "must be inside an operation" in log_text(result)


def test_lazy_state_and_promise_chains_run(run_job):
    result = run_job(
        "each($.data.items, fn(state => ({ ...state, seen: (state.seen || 0) + 1 })));\n"
        "fn(state => state).then(state => ({ ...state, then: true }));\n"
        "fn(() => { throw new Error('caught'); })\n"
        "  .catch((error, state) => ({ ...state, error: error.message }));",
        data={"items": [1, 2, 3]},
    )

    assert result.exit_code == 0, log_text(result)
    assert (result.final_state["seen"], result.final_state["then"]) == (3, True)
    assert result.final_state["error"] == "caught"


def test_an_unknown_adaptor_version_fails_to_start_with_npms_reason(run_job):
    result = run_job("fn(state => state);", adaptor="@openfn/language-common@99.99.99")

    assert result.exit_code == ExitCode.FAILED_TO_START
    assert "Could not install @openfn/language-common@99.99.99" in log_text(result)
    assert "No matching version found" in log_text(result)


def test_a_package_that_is_not_an_openfn_adaptor_is_refused(run_job):
    result = run_job("fn(state => state);", adaptor="left-pad@1.3.0")

    assert result.exit_code == ExitCode.FAILED_TO_START
    assert "is not an adaptor Kindling can run" in log_text(result)


def test_a_job_that_never_resolves_is_killed_at_the_timeout(run_job):
    result = run_job("fn(state => new Promise(() => {}));", timeout=3)

    assert result.exit_code == ExitCode.TIMEOUT
    assert "took longer than 3 s" in log_text(result)


def test_a_job_that_fills_the_heap_ends_with_exit_134(run_job):
    result = run_job(
        "fn(state => { const all = []; while (true) all.push({ n: Math.random(), s: 'x'.repeat(64) }); });",
        memory_mb=32,
    )

    assert result.exit_code == ExitCode.OUT_OF_MEMORY
    assert "Out of memory" in log_text(result)


def test_a_job_that_fills_memory_outside_the_heap_is_killed_with_exit_134(run_job):
    result = run_job(
        "fn(state => { const all = []; while (true) all.push(Buffer.alloc(8 * 1024 * 1024, 1)); });",
        memory_mb=32,
    )

    assert result.exit_code == ExitCode.OUT_OF_MEMORY
    assert "used more than 288 MB and was killed" in log_text(result)


def test_process_exit_from_job_code_ends_with_exit_11_and_keeps_the_log(run_job):
    result = run_job(
        "fn(state => { console.log('about to leave'); fn.constructor('return process')().exit(5); });"
    )

    assert result.exit_code == ExitCode.NODE_EXITED
    assert "about to leave" in log_text(result)
    assert "exit code 5" in log_text(result)


def test_output_written_straight_to_stdout_becomes_a_log_line_not_a_broken_protocol(run_job):
    result = run_job(
        "fn(state => { fn.constructor('return process')().stdout.write('{not json\\n'); return state; });"
    )

    assert result.exit_code == ExitCode.SUCCESS
    assert any(line.source == "ADA" and line.message == "{not json" for line in result.log)


def test_an_exception_thrown_later_by_a_timer_fails_the_run(run_job):
    result = run_job(
        "fn(state => { setTimeout(() => { throw new Error('too late'); }, 10);"
        " return new Promise(resolve => setTimeout(() => resolve(state), 500)); });"
    )

    assert result.exit_code == ExitCode.FAILED
    assert "Uncaught exception: Error: too late" in log_text(result)


def test_a_final_state_over_10_mb_fails_the_run(run_job):
    result = run_job("fn(state => ({ data: 'x'.repeat(11 * 1024 * 1024) }));")

    assert result.exit_code == ExitCode.FAILED
    assert result.final_state is None
    assert "State exceeds the limit of 10mb" in log_text(result)


def test_a_final_state_json_cannot_hold_fails_the_run(run_job):
    result = run_job("fn(state => ({ data: { big: 10n } }));")

    assert result.exit_code == ExitCode.FAILED
    assert "cannot be saved as JSON" in log_text(result)


def test_secrets_are_scrubbed_from_every_line_in_every_form(run_job):
    configuration = {"username": "ada", "password": "p@ss word/42", "token": "tok-3141592653"}
    streamed = []
    result = run_job(
        "fn(state => {\n"
        "  const { username, password, token } = state.configuration;\n"
        "  console.log('plain', password, token);\n"
        "  console.log('json', JSON.stringify(state.configuration));\n"
        "  console.log('basic', Buffer.from(username + ':' + password).toString('base64'));\n"
        "  console.log('base64', Buffer.from(token).toString('base64'));\n"
        "  console.log('url', encodeURIComponent(password));\n"
        "  console.log('object', state);\n"
        "  return state;\n"
        "});",
        configuration=configuration,
        on_log=streamed.append,
    )

    text = log_text(result)
    assert result.exit_code == 0
    for leaked in (
        "p@ss word/42",
        "tok-3141592653",
        base64.b64encode(b"ada:p@ss word/42").decode(),
        base64.b64encode(b"tok-3141592653").decode(),
        quote("p@ss word/42", safe=""),
        quote_plus("p@ss word/42"),
    ):
        assert leaked not in text
    assert text.count(REDACTED) >= 6
    assert streamed == result.log


def test_a_disabled_console_prints_only_the_notice(run_job):
    result = run_job(
        "fn(state => { console.log(state.configuration); console.error('secret'); return state; });",
        configuration={"password": "hunter22"},
        console_disabled=True,
    )

    job_lines = [line.message for line in result.log if line.source == "JOB"]
    assert job_lines == ["🔒 console has been disabled for this run"] * 2


def test_language_http_gets_from_a_local_server(run_job, patients_server):
    result = run_job(
        "get($.data.path);",
        adaptor=HTTP,
        data={"path": "/patients/1"},
        configuration={"baseUrl": patients_server},
    )

    assert result.exit_code == 0, log_text(result)
    assert result.final_state["data"] == {"id": 1, "name": "Ada Lovelace"}
    assert result.adaptor_version == "7.2.10"
    assert any(line.source == "ADA" and "200" in line.message for line in result.log)


def test_an_http_error_names_the_operation_and_its_line(run_job, patients_server):
    result = run_job(
        "fn(state => state);\n\nget('/patients/2');\n",
        adaptor=HTTP,
        configuration={"baseUrl": patients_server},
    )

    assert result.exit_code == ExitCode.FAILED
    # The base URL is part of the credential, so it is scrubbed from the URL.
    reported = "Error reported by get() on line 3: HTTP 404 Not Found from GET [REDACTED]/patients/2"
    assert f"R/T error {reported}" in log_text(result)
    assert '"get()" operation line' not in log_text(result)


def test_a_server_error_names_the_operation_its_line_the_status_and_the_url(run_job, patients_server):
    result = run_job(
        "fn(state => state);\nget(state => state.data.url, {\n  headers: { accept: 'json' },\n});\n",
        adaptor=HTTP,
        data={"url": f"{patients_server}/patients/broken"},
    )

    assert result.exit_code == ExitCode.FAILED
    errors = [line.message for line in result.log if line.level == "error" and line.source == "R/T"]
    url = f"{patients_server}/patients/broken"
    # The report's first line says it all; the runtime's own lines follow as they were.
    assert errors[0].startswith("job aborted with error")
    assert errors[1] == f"Error reported by get() on line 2: HTTP 500 Internal Server Error from GET {url}"
    assert errors[2].startswith(f"Error: GET to {url} returned 500: Internal Server Error")
    assert errors[3] == "Additional error details:"
    assert json.loads(errors[4])["statusCode"] == 500
    assert errors[5:] == ["Check state.errors.job for details"]
    assert result.final_state["errors"]["job"]["line"] == 2


def test_an_adaptor_error_without_a_status_names_only_the_operation_and_its_line(run_job, patients_server):
    result = run_job(
        "\n\npost('http://127.0.0.1:9/elsewhere', { body: {} });",
        adaptor=HTTP,
        configuration={"baseUrl": patients_server},
    )

    assert result.exit_code == ExitCode.FAILED
    assert "R/T error Error reported by post() on line 3\n" in log_text(result)
    assert "Target origin does not match baseUrl origin" in log_text(result)


def test_the_runner_refuses_to_start_without_vm_modules():
    with RunnerProcess(64, vm_modules=False) as runner:
        runner.send({"type": "compile", "id": "c", "expression": "fn(s => s);"}, last=True)
        events = list(runner.events(deadline=time.monotonic() + 20))

    assert events[0]["type"] == "fatal"
    assert "--experimental-vm-modules" in events[0]["message"]
    assert runner.returncode == ExitCode.ENGINE_ERROR


def test_job_code_that_reaches_node_sees_no_environment(run_job):
    result = run_job("fn(state => ({ data: { env: Object.keys(fn.constructor('return process')().env) } }));")

    assert result.final_state["data"] == {"env": []}


@pytest.mark.skipif(not sandbox.available(), reason="bubblewrap cannot run on this machine")
def test_in_the_sandbox_job_code_cannot_see_the_platforms_files(run_job):
    project_file = ROOT / "pyproject.toml"
    result = run_job(
        "fn(state => {\n"
        "  const fs = fn.constructor('return process')().getBuiltinModule('fs');\n"
        f"  return {{ data: {{ project: fs.existsSync('{project_file}'), usr: fs.existsSync('/usr') }} }};\n"
        "});"
    )

    assert result.final_state["data"] == {"project": False, "usr": True}


def test_an_http_error_gives_the_status_and_the_url(run_job, patients_server):
    result = run_job(
        "get(state => state.data.url);", adaptor=HTTP, data={"url": f"{patients_server}/patients/2"}
    )

    assert result.exit_code == ExitCode.FAILED
    assert f"GET to {patients_server}/patients/2 returned 404: Not Found" in log_text(result)
    assert result.final_state["errors"]["job"]["message"].endswith("returned 404: Not Found")


def test_a_secret_the_adaptor_prints_in_a_url_is_scrubbed(run_job, patients_server):
    token = "s3cr/t+k=y 42"
    result = run_job(
        "get(state => '/patients/9?token=' + encodeURIComponent(state.configuration.token));",
        adaptor=HTTP,
        configuration={"baseUrl": patients_server, "token": token},
    )

    adaptor_lines = "\n".join(line.message for line in result.log if line.source == "ADA")
    assert "/patients/9?token=[REDACTED]" in adaptor_lines
    assert quote(token, safe="") not in log_text(result)
    assert "s3cr" not in log_text(result)


def test_an_oversized_log_line_is_cut_with_a_marker_and_the_run_goes_on(run_job):
    result = run_job(
        "fn(state => { console.log('x'.repeat(200000)); console.log('y'.repeat(3000000));\n"
        "  return { data: { after: true } }; });"
    )

    cut = [line.message for line in result.log if line.source == "JOB"]
    assert result.exit_code == 0
    assert result.final_state["data"] == {"after": True}
    assert cut[0] == "x" * 65536 + f"… [cut: {200000 - 65536} more characters]"
    assert cut[1] == "y" * 65536 + f"… [cut: {3000000 - 65536} more characters]"


def test_a_final_state_of_megabytes_comes_back_whole(run_job):
    result = run_job("fn(state => ({ data: { text: 'z'.repeat(8 * 1024 * 1024), end: 'here' } }));")

    assert result.exit_code == 0, log_text(result)
    assert len(result.final_state["data"]["text"]) == 8 * 1024 * 1024
    assert result.final_state["data"]["end"] == "here"


def test_a_promise_chain_inside_an_operations_argument_runs(run_job):
    result = run_job(
        "each('$.data.items[*]', fn(state => ({ ...state, n: (state.n || 0) + 1 }))"
        ".then(state => ({ ...state, thens: (state.thens || 0) + 1 })));",
        data={"items": [1, 2]},
    )

    assert result.exit_code == 0, log_text(result)
    assert (result.final_state["n"], result.final_state["thens"]) == (2, 2)


def test_a_fresh_process_killed_from_outside_ends_with_exit_11_and_its_log(run_job):
    def kill_when_waiting(line):
        if line.message == "waiting":
            for pid in node_pids_of_this_process():
                os.kill(pid, signal.SIGKILL)

    result = run_job(
        "fn(state => { console.log('waiting'); return new Promise(() => {}); });",
        on_log=kill_when_waiting,
        timeout=60,
    )

    assert result.exit_code == ExitCode.NODE_EXITED
    assert "waiting" in log_text(result)
    assert result.log[-1].message == "Run complete with status: crashed"


def node_pids_of_this_process() -> list[int]:
    """The runner's Node.js processes that descend from this test process."""
    found, pending = [], [os.getpid()]
    while pending:
        pid = pending.pop()
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                args = cmdline.read().split(b"\0")
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as children:
                    pending += [int(child) for child in children.read().split()]
        except OSError:
            continue
        if str(WORKER).encode() in args and not args[0].endswith(b"bwrap"):
            found.append(pid)
    return found


def test_a_lone_surrogate_or_a_nul_in_a_log_line_is_written_out_as_its_escape(run_job):
    result = run_job("fn(state => { console.log('half an emoji: \\ud83d, a NUL: \\u0000'); return state; });")

    assert result.exit_code == 0
    job_lines = [line.message for line in result.log if line.source == "JOB"]
    assert "half an emoji: \\ud83d, a NUL: \\u0000" in job_lines


def fake_adaptor(repo: Path, short: str, files: dict[str, str], **package) -> Path:
    """`repo` made an adaptor repository holding @openfn/language-<short>@1.0.0, made of `files`."""
    folder = repo / "node_modules" / "@openfn" / f"language-{short}_1.0.0"
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(
        json.dumps({"name": f"@openfn/language-{short}", "version": "1.0.0", "main": "index.js", **package})
    )
    for name, text in files.items():
        (folder / name).write_text(text)
    alias = f"language-{short}_1.0.0"
    (repo / "package.json").write_text(
        json.dumps({"dependencies": {f"@openfn/{alias}": f"npm:@openfn/language-{short}@1.0.0"}})
    )
    return repo


EXECUTE = (
    "export const execute = (...ops) => state =>\n"
    "  ops.reduce((p, op) => p.then(op), Promise.resolve(state));\n"
)
LIB = {"lib.js": "export const greet = name => `hello ${name}`;\n"}


@pytest.fixture
def extensionless_adaptor(tmp_path):
    """A repository holding one adaptor whose code imports a file without its extension, as some
    adaptors do: only the runtime's ESM hook makes that import work."""
    index = "export { greet } from './lib';\nexport const fn = f => state => f(state);\n" + EXECUTE
    return fake_adaptor(tmp_path, "legacy", {"index.js": index, **LIB}, type="module")


def cold_then_twice_warm(repo: Path, adaptor: str, expression: str) -> list:
    """One run in a fresh process, then two in one warm process of a pool."""

    def spec(n):
        return RunSpec(f"fake-{n}", expression, adaptor, {})

    pool = Pool(size=1)
    try:
        cold = execute(spec(0), repo_dir=repo)
        return [cold, *[pool.execute(spec(n), key="fake", repo_dir=repo) for n in (1, 2)]]
    finally:
        pool.close()


def test_an_adaptor_importing_a_file_without_its_extension_runs_cold_and_warm(extensionless_adaptor):
    expression = "fn(state => ({ data: { said: greet('ada') } }));"
    results = cold_then_twice_warm(extensionless_adaptor, "@openfn/language-legacy@1.0.0", expression)

    assert [result.exit_code for result in results] == [0, 0, 0], log_text(results[0])
    assert [result.final_state["data"]["said"] for result in results] == ["hello ada"] * 3
    assert process_note(results[2]) == "a warm Node.js process (its run 2)"


@pytest.fixture
def commonjs_adaptor(tmp_path):
    """A repository holding one adaptor written as a CommonJS module (as old adaptor versions were),
    whose module state counts the runs that used this instance."""
    index = (
        "let used = 0;\n"
        "exports.fn = f => state => f(state);\n"
        "exports.count = () => { used += 1; return used; };\n"
        "exports.execute = (...ops) => state =>\n"
        "  ops.reduce((p, op) => p.then(op), Promise.resolve(state));\n"
    )
    return fake_adaptor(tmp_path, "old", {"index.js": index})


def test_a_commonjs_adaptor_runs_cold_and_warm(commonjs_adaptor):
    results = cold_then_twice_warm(
        commonjs_adaptor, "@openfn/language-old@1.0.0", "fn(state => ({ data: { n: count() } }));"
    )

    assert [result.exit_code for result in results] == [0, 0, 0], log_text(results[0])
    assert process_note(results[2]) == "a warm Node.js process (its run 2)"
    # Imported the runtime's way: Node loads a CommonJS file once, whatever the cache key, so its
    # module state is the process's (as under OpenFn's runtime with a cache key).
    assert [result.final_state["data"]["n"] for result in results] == [1, 1, 2]


def test_an_adaptor_importing_a_file_without_its_extension_at_run_time_gets_the_esm_hook(tmp_path):
    # Its static imports need no hook, so the process starts without it; the run's dynamic import
    # of './lib' registers it and is tried again.
    index = (
        "export const fn = f => state => f(state);\n"
        "export const greetLater = name => import('./lib').then(lib => lib.greet(name));\n" + EXECUTE
    )
    fake_adaptor(tmp_path, "lazy", {"index.js": index, **LIB}, type="module")
    spec = RunSpec(
        "lazy-0",
        "fn(async state => ({ data: { said: await greetLater('ada') } }));",
        "@openfn/language-lazy@1.0.0",
        {},
    )

    result = execute(spec, repo_dir=tmp_path)

    assert result.exit_code == 0, log_text(result)
    assert result.final_state["data"]["said"] == "hello ada"
