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
        "then inside an operation's argument",
        EXPORTS,
        "each('$.items[*]', post('/x', {}).then(s => s));",
        'import { defer as _defer } from "@openfn/runtime";\n'
        'import { each, post } from "@openfn/language-common";\n'
        'export * from "@openfn/language-common";\n'
        "export default [each('$.items[*]', _defer(post('/x', {}), p => p.then(s => s)))];",
    ),
    case(
        "a chain in a declaration is deferred",
        None,
        "const x = get('/x').then(f);",
        'import { defer as _defer } from "@openfn/runtime";\n'
        "const x = _defer(get('/x'), p => p.then(f));\n"
        "export default [];",
    ),
    case(
        "a chain in the exported array",
        None,
        "export default [get('/x').then(f)];",
        'import { defer as _defer } from "@openfn/runtime";\n'
        "export default [_defer(get('/x'), p => p.then(f))];",
    ),
    case(
        "two thens",
        None,
        "fn(s => s).then(f).then(g);",
        'import { defer as _defer } from "@openfn/runtime";\n'
        "export default [_defer(fn(s => s), p => p.then(f).then(g))];",
    ),
    case(
        "catch with a block",
        None,
        "fn(s => s).catch(e => { throw e; });",
        'import { defer as _defer } from "@openfn/runtime";\n'
        "export default [_defer(fn(s => s), undefined, e => { throw e; })];",
    ),
    case(
        "any call's chain at the top, as OpenFn",
        None,
        "Promise.resolve(1).then(f);",
        'import { defer as _defer } from "@openfn/runtime";\n'
        "export default [_defer(Promise.resolve(1), p => p.then(f))];",
    ),
    case(
        "nested then in an operation's callback untouched",
        EXPORTS,
        "fn(s => get('/x').then(r => r));",
        'import { fn, get } from "@openfn/language-common";\n'
        'export * from "@openfn/language-common";\n'
        "export default [fn(s => get('/x').then(r => r))];",
    ),
    case(
        "then inside an if block untouched",
        None,
        "if (x) {\n  get('/x').then(f);\n}",
        "if (x) {\n  get('/x').then(f);\n}\nexport default [];",
    ),
    case(
        "then on a plain promise inside a function untouched",
        None,
        "function later(p) {\n  return p.then(f);\n}\nfn(later);",
        "function later(p) {\n  return p.then(f);\n}\nexport default [fn(later)];",
    ),
    case(
        "an IIFE stays where it is",
        None,
        "(function () { setup(); })();\nfn(a);",
        "(function () { setup(); })();\nexport default [fn(a)];",
    ),
    case(
        "lazy state in an object argument",
        None,
        "post('/x', { body: $.data });",
        "export default [post('/x', state => ({\n  body: state.data\n}))];",
    ),
    case(
        "lazy state in a template literal",
        None,
        "get(`${$.data.base}/x`);",
        "export default [get(state => `${state.data.base}/x`)];",
    ),
    case(
        "lazy state in an array argument",
        None,
        "fn([$.a, $.b]);",
        "export default [fn(state => [state.a, state.b])];",
    ),
    case(
        "lazy state in a conditional",
        None,
        "get($.data.ok ? '/a' : '/b');",
        "export default [get(state => state.data.ok ? '/a' : '/b')];",
    ),
    case(
        "lazy state in nested operations",
        None,
        "each($.items, post('/x', $.data));",
        "export default [each(state => state.items, post('/x', state => state.data))];",
    ),
    case(
        "lazy state inside a state arrow wraps the nearest call",
        None,
        "fn(state => get($.url));",
        "export default [fn(state => get(state => state.url))];",
    ),
    case(
        "lazy state inside a state arrow's body",
        None,
        "fn(state => ({ ...state, id: $.data.id }));",
        "export default [fn(state => ({ ...state, id: state.data.id }))];",
    ),
    case(
        "lazy state in the first and third arguments",
        None,
        "get($.data.url, {}, $.data.callback);",
        "export default [get(state => state.data.url, {}, state => state.data.callback)];",
    ),
    case(
        "lazy state in a member operation",
        EXPORTS,
        "http.get($.data.url);",
        'import { http } from "@openfn/language-common";\n'
        'export * from "@openfn/language-common";\n'
        "export default [http.get(state => state.data.url)];",
    ),
    case(
        "$ as a parameter left alone",
        None,
        "fn($ => $.data);",
        "export default [fn($ => $.data)];",
    ),
    case(
        "$ declared in a nested scope left alone",
        None,
        "fn(s => { const $ = s; return $.x; });",
        "export default [fn(s => { const $ = s; return $.x; })];",
    ),
    case(
        "a bare $ is not a chain",
        None,
        "fn($);",
        "export default [fn($)];",
    ),
    case(
        "deep chain with an index",
        None,
        "get($.data.items[0].url);",
        "export default [get(state => state.data.items[0].url)];",
    ),
    case(
        "string key",
        None,
        "get($.data['the url']);",
        "export default [get(state => state.data['the url'])];",
    ),
    case(
        "aliased import respected",
        EXPORTS,
        "import { fn as f } from '@openfn/language-common';\nf(s => s);\nfn(s => s);",
        'import { fn } from "@openfn/language-common";\n'
        'export * from "@openfn/language-common";\n'
        "import { fn as f } from '@openfn/language-common';\n"
        "export default [f(s => s), fn(s => s)];",
    ),
    case(
        "namespace import respected",
        EXPORTS,
        "import * as common from '@openfn/language-common';\ncommon.fn(s => s);",
        'export * from "@openfn/language-common";\n'
        "import * as common from '@openfn/language-common';\n"
        "export default [common.fn(s => s)];",
    ),
    case(
        "the job's export all is not repeated",
        EXPORTS,
        "export * from '@openfn/language-common';\nfn(s => s);",
        'import { fn } from "@openfn/language-common";\n'
        "export * from '@openfn/language-common';\n"
        "export default [fn(s => s)];",
    ),
    case(
        "an import from another package is kept",
        EXPORTS,
        "import { v4 } from '@openfn/language-http';\nfn(s => v4(s));",
        'import { fn } from "@openfn/language-common";\n'
        'export * from "@openfn/language-common";\n'
        "import { v4 } from '@openfn/language-http';\n"
        "export default [fn(s => v4(s))];",
    ),
    case(
        "names shadowed in a nested scope are not imported",
        EXPORTS,
        "fn(s => { const each = 1; return each; });",
        'import { fn } from "@openfn/language-common";\n'
        'export * from "@openfn/language-common";\n'
        "export default [fn(s => { const each = 1; return each; })];",
    ),
    case(
        "shorthand properties import, keys do not",
        EXPORTS,
        "fn(s => ({ each, get: 1 }));",
        'import { fn, each } from "@openfn/language-common";\n'
        'export * from "@openfn/language-common";\n'
        "export default [fn(s => ({ each, get: 1 }))];",
    ),
    case(
        "class method names are not imported",
        EXPORTS,
        "class A { get() { return each; } }\nfn(s => s);",
        'import { each, fn } from "@openfn/language-common";\n'
        'export * from "@openfn/language-common";\n'
        "class A { get() { return each; } }\n"
        "export default [fn(s => s)];",
    ),
    case(
        "typeof is a use",
        EXPORTS,
        "fn(s => typeof dataValue);",
        'import { fn, dataValue } from "@openfn/language-common";\n'
        'export * from "@openfn/language-common";\n'
        "export default [fn(s => typeof dataValue)];",
    ),
    case(
        "function declarations stay",
        EXPORTS,
        "function helper(s) { return s; }\nfn(helper);",
        'import { fn } from "@openfn/language-common";\n'
        'export * from "@openfn/language-common";\n'
        "function helper(s) { return s; }\n"
        "export default [fn(helper)];",
    ),
    case(
        "async functions stay and their calls import",
        EXPORTS,
        "async function go() { await get('/x'); }\nfn(go);",
        'import { get, fn } from "@openfn/language-common";\n'
        'export * from "@openfn/language-common";\n'
        "async function go() { await get('/x'); }\n"
        "export default [fn(go)];",
    ),
    case(
        "destructuring declares names",
        EXPORTS,
        "const { a, b: [c] } = { a: 1, b: [2] };\nfn(s => a + c);",
        'import { fn } from "@openfn/language-common";\n'
        'export * from "@openfn/language-common";\n'
        "const { a, b: [c] } = { a: 1, b: [2] };\n"
        "export default [fn(s => a + c)];",
    ),
    case(
        "labels are not names",
        EXPORTS,
        "label: for (const x of []) { break label; }\nfn(a);",
        'import { fn } from "@openfn/language-common";\n'
        'export * from "@openfn/language-common";\n'
        "label: for (const x of []) { break label; }\n"
        "export default [fn(a)];",
    ),
    case(
        "a loop stays",
        None,
        "for (const y of [1]) fn(y);\nfn(a);",
        "for (const y of [1]) fn(y);\nexport default [fn(a)];",
    ),
    case(
        "expressions between operations stay",
        None,
        "fn(a); x.y; fn(b);",
        "x.y;\nexport default [fn(a), fn(b)];",
    ),
    case(
        "no semicolon at the end",
        None,
        "fn(state => state)",
        "export default [fn(state => state)];",
    ),
    case(
        "a multi-line operation keeps its formatting",
        None,
        "fn(state => {\n    // keep me\n    return   state;\n});",
        "export default [fn(state => {\n    // keep me\n    return   state;\n})];",
    ),
    case(
        "declarations keep their formatting",
        None,
        "const  x =  { a : 1 };\nfn( s =>  x );",
        "const  x =  { a : 1 };\nexport default [fn( s =>  x )];",
    ),
    case(
        "lazy state with then and catch",
        EXPORTS,
        "get($.data.url).then(s => s).catch(e => e);",
        'import { defer as _defer } from "@openfn/runtime";\n'
        'import { get } from "@openfn/language-common";\n'
        'export * from "@openfn/language-common";\n'
        "export default [_defer(get(state => state.data.url), p => p.then(s => s).catch(e => e))];",
    ),
    case(
        "three operations",
        None,
        "fn(a);\nfn(b);\nfn(c);",
        "export default [fn(a), fn(b), fn(c)];",
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
    pytest.param("fn(s => $.data);", "take state", 1, 9, id="$ in a function of s"),
    pytest.param("fn(() => $.a);", "take state", 1, 10, id="$ in an arrow without parameters"),
    pytest.param("fn((state, x) => $.a);", "take state", 1, 18, id="$ in an arrow of two parameters"),
    pytest.param("export default [$.x];", "must be inside an operation", 1, 17, id="$ in the exported array"),
    pytest.param("for (const i of $.items) {}", "must be inside an operation", 1, 17, id="$ in a loop"),
    pytest.param("fn(a);\n\nconst { id } = $.data;", "must be inside an operation", 3, 16, id="$ on line 3"),
    pytest.param(
        "function f() {\n  return $.a;\n}", "must be inside an operation", 2, 10, id="$ in a function"
    ),
    pytest.param("while ($.more) {}", "must be inside an operation", 1, 8, id="$ in a while condition"),
    pytest.param("fn(a);\nget('/x);", "Unterminated string", 2, 5, id="unterminated string"),
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
