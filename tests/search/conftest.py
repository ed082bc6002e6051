from tests.api.conftest import call  # noqa: F401 - the REST API caller, for the search API tests
