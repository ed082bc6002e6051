"""The compiler turns OpenFn job DSL into the ES module the runtime runs. One node process compiles
every case of the table below, so the whole file costs about one second."""

import pytest

from tests.engine.conftest import HTTP

EXPORTS = ["fn", "each", "get", "post", "dataValue", "field", "_", "http", "execute"]


def case(name, exports, source, expected):
    return pytest.param(source, exports, expected, id=name)


# (source, adaptor exports or None for no adaptor, compiled code)
TABLE = [
    case("empty", None, "", "export default [];"),
    case("declaration only", None, "const x = 1;", "const x = 1;\nexport default [];"),
    case("explicit empty export", None, "export default [];", "export default [];"),
    case("default export not an array", None, "export default fn(s => s);", "export default fn(s => s);"),
    case("one operation", None, "fn(a);", "export default [fn(a)];"),
    case(
        "operations in order",
        None,
        "fn(a); each('$.items[*]', fn(b));",
        "export default [fn(a), each('$.items[*]', fn(b))];",
    ),
    case(
        "declarations stay", None, "const x = 1;\nfn(s => x);", "const x = 1;\nexport default [fn(s => x)];"
    ),
    case(
        "if blocks stay",
        None,
        "if (true) {\n  fn(a);\n}\nfn(b);",
        "if (true) {\n  fn(a);\n}\nexport default [fn(b)];",
    ),
    case(
        "nested calls stay",
        None,
        "fn(s => {\n  console.log(1);\n  return s;\n});",
        "export default [fn(s => {\n  console.log(1);\n  return s;\n})];",
    ),
    case("member operation", None, "http.get('/x');", "export default [http.get('/x')];"),
    case("formatting kept", None, "fn( state =>   state );", "export default [fn( state =>   state )];"),
    case(
        "explicit array at the end", None, "fn(a);\nexport default [fn(b)];", "export default [fn(b), fn(a)];"
    ),
    case("non-call statements stay", None, "x = 1;\nfn(a);", "x = 1;\nexport default [fn(a)];"),
    case(
        "import used adaptor functions",
        EXPORTS,
        "fn(s => s);",
        'import { fn } from "@openfn/language-common";\n'
        'export * from "@openfn/language-common";\n'
        "export default [fn(s => s)];",
    ),
    case(
        "only exported names",
        EXPORTS,
        "fn(s => foo(s));",
        'import { fn } from "@openfn/language-common";\n'
        'export * from "@openfn/language-common";\n'
        "export default [fn(s => foo(s))];",
    ),
    case(
        "declared names are not imported",
        EXPORTS,
        "const fn = (f) => f;\nfn(s => s);",
        'export * from "@openfn/language-common";\nconst fn = (f) => f;\nexport default [fn(s => s)];',
    ),
    case(
        "property names are not imported",
        EXPORTS,
        "fn(s => s.each);",
        'import { fn } from "@openfn/language-common";\n'
        'export * from "@openfn/language-common";\n'
        "export default [fn(s => s.each)];",
    ),
    case(
        "an explicit import is kept",
        EXPORTS,
        "import { fn } from '@openfn/language-common';\nfn(s => s);",
        'export * from "@openfn/language-common";\n'
        "import { fn } from '@openfn/language-common';\n"
        "export default [fn(s => s)];",
    ),
    case(
        "lodash underscore",
        EXPORTS,
        "fn(s => _.pick(s, 'data'));",
        'import { fn, _ } from "@openfn/language-common";\n'
        'export * from "@openfn/language-common";\n'
        "export default [fn(s => _.pick(s, 'data'))];",
    ),
    case(
        "parameters shadow exports",
        EXPORTS,
        "fn(each => each);",
        'import { fn } from "@openfn/language-common";\n'
        'export * from "@openfn/language-common";\n'
        "export default [fn(each => each)];",
    ),
    case("lazy state", None, "get($.data.url);", "export default [get(state => state.data.url)];"),
    case(
        "lazy state in two arguments",
        None,
        "get($.data.url, { headers: { id: $.data.id } });",
        "export default [get(state => state.data.url, state => ({\n  headers: { id: state.data.id }\n}))];",
    ),
    case(
        "one wrap per argument", None, "get($.a + $.b);", "export default [get(state => state.a + state.b)];"
    ),
    case("already a state arrow", None, "fn(state => $.data);", "export default [fn(state => state.data)];"),
    case(
        "declared $ left alone",
        None,
        "const $ = { a: 1 };\nfn(() => $.a);",
        "const $ = { a: 1 };\nexport default [fn(() => $.a)];",
    ),
    case(
        "chain with calls",
        None,
        "fn($.items.map(i => i.id)[0]);",
        "export default [fn(state => state.items.map(i => i.id)[0])];",
    ),
    case(
        "lazy state beside an operation",
        None,
        "each($.data.items, fn(s => s));",
        "export default [each(state => state.data.items, fn(s => s))];",
    ),
    case("computed member", None, "get($['data'].url);", "export default [get(state => state['data'].url)];"),
    case("optional chaining", None, "get($.data?.url);", "export default [get(state => state.data?.url)];"),
    case(
        "nearest call wins",
        None,
        "fn(JSON.stringify($.data));",
        "export default [fn(JSON.stringify(state => state.data))];",
    ),
    case(
        "then",
        None,
        "get('/x').then(s => s);",
        'import { defer as _defer } from "@openfn/runtime";\n'
        "export default [_defer(get('/x'), p => p.then(s => s))];",
    ),
    case(
        "catch",
        None,
        "get('/x').catch((e, s) => s);",
        'import { defer as _defer } from "@openfn/runtime";\n'
        "export default [_defer(get('/x'), undefined, (e, s) => s)];",
    ),
    case(
        "then and catch",
        None,
        "get('/x').then(s => s).catch(e => e);",
        'import { defer as _defer } from "@openfn/runtime";\n'
        "export default [_defer(get('/x'), p => p.then(s => s).catch(e => e))];",
    ),
    case(
        "catch then then",
        None,
        "get('/x').catch(g).then(f);",
        'import { defer as _defer } from "@openfn/runtime";\n'
        "export default [_defer(get('/x'), p => p.then(f), g)];",
    ),
    case(
        "nested then untouched",
        None,
        "fn(s => Promise.resolve(s).then(x => x));",
        "export default [fn(s => Promise.resolve(s).then(x => x))];",
    ),
    case(
        "promise with lazy state",
        EXPORTS,
        "get($.url).then(s => s);",
        'import { defer as _defer } from "@openfn/runtime";\n'
        'import { get } from "@openfn/language-common";\n'
        'export * from "@openfn/language-common";\n'
        "export default [_defer(get(state => state.url), p => p.then(s => s))];",
    ),
    case(
        "class fields",
        None,
        "class K { #p = 1; static q = 2; }\nfn(a);",
        "class K { #p = 1; static q = 2; }\nexport default [fn(a)];",
    ),
]

