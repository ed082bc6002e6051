"""Request bodies of the REST API: a field the endpoint does not know is refused (400, naming it) rather
than ignored, so that a typo never looks like a successful change."""

from ninja import Schema

from kindling.openapi import BodyIn

# PATCH bodies were the first to refuse unknown fields; every body does now (kindling/openapi.py).
PatchIn = BodyIn


def unknown_fields(errors) -> list[str]:
    """The names of the unknown fields of a request (a 400, whatever else is wrong with it)."""
    return sorted({str(e["loc"][-1]) for e in errors if e.get("type") == "extra_forbidden" and e.get("loc")})


class ErrorOut(Schema):
    """The body of every refusal of the API, declared in the OpenAPI document: `{"error": "..."}`."""

    error: str
