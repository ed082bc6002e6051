# The REST API client of tests/api: call(user, "GET", "/library", q="x").
from tests.api.conftest import call  # noqa: F401
