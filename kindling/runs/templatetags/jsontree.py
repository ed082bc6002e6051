"""`{% json_tree value %}`: a JSON value as a tree of <details> elements that fold and unfold.

Rendered on the server: the browser's JSON.parse would round integers above 2^53, and a state is
shown as it was saved. Very large values get no tree (the raw JSON stays available next to it).
"""

import json

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()

MAX_NODES = 3000
OPEN_LEVELS = 2


class TooLarge(Exception):
    pass


def _count(value, budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise TooLarge
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        _count(child, budget)


def _scalar(value) -> str:
    kind = (
        "null"
        if value is None
        else "boolean"
        if isinstance(value, bool)
        else "number"
        if isinstance(value, int | float)
        else "string"
    )
    return f'<span class="kindling-tree-{kind}">{escape(json.dumps(value, ensure_ascii=False))}</span>'


def _label(key) -> str:
    if key is None:
        return ""
    text = str(key) if isinstance(key, int) else json.dumps(key, ensure_ascii=False)
    return f'<span class="kindling-tree-key">{escape(text)}</span>: '


def _node(key, value, depth: int, out: list[str]) -> None:
    if not isinstance(value, dict | list) or not value:
        empty = "{}" if value == {} and isinstance(value, dict) else "[]" if value == [] else None
        shown = f'<span class="kindling-tree-punct">{empty}</span>' if empty else _scalar(value)
        out.append(f"<li>{_label(key)}{shown}</li>")
        return
    is_object = isinstance(value, dict)
    size = len(value)
    summary = (
        f'{"{…}" if is_object else "[…]"} <span class="kindling-tree-size">'
        f"{size} {'key' if is_object else 'item'}{'' if size == 1 else 's'}</span>"
    )
    out.append(
        f"<li><details{' open' if depth < OPEN_LEVELS else ''}><summary>{_label(key)}{summary}</summary><ul>"
    )
    items = value.items() if is_object else enumerate(value)
    for child_key, child in items:
        _node(child_key, child, depth + 1, out)
    out.append("</ul></details></li>")


@register.simple_tag
def json_tree(value, label="state"):
    try:
        _count(value, [MAX_NODES])
    except TooLarge:
        return ""
    out = [f'<ul class="kindling-tree" aria-label="{escape(label)} as a tree">']
    if isinstance(value, dict | list) and value:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in items:
            _node(key, child, 1, out)
    else:
        _node(None, value, 1, out)
    out.append("</ul>")
    return mark_safe("".join(out))  # noqa: S308 - every piece of the value went through escape()
