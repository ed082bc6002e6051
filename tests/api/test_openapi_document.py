"""The OpenAPI document at /api/v1/openapi.json keeps the conventions of docs/api.md on every operation:
one Error schema for every error, bodies that forbid unknown fields, one Page shape for lists with the
same paging parameters, links from what creates objects. tests/contract runs Schemathesis against the
served API; these read the document itself, and check the behaviours it promises."""

import pytest

from kindling.api import api
from kindling.inbox.filters import RUN_STATES
from kindling.runs.models import Run

METHODS = {"get", "post", "put", "patch", "delete"}
ERROR = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def document():
    return api.get_openapi_schema()


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def resolve(document, schema):
    if "anyOf" in schema:  # an optional body: the object, or nothing
        schema = next(option for option in schema["anyOf"] if option.get("type") != "null")
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_every_operation_answers_401_and_every_error_is_the_error_schema(document):
    for name, operation in operations(document):
        responses = operation["responses"]
        assert "401" in {str(code) for code in responses}, name
        for code, answer in responses.items():
            if int(code) >= 400:
                assert answer["content"]["application/json"]["schema"] == ERROR, (name, code)


def test_every_request_body_refuses_unknown_fields(document):
    for name, operation in operations(document):
        if "requestBody" in operation:
            schema = resolve(document, operation["requestBody"]["content"]["application/json"]["schema"])
            assert schema.get("additionalProperties") is False, name
            assert {"400", "422"} <= {str(code) for code in operation["responses"]}, name


PAGE = {"items", "count", "limit", "offset"}


def success_schema(document, operation):
    answer = operation["responses"].get(200, operation["responses"].get("200", {}))
    schema = answer.get("content", {}).get("application/json", {}).get("schema")
    return resolve(document, schema) if schema else {}


def test_every_list_is_a_page_with_the_same_paging_parameters(document):
    # A list answers the Page schema or one built from it (page_of: its items declared).
    lists = [
        (name, operation)
        for name, operation in operations(document)
        if PAGE <= set(success_schema(document, operation).get("properties", {}))
    ]
    assert len(lists) >= 12
    for name, operation in lists:
        page = success_schema(document, operation)
        assert PAGE <= set(page["required"]), name
        assert page["properties"]["items"]["type"] == "array", name
        parameters = {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "query"}
        assert parameters["limit"]["minimum"] == 1 and parameters["limit"]["maximum"] == 500, name
        assert parameters["offset"]["minimum"] == 0, name


def test_what_creates_an_object_links_to_reading_and_changing_it(document):
    jobs = document["paths"]["/api/v1/projects/{slug}/jobs"]["post"]["responses"]
    links = (jobs.get(201) or jobs["201"])["links"]
    assert links["get"] == {
        "operationId": "kindling_jobs_api_get_job",
        "parameters": {"job_id": "$response.body#/id"},
    }
    assert {"get", "patch", "run"} <= set(links)


def test_enums_are_declared_as_the_code_enforces_them(document):
    messages = document["paths"]["/api/v1/projects/{slug}/messages"]["get"]["parameters"]
    state = next(p for p in messages if p["name"] == "state")["schema"]
    assert set(state["anyOf"][0]["enum"]) == set(RUN_STATES)
    trigger = resolve(document, {"$ref": "#/components/schemas/TriggerIn"})["properties"]["kind"]
    assert resolve(document, trigger)["enum"] == ["message", "cron", "flow", "catch"]


def test_an_unknown_field_in_any_body_is_named_in_a_400(call, project, alice):
    response = call(
        alice, "POST", f"/projects/{project.slug}/triggers", {"name": "t", "kind": "cron", "crn": "x"}
    )

    assert response.status_code == 400
    assert response.json()["error"].startswith("Unknown field(s): crn.")
    assert not project.triggers.exists()


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 501}, {"offset": -1}])
def test_paging_out_of_its_declared_limits_is_a_422_naming_the_parameter(call, project, alice, query):
    response = call(alice, "GET", f"/projects/{project.slug}/jobs", **query)

    assert response.status_code == 422
    assert next(iter(query)) in response.json()["error"]


def test_a_page_says_its_count_limit_and_offset(call, project, alice):
    response = call(alice, "GET", "/projects", limit=1, offset=0)

    assert response.json() == {"items": [response.json()["items"][0]], "count": 1, "limit": 1, "offset": 0}


def test_an_id_past_what_a_database_holds_is_a_422_not_a_server_error(call, project, alice):
    response = call(alice, "GET", f"/jobs/{2**63}")

    assert response.status_code == 422 and "job_id" in response.json()["error"]


def test_a_body_that_is_not_json_is_a_400_in_the_error_shape(client, token_for, project, alice):
    response = client.post(
        f"/api/v1/projects/{project.slug}/jobs",
        "{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {token_for(alice)}"},
    )

    assert response.status_code == 400
    assert response.json() == {"error": "The body is not valid JSON: send a JSON object."}


def test_the_api_reference_page_loads_swagger_ui_from_kindlings_own_static_files(client):
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    page = response.content.decode()
    assert (
        "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page
        and "/static/kindling/api-reference.js" in page
    )
    assert "<script>" not in page and "cdn" not in page.lower()


def test_a_nul_character_in_a_body_is_a_400_naming_the_field_not_a_server_error(call, project, alice):
    response = call(alice, "POST", "/projects", {"name": "Health\u0000Ministry"})

    assert response.status_code == 400
    assert response.json()["error"] == "name contains a NUL character (\\u0000): it cannot be stored."


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/support-access", {"enabled": 0}),
        ("/support-access", {"enabled": "true"}),
        ("", {"concurrency": "2"}),
    ],
)
def test_a_value_lax_parsing_would_convert_is_a_422_as_its_declared_type_says(
    call, project, alice, path, body
):
    method = "PUT" if path else "PATCH"

    response = call(alice, method, f"/projects/{project.slug}{path}", body)

    assert response.status_code == 422
    assert next(iter(body)) in response.json()["error"]
    project.refresh_from_db()
    assert (project.support_access, project.concurrency) == (False, 1)


def test_every_answer_of_a_resource_declares_its_members(document):
    for name, operation in operations(document):
        for code, answer in operation["responses"].items():
            schema = answer.get("content", {}).get("application/json", {}).get("schema")
            if 200 <= int(code) < 300 and schema is not None:
                resolved = resolve(document, schema)
                assert resolved.get("properties") or resolved.get("type") == "array", (name, code)


def test_a_runs_status_is_declared_with_the_runs_own_statuses(document):
    runs = success_schema(document, document["paths"]["/api/v1/projects/{slug}/runs"]["get"])
    item = resolve(document, runs["properties"]["items"]["items"])
    status = resolve(document, item["properties"]["status"])
    assert status["enum"] == list(Run.Status.values)
