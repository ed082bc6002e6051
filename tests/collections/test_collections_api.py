"""The collections API that @openfn/language-collections calls (kindling/collections/api.py): a run's
token opens its own project's collections only, while the run runs; items are set in batches, read by
key or by pattern a page at a time, filtered by dates, and removed; limits answer 413."""

import json
from datetime import timedelta

from django.utils import timezone

from kindling.collections import store, tokens
from kindling.collections.models import Collection, Item
from kindling.runs.models import Run
from tests.collections.conftest import Jobs, running_run
from tests.conftest import make_project


def value(data) -> str:
    return json.dumps(data)


def test_it_sets_items_and_reads_one_back_by_key(api):
    response = api.set("patients", [{"key": "p-1", "value": value({"name": "Ada"})}])
    assert response.status_code == 200
    assert response.json() == {"upserted": 1, "error": None}
    found = api.get("/collections/patients/p-1")
    assert found.json() == {"key": "p-1", "value": '{"name": "Ada"}'}


def test_setting_a_key_again_replaces_its_value_and_keeps_its_creation_time(api, patients):
    api.set("patients", [{"key": "p-1", "value": value(1)}])
    created = Item.objects.get().created_at
    api.set("patients", [{"key": "p-1", "value": value(2)}])
    item = Item.objects.get()
    assert (item.value, item.created_at) == ("2", created)
    assert item.updated_at >= created


def test_a_missing_key_answers_204(api):
    assert api.get("/collections/patients/nobody").status_code == 204


def test_a_pattern_lists_matching_items_in_the_order_they_were_set(api):
    api.set("patients", [{"key": k, "value": value(k)} for k in ("p-2", "x-1", "p-1")])
    body = api.get("/collections/patients", {"key": "p-*"}).json()
    assert [item["key"] for item in body["items"]] == ["p-2", "p-1"]
    assert body["cursor"] is None


def test_pages_follow_the_cursor_to_the_last_item(api):
    api.set("patients", [{"key": f"k{i}", "value": value(i)} for i in range(5)])
    first = api.get("/collections/patients", {"limit": 2}).json()
    second = api.get("/collections/patients", {"limit": 2, "cursor": first["cursor"]}).json()
    third = api.get("/collections/patients", {"limit": 2, "cursor": second["cursor"]}).json()
    keys = [item["key"] for body in (first, second, third) for item in body["items"]]
    assert keys == ["k0", "k1", "k2", "k3", "k4"]
    assert third["cursor"] is None


def test_date_filters_select_items_by_when_they_were_created_or_updated(api, patients):
    api.set("patients", [{"key": "old", "value": "1"}, {"key": "new", "value": "2"}])
    long_ago = timezone.now() - timedelta(days=10)
    Item.objects.filter(key="old").update(created_at=long_ago, updated_at=long_ago)
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert [i["key"] for i in api.get("/collections/patients", {"created_after": since}).json()["items"]] == [
        "new"
    ]
    assert [i["key"] for i in api.get("/collections/patients", {"updatedBefore": since}).json()["items"]] == [
        "old"
    ]


def test_it_removes_one_key_or_every_key_matching_a_pattern(api):
    api.set("patients", [{"key": k, "value": "1"} for k in ("p-1", "p-2", "x-1")])
    assert api.delete("/collections/patients/x-1").json() == {"key": "x-1", "deleted": 1}
    assert api.delete("/collections/patients?key=p-*").json() == {"deleted": 2, "keys": ["p-1", "p-2"]}
    assert not Item.objects.exists()


def test_a_collection_that_does_not_exist_answers_404_as_the_adaptor_expects(api):
    response = api.get("/collections/nothing-here/a")
    assert response.status_code == 404
    assert "no collection named 'nothing-here'" in response.json()["error"]


def test_it_refuses_requests_without_a_valid_token(project, patients):
    for client in (Jobs("not-a-token"), Jobs("")):
        response = client.get("/collections/patients/p-1")
        assert response.status_code == 401
        assert "collections token" in response.json()["error"]


def test_a_token_stops_working_when_its_run_ends(project, patients):
    run = running_run(project)
    client = Jobs(tokens.issue(run))
    Run.objects.filter(pk=run.pk).update(status=Run.Status.SUCCESS)
    assert client.get("/collections/patients/p-1").status_code == 401


def test_a_run_cannot_reach_the_collections_of_another_project(alice, patients):
    other = make_project(alice, "Other project")
    store.create_collection(other, "theirs")
    client = Jobs(tokens.issue(running_run(other)))
    assert client.get("/collections/patients/p-1").status_code == 404
    assert client.set("patients", [{"key": "a", "value": "1"}]).status_code == 404
    assert not Item.objects.exists()


def test_an_item_over_the_size_limit_is_refused_with_413_and_nothing_is_set(api, settings):
    settings.COLLECTIONS_ITEM_MAX_BYTES = 1024
    response = api.set("patients", [{"key": "small", "value": "1"}, {"key": "big", "value": "x" * 2000}])
    assert response.status_code == 413
    assert response.json()["error"].startswith("Item 'big' is 2 KB, over the limit of 1 KB per item")
    assert not Item.objects.exists()


def test_a_batch_that_would_pass_the_project_limit_is_refused_with_413(api, settings):
    settings.COLLECTIONS_PROJECT_MAX_BYTES = 3000
    assert api.set("patients", [{"key": "a", "value": "x" * 2000}]).status_code == 200
    response = api.set("patients", [{"key": "b", "value": "x" * 2000}])
    assert response.status_code == 413
    assert "over its limit of 3 KB" in response.json()["error"]
    # Replacing a value counts its new size only.
    assert api.set("patients", [{"key": "a", "value": "x" * 2500}]).status_code == 200


def test_bad_bodies_and_queries_get_400_saying_what_is_wrong(api):
    cases = [
        (api.post("/collections/patients", "nope", content_type="application/json"), "The body is not JSON"),
        (api.set("patients", [{"key": "a", "value": 1}]), "the value must be a string"),
        (api.set("patients", [{"key": "", "value": "1"}]), "the key must be a string"),
        (api.set("patients", [{"key": "a*", "value": "1"}]), "cannot hold '*'"),
        (api.set("patients", [{"key": "a", "value": "\ud800"}]), "an unpaired surrogate"),
        (api.set("patients", [{"key": "a", "value": "\x00"}]), "a NUL character"),
        (api.get("/collections/patients", {"limit": "0"}), "limit must be a whole number"),
        (
            api.get("/collections/patients", {"created_after": "yesterday"}),
            "created_after must be an ISO 8601",
        ),
        (api.get("/collections/patients", {"colour": "red"}), "Unknown query parameter(s): colour"),
        (api.get("/collections/patients", {"cursor": "x"}), "cursor must be"),
    ]
    for response, words in cases:
        assert response.status_code == 400, words
        assert words in response.json()["error"]


def test_deleting_a_collection_deletes_its_items(project, api, patients):
    api.set("patients", [{"key": "a", "value": "1"}])
    store.delete_collection(patients)
    assert not Collection.objects.exists() and not Item.objects.exists()
