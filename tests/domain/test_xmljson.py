"""XML bodies converted to JSON the way v1's inbox stores them (spec section 7)."""

import pytest

from kindling.lib.xmljson import XMLError, xml_to_json

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>"""


def test_it_strips_namespace_prefixes_from_element_names():
    body = xml_to_json(
        b'<h:html xmlns:h="http://www.w3.org/1999/xhtml"><h:head><h:title>T</h:title></h:head></h:html>'
    )
    assert body == {"html": {"@xmlns:h": "http://www.w3.org/1999/xhtml", "head": {"title": "T"}}}


def test_it_keeps_xmlns_as_an_attribute_key():
    body = xml_to_json(b'<data xmlns="http://openrosa.org/formdesigner/X" id="f1"><q1>a</q1></data>')
    assert body == {"data": {"@xmlns": "http://openrosa.org/formdesigner/X", "@id": "f1", "q1": "a"}}


def test_it_strips_namespace_prefixes_from_attribute_names():
    body = xml_to_json(b'<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="t"/>')
    assert body == {"a": {"@xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance", "@type": "t"}}


def test_it_turns_repeated_elements_into_a_list():
    body = xml_to_json(b"<form><med>a</med><med>b</med><med>c</med><name>Jack</name></form>")
    assert body == {"form": {"med": ["a", "b", "c"], "name": "Jack"}}


def test_it_keeps_a_single_element_as_a_value_not_a_list():
    assert xml_to_json(b"<form><med>a</med></form>") == {"form": {"med": "a"}}


def test_it_puts_text_next_to_attributes_under_text_key():
    body = xml_to_json(b'<form><weight unit="kg">72</weight></form>')
    assert body == {"form": {"weight": {"@unit": "kg", "#text": "72"}}}


def test_it_puts_text_next_to_children_under_text_key():
    assert xml_to_json(b"<note>hello <b>world</b></note>") == {"note": {"b": "world", "#text": "hello"}}


def test_an_empty_element_is_null():
    assert xml_to_json(b"<form><empty/><blank>   </blank></form>") == {"form": {"empty": None, "blank": None}}


def test_repeated_elements_with_attributes_become_a_list_of_objects():
    body = xml_to_json(b'<r><item id="1">x</item><item id="2"/></r>')
    assert body == {"r": {"item": [{"@id": "1", "#text": "x"}, {"@id": "2"}]}}


def test_it_refuses_the_billion_laughs():
    with pytest.raises(XMLError, match="DTDs and entity declarations are not accepted"):
        xml_to_json(BILLION_LAUGHS)


def test_it_refuses_an_external_entity():
    xxe = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    with pytest.raises(XMLError, match="not accepted"):
        xml_to_json(xxe)


def test_it_refuses_an_external_dtd():
    with pytest.raises(XMLError, match="not accepted"):
        xml_to_json(b'<!DOCTYPE r SYSTEM "http://127.0.0.1:1/evil.dtd"><r/>')


def test_it_reports_malformed_xml_with_line_and_column():
    with pytest.raises(XMLError, match=r"invalid XML at line 2, column 7: mismatched tag"):
        xml_to_json(b"<form>\n<a>1</b>\n</form>")


def test_it_reports_an_undefined_entity():
    with pytest.raises(XMLError, match=r"line 1, column 4: undefined entity"):
        xml_to_json(b"<r>&nope;</r>")


def test_it_refuses_elements_nested_deeper_than_the_limit():
    with pytest.raises(XMLError, match="nested more than 3 levels deep"):
        xml_to_json(b"<a><b><c><d/></c></b></a>", max_depth=3)


def test_it_accepts_elements_nested_up_to_the_limit():
    assert xml_to_json(b"<a><b><c/></b></a>", max_depth=3) == {"a": {"b": {"c": None}}}
