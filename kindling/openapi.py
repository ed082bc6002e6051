"""The REST API's contract (docs/api.md): the shared Error and Page schemas, the paging parameters, and
what the OpenAPI document says of every operation without each endpoint repeating it.

Every operation may answer 401 (no token, a wrong or expired one). One with parameters or a body may
answer 422 (a value of the wrong type or out of its declared limits), one with a body 400 (an unknown
field: bodies forbid them), one addressed by a path (a project's slug, an object's id) 404. An
endpoint declares the others it answers itself with `errors(...)`: 403 (its role table action is not
every member's), 400 (a domain rule), 409 (a state conflict), 429 (too much of that work going on).
"""

import types
from datetime import datetime
from typing import Annotated, Any, Union, get_args, get_origin

from ninja import Path, Query, Schema
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from kindling.lib.paging import DEFAULT_LIMIT, MAX_LIMIT

ERROR_REF = {"$ref": "#/components/schemas/Error"}
WHY = {
    400: "The request breaks a rule of this operation, or names a field it does not take",
    401: "No personal API token, or a wrong or expired one",
    403: "Your role in the project does not allow this",
    404: "No such object among those you can reach",
    409: "The object is not in a state that allows this",
    429: "Too much of this work is going on at once: try again when some has ended",
    422: "A parameter or field has the wrong type, or a value outside its declared limits",
}


class Error(Schema):
    # Some errors say more (a credential's `fields`): extra members are allowed, `error` is always there.
    model_config = ConfigDict(extra="allow")
    error: str


class Page(Schema):
    items: list[dict[str, Any]]
    count: int = Field(ge=0, description="How many items match, on every page")
    limit: int = Field(ge=1, le=MAX_LIMIT)
    offset: int = Field(ge=0)


def page_of(item: type[Schema], name: str) -> type[Page]:
    """A Page whose items are declared (`JobPage = page_of(JobOut, "JobPage")`), so that the document
    says what a list holds and the answer is checked against it."""
    return create_model(name, __base__=Page, items=(list[item], ...))


NUL = "nul_character"


def _find_nul(value, where: str) -> str | None:
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        items = [(f"{where}.{key}", key) for key in value] + [(f"{where}.{k}", v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(f"{where}[{i}]", v) for i, v in enumerate(value)]
    else:
        return None
    return next((found for path, item in items if (found := _find_nul(item, path))), None)


def _scalar_types(annotation) -> set:
    """The types a field's annotation allows, unwrapping Annotated, Optional and unions."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _scalar_types(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return set().union(*(_scalar_types(arg) for arg in get_args(annotation)))
    return {annotation}


# What lax mode would convert and the document's type refuses: JSON Schema counts 2.0 as an integer,
# so a float stays pydantic's to judge.
REFUSED = {bool: ((int, float, str), "a JSON boolean (true or false)"), int: ((bool, str), "a JSON integer")}


class BodyIn(Schema):
    """A request body: a field the endpoint does not know is refused (400, naming it) rather than
    ignored, so that a typo never looks like a successful change; the document says
    `additionalProperties: false`."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _json_scalar(cls, value, info: ValidationInfo):
        # Pydantic's lax mode takes 0 or "yes" for a boolean and "5" or 5.0 for an integer; the document
        # says `type: boolean` and `type: integer`, so a client sending those has made a mistake (422).
        allowed = _scalar_types(cls.model_fields[info.field_name].annotation) - {type(None)}
        if value is None or len(allowed) != 1:
            return value
        (kind,) = allowed
        refused, expected = REFUSED.get(kind, ((), ""))
        if isinstance(value, refused) and not (kind is bool and type(value) is bool):
            raise PydanticCustomError("strict_type", "Input should be {expected}", {"expected": expected})
        return value

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data):
        # PostgreSQL stores no NUL character, in text or in JSON: refused (400) before it reaches a row.
        if isinstance(data, dict):
            for key, value in data.items():
                if found := _find_nul(value, str(key)):
                    raise PydanticCustomError(
                        NUL, "{field} contains a NUL character (\\u0000)", {"field": found}
                    )
        return data


# The largest id (and offset) a database takes: a bigger number is a 422, never an overflow in SQL.
MAX_ID = 2**63 - 1
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="How many items at most (1 to 500)")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID - MAX_LIMIT, description="How many matching items to skip")]
# An object's id in a path (/jobs/{job_id}) or a body ({"message": 12}).
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]


def _no_bare_number(value):
    # Pydantic reads a number as seconds since 1970; the document says an ISO 8601 date-time, and a
    # client sending `0.5` has made a mistake worth a 422.
    try:
        float(value)
    except (TypeError, ValueError):
        return value
    raise ValueError("expected an ISO 8601 date-time, like 2026-05-01T08:00:00Z")


DateTime = Annotated[datetime, BeforeValidator(_no_bare_number)]
# The paging parameters of every list, as one default pair: `limit: Limit = LIMIT, offset: Offset = 0`.
LIMIT = DEFAULT_LIMIT


def Optional(enum=None, **constraints):  # noqa: N802 - reads as a type: `name: str = Optional(min_length=1)`
    """A field a body may leave out but never send as null: the document shows its type without the
    `default: null` that would tell a client null is fine (a null answers 422). `enum`: the values the
    domain function accepts (it refuses others with a 400 naming them)."""

    def declare(schema: dict) -> None:
        schema.pop("default", None)
        if enum is not None:
            schema["enum"] = list(enum)

    return Field(None, json_schema_extra=declare, **constraints)


def email_format(schema: dict) -> None:
    schema["format"] = "email"


def errors(*codes: int) -> dict:
    # Declared as plain objects to Ninja, which would otherwise drop an error's extra members (a
    # credential's `fields`); add_common_answers gives every 4xx answer the Error schema in the document.
    return {code: dict for code in codes}


def links(status: int, **targets: tuple[str, dict[str, str]]) -> dict:
    """`openapi_extra` of an operation whose answer leads to others (create -> get -> patch -> delete):
    name=(operationId, {parameter: runtime expression}), so that a client, and Schemathesis' stateful
    phase, follow them."""
    return {
        "responses": {
            status: {
                "links": {
                    name: {"operationId": operation, "parameters": parameters}
                    for name, (operation, parameters) in targets.items()
                }
            }
        }
    }


def operation_id(module: str, function: str) -> str:
    """The operationId Ninja gives a view function (NinjaAPI.get_openapi_operation_id)."""
    return f"{module}_{function}".replace(".", "_")


def add_common_answers(document: dict) -> dict:
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = Error.model_json_schema()
    for path, item in document.get("paths", {}).items():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            codes = []
            if operation.get("security"):
                codes.append(401)
            if operation.get("parameters") or operation.get("requestBody"):
                codes.append(422)
            if operation.get("requestBody"):
                codes.append(400)
            if "{" in path:
                codes.append(404)
            for code in codes:
                responses.setdefault(code, {})
            for code, answer in responses.items():
                if int(code) >= 400:
                    answer["description"] = WHY.get(int(code), answer.get("description", ""))
                    answer["content"] = {"application/json": {"schema": ERROR_REF}}
    return document
