"""PATCH bodies of the REST API: a field the endpoint does not know is refused (400, naming it) rather
than ignored, so that a typo never looks like a successful change."""

from ninja import Schema
from pydantic import ConfigDict


class PatchIn(Schema):
    model_config = ConfigDict(extra="forbid")


def unknown_fields(errors) -> list[str]:
    """The names of the unknown fields of a request (a 400, whatever else is wrong with it)."""
    return sorted({str(e["loc"][-1]) for e in errors if e.get("type") == "extra_forbidden" and e.get("loc")})


class ErrorOut(Schema):
    """The body of every refusal of the API, declared in the OpenAPI document: `{"error": "..."}`."""

    error: str
