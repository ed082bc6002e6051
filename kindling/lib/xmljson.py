"""XML bodies to JSON, the way v1's inbox stores them.

Element names lose their namespace prefix (`h:head` -> `head`); attributes become `@name` keys (so
`xmlns` shows as `@xmlns`); text next to attributes or children is `#text`; repeated elements become
lists; an element with only text is its text, an empty one is null. DTDs and entities are refused, so
no entity expansion ("billion laughs") or external entity can be triggered by a posted body.
"""

from xml.parsers import expat


class XMLError(ValueError):
    pass


def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1]


def _add(parent: dict, key: str, value) -> None:
    if key in parent:
        existing = parent[key]
        if isinstance(existing, list):
            existing.append(value)
        else:
            parent[key] = [existing, value]
    else:
        parent[key] = value


def xml_to_json(data: bytes, max_depth: int | None = None) -> dict:
    parser = expat.ParserCreate()  # no namespace processing: xmlns stays a plain attribute
    stack: list[tuple[str, dict, list[str]]] = []
    root: dict = {}

    def refuse(*_args):
        raise XMLError("DTDs and entity declarations are not accepted")

    def start(name, attrs):
        if max_depth is not None and len(stack) >= max_depth:
            raise XMLError(f"elements are nested more than {max_depth} levels deep")
        stack.append(
            (_local(name), {f"@{k if k.startswith('xmlns') else _local(k)}": v for k, v in attrs.items()}, [])
        )

    def text(chunk):
        if stack:
            stack[-1][2].append(chunk)

    def end(_name):
        name, node, texts = stack.pop()
        content = "".join(texts).strip()
        if node:
            if content:
                node["#text"] = content
            value = node
        else:
            value = content or None
        _add(stack[-1][1] if stack else root, name, value)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise XMLError(
            f"invalid XML at line {exc.lineno}, column {exc.offset + 1}: {expat.ErrorString(exc.code)}"
        ) from None
    return root
