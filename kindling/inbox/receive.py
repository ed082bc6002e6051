"""HTTP intake of the inbox: parse the body, store the message and create its runs in one transaction."""

import json
import math
import re
import sys
from urllib.parse import parse_qs

from django.db import transaction

from kindling.inbox.models import Message
from kindling.lib.storable import unstorable_text
from kindling.lib.xmljson import XMLError, xml_to_json
from kindling.runs import queue

# Never store what authenticates the sender: these headers are dropped from the saved message.
SECRET_HEADERS = {"authorization", "cookie", "x-api-key", "proxy-authorization"}


# Far deeper than any form; shallow enough that storing the body (which serialises it recursively)
# never reaches Python's recursion limit.
MAX_DEPTH = 500
# In JSON text, the only ways to write a NUL or an unpaired surrogate: PostgreSQL's jsonb refuses both.
UNSTORABLE_ESCAPE = re.compile(rb"\\u(0000|[dD][89a-fA-F])")


class BadBody(ValueError):
    pass


def parse_body(raw: bytes, content_type: str):
    content_type = (content_type or "").split(";")[0].strip().lower()
    if not raw.strip():
        raise BadBody("The request body is empty: send a JSON object (or XML, or a form).")
    if content_type.endswith("xml"):
        try:
            # expat itself refuses NUL characters and surrogates, which XML does not allow.
            return xml_to_json(raw, max_depth=MAX_DEPTH)
        except XMLError as exc:
            raise BadBody(str(exc)) from None
    if content_type == "application/x-www-form-urlencoded":
        try:
            fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadBody(f"invalid form body: {exc}") from None
        body = {key: values[0] if len(values) == 1 else values for key, values in fields.items()}
        check_text(body)
        return body
    try:
        body = json.loads(raw, parse_constant=refuse_constant, parse_float=finite_float)
    except UnicodeDecodeError:
        raise BadBody("The body is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise BadBody(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except BadBody:
        raise
    except ValueError:
        # Python refuses to read an integer of more than 4,300 digits (sys.get_int_max_str_digits).
        raise BadBody(
            f"invalid JSON: a number has more than {sys.get_int_max_str_digits():,} digits; "
            "send it as a string"
        ) from None
    except RecursionError:
        raise BadBody(f"The body is nested more than {MAX_DEPTH} levels deep.") from None
    if body is None:
        raise BadBody("A body of null cannot be stored: send a JSON object (or XML, or a form).")
    # Both checks walk the body; the cheap tests on the raw text spare that walk to almost every message.
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH:
        check_depth(body)
    if UNSTORABLE_ESCAPE.search(raw):
        check_text(body)
    return body


def finite_float(text: str) -> float:
    # 1e400 is valid JSON, but Python reads it as infinity, which neither database stores. Called for
    # floats only (integers keep the decoder's fast path), so a body without floats costs nothing more.
    value = float(text)
    if math.isinf(value):
        sign = "-" if value < 0 else ""
        raise BadBody(
            f"invalid JSON: a number is beyond {sign}1.8e308, the largest a database stores "
            "(Python reads it as infinity); send it as a string"
        )
    return value


def refuse_constant(name: str):
    # Python's json accepts NaN and Infinity, which are not JSON: neither database would store them.
    raise BadBody(f"invalid JSON: {name} is not a JSON value (send it as a string or null)")


def check_depth(body) -> None:
    level, depth = ([body] if isinstance(body, dict | list) else []), 1
    while level:
        if depth > MAX_DEPTH:
            raise BadBody(f"The body is nested more than {MAX_DEPTH} levels deep.")
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
        depth += 1


def check_text(body) -> None:
    problem = unstorable_text(body)
    if problem is not None:
        raise BadBody(f"The body holds {problem}, which cannot be stored.")


def stored_headers(headers) -> dict:
    return {k.lower(): v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}


def receive(project_id: int, body, headers=None) -> tuple[Message, list]:
    """Store a message and queue its runs; both or neither (an accepted message is never lost)."""
    with transaction.atomic():
        headers = stored_headers(headers or {})
        message = Message.objects.create(project_id=project_id, body=body, headers=headers)
        runs = queue.runs_for_message(message)
    return message, runs
