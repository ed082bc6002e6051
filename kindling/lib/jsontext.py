"""JSON typed by a person in a form: errors say where, by line and column, like the inbox's do."""

import json


class JSONTextError(ValueError):
    pass


def _refuse_constant(name: str):
    # Python's json accepts NaN and Infinity, which are not JSON and which neither database stores.
    raise JSONTextError(f"{name} is not a JSON value (write it as a string or null)")


def parse(text: str, what: str = "JSON"):
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise JSONTextError(
            f"{what}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except JSONTextError as exc:
        raise JSONTextError(f"{what}: {exc}") from None
    except RecursionError:
        raise JSONTextError(f"{what}: nested too deeply") from None


def parse_object(text: str, what: str) -> dict:
    value = parse(text, what)
    if not isinstance(value, dict):
        raise JSONTextError(f'{what} must be a JSON object, like {{"formID": "patient_registration_v7"}}')
    return value