ERRORS = [
    # (source, expected words, line, column): columns count from 1, as editors show them
    pytest.param("fn(state => state", "Syntax error", 1, 18, id="unclosed call"),
    pytest.param("fn(a);\nfn(b;\n", "Syntax error", 2, 5, id="syntax error on line 2"),
    pytest.param("const x = $.data;", "must be inside an operation", 1, 11, id="$ in a declaration"),
    pytest.param("if ($.data.ok) {\n}", "must be inside an operation", 1, 5, id="$ in an if"),
    pytest.param(
        "fn(state => {\n  return $.data;\n});", "must be inside an operation", 2, 10, id="$ in a body"
    ),
    pytest.param("fn(s => $.data);", "not called state", 1, 9, id="$ in a function of s"),
]


@pytest.fixture(scope="module")
def compiled(compile_jobs):
    """Every table and error case compiled in one runner process, keyed by source."""
    requests = [
        {"expression": p.values[0], **({"exports": p.values[1]} if p.values[1] else {})} for p in TABLE
    ] + [{"expression": p.values[0]} for p in ERRORS]
    return {
        request["expression"]: event for request, event in zip(requests, compile_jobs(requests), strict=True)
    }


@pytest.mark.parametrize(("source", "exports", "expected"), TABLE)
def test_it_compiles(compiled, source, exports, expected):
    assert compiled[source].get("code") == expected


@pytest.mark.parametrize(("source", "words", "line", "column"), ERRORS)
def test_it_reports_where_the_error_is(compiled, source, words, line, column):
    error = compiled[source]["error"]

    assert words in error["message"]
    assert f"line {line}, column {column}" in error["message"]
    assert (error["line"], error["column"]) == (line, column)


def test_it_lists_top_level_operations_with_name_and_line(compile_jobs):
    source = "fn(a);\n\nget('/x').then(f);\nhttp.post('/y');\n"

    [event] = compile_jobs([{"expression": source, "exports": EXPORTS}])

    assert event["operations"] == [
        {"name": "fn", "line": 1, "order": 1},
        {"name": "get", "line": 3, "order": 2},
        {"name": "post", "line": 4, "order": 3},
    ]


def test_it_imports_exports_that_only_the_adaptor_module_reveals(compile_jobs, adaptor_repo):
    # dateFns and util are exported by language-http but absent from its ast.json.
    source = "get('/x');\nfn(s => util.encode(dateFns.format(0, 'yyyy')));"

    [event] = compile_jobs([{"expression": source, "adaptor": HTTP, "repo": str(adaptor_repo)}])

    assert event["code"].startswith(
        'import { get, fn, util, dateFns } from "@openfn/language-http";\n'
        'export * from "@openfn/language-http";\n'
    )
