"""PATCH bodies of the REST API: a field the endpoint does not know is refused (400, naming it) rather
than ignored, so that a typo never looks like a successful change."""

from ninja import Schema
from pydantic import ConfigDict


class PatchIn(Schema):
    model_config = ConfigDict(extra="forbid")


def unknown_fields(errors) -> list[str]:
    """The names of unknown fields if they are the only problem of a request, else []."""
    if not errors or any(e.get("type") != "extra_forbidden" for e in errors):
        return []
    return sorted({str(e["loc"][-1]) for e in errors if e.get("loc")})
