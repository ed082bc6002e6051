"""Running jobs end to end: real Node, real @openfn/runtime, real adaptors."""

import base64
import time
from urllib.parse import quote, quote_plus

import pytest

from kindling.engine import ExitCode, sandbox
from kindling.engine.node import RunnerProcess
from kindling.lib.scrub import REDACTED
from tests.engine.conftest import HTTP, ROOT, log_text


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
    started = time.monotonic()
    result = run_job("fn(state => new Promise(() => {}));", timeout=3)

    assert result.exit_code == ExitCode.TIMEOUT
    assert time.monotonic() - started < 3 + 1
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
    assert 'Error reported by "get()" operation line 3' in log_text(result)
    assert "404" in log_text(result)


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
