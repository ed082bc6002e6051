"""The operations an expression calls at its top level, for the Job Library's "operation used" search."""

from kindling.lib.operations import top_level_operations


def test_it_finds_the_operations_in_order_each_once():
    assert top_level_operations("fn(s => s);\nupsert('a', 'id', {});\nfn(s => s);") == ["fn", "upsert"]


def test_calls_inside_callbacks_and_arguments_are_not_operations_of_the_job():
    expression = "each('$.data[*]', create('Patient', state => ({ id: dataValue('id')(state) })));"

    assert top_level_operations(expression) == ["each"]


def test_comments_strings_templates_and_regexes_do_not_count():
    expression = (
        "// upsert(x)\n/* create(y) */\n"
        "fn(s => `${bulk(1)}` + 'sql(' + /query(/g.source);\n"
        'const text = "insert(";\n'
        "sql(state => 'select 1');"
    )

    assert top_level_operations(expression) == ["fn", "sql"]


def test_methods_keywords_and_declarations_are_not_operations():
    expression = (
        "function helper(a) { return a; }\nif (x) { y(); }\nconsole.log('x');\nhttp.get('/a');\nget('/b');"
    )

    assert top_level_operations(expression) == ["get"]


def test_an_unfinished_expression_does_not_break_the_scan():
    assert top_level_operations("fn(s => { return 'unclosed") == ["fn"]
    assert top_level_operations("") == []
