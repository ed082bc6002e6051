"""engine/compile.py: Job Studio's syntax check uses the runs' own compiler, in a Node process it keeps."""

import time

import pytest

from kindling.engine.compile import MAX_EXPRESSION_CHARS, CompileError, Compiler
from tests.engine.conftest import HTTP


@pytest.fixture
def compiler():
    kept = Compiler()
    yield kept
    kept.close()


def test_it_compiles_an_expression_into_the_module_a_run_executes(compiler):
    compiled = compiler.compile("fn(s => s);\nget($.data.url);")

    assert compiled.code == "export default [fn(s => s), get(state => state.data.url)];"
    assert [op["name"] for op in compiled.operations] == ["fn", "get"]


def test_a_syntax_error_says_its_line_and_column(compiler):
    with pytest.raises(CompileError) as error:
        compiler.compile("fn(s => {\n  return s;\n);")

    assert (error.value.line, error.value.column) == (3, 1)
    assert str(error.value).startswith("Syntax error at line 3, column 1")


def test_an_installed_adaptor_adds_the_imports_a_run_gets(compiler, adaptor_repo):
    compiled = compiler.compile("get('/x');", adaptor=HTTP, repo_dir=adaptor_repo)

    assert compiled.code.startswith('import { get } from "@openfn/language-http";\n')


def test_given_exports_replace_loading_the_adaptor(compiler):
    compiled = compiler.compile(
        "each('$.items[*]', fn(s => s));", adaptor="@openfn/language-x", exports=["each"]
    )

    assert compiled.code.startswith('import { each } from "@openfn/language-x";\n')


def test_one_process_answers_compile_after_compile(compiler):
    compiler.compile("fn(s => s);")
    first = compiler._runner.process.pid
    with pytest.raises(CompileError):
        compiler.compile("fn(")
    compiler.compile("fn(s => s);")

    assert compiler._runner.process.pid == first


def test_an_idle_compiler_stops_its_process_and_starts_another_when_asked(adaptor_repo):
    compiler = Compiler(idle_seconds=0.2)
    try:
        compiler.compile("fn(s => s);")
        runner = compiler._runner
        deadline = time.monotonic() + 10
        while compiler._runner is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert compiler._runner is None and not runner.alive

        assert compiler.compile("fn(s => s);").code == "export default [fn(s => s)];"
    finally:
        compiler.close()


def test_an_expression_too_long_for_the_editor_is_refused_before_node(compiler):
    with pytest.raises(CompileError, match="longer than"):
        compiler.compile("x" * (MAX_EXPRESSION_CHARS + 1))

    assert compiler._runner is None
