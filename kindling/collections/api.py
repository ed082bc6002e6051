"""The HTTP API that @openfn/language-collections calls, under KINDLING_COLLECTIONS_URL (by default
http://127.0.0.1:<port>/collections), authenticated with the run's token (`Authorization: Bearer`):

    GET    /collections/<name>/<key>        {"key", "value"}, or 204 when there is no such key
    GET    /collections/<name>?key=<pattern>&limit=&cursor=&created_after=...
           {"cursor": next page or null, "items": [{"key", "value", "created", "updated"}]}
    POST   /collections/<name>              {"items": [{"key", "value"}]} -> {"upserted": n, "error": null}
    DELETE /collections/<name>/<key>        {"key", "deleted": 0 or 1}
    DELETE /collections/<name>?key=<pattern>&created_after=...   {"deleted": n, "keys": [...]}

Values are JSON text, as the adaptor sends and reads them. Errors are {"error": "..."}.
"""

import json

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from kindling.collections import store, tokens
from kindling.collections.store import CollectionError

PAGE_PARAMS = ("limit", "cursor")


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def authenticated_project(request) -> int | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return tokens.project_of(token.strip())


def read_items(request):
    limit = settings.COLLECTIONS_REQUEST_MAX_BYTES
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise CollectionError(
            413, f"The body is over {store.megabytes(limit)}: send the items in smaller batches."
        )
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise CollectionError(
            400, 'The body is not JSON: send {"items": [{"key": "...", "value": "..."}]}.'
        ) from None
    if not isinstance(body, dict) or set(body) != {"items"}:
        raise CollectionError(400, 'The body must be {"items": [{"key": "...", "value": "..."}, ...]}.')
    return body["items"]


def item_out(item: dict) -> dict:
    return {
        "key": item["key"],
        "value": item["value"],
        "created": item["created_at"].isoformat(),
        "updated": item["updated_at"].isoformat(),
    }


@csrf_exempt
def collection(request, name: str, key: str | None = None):
    project_id = authenticated_project(request)
    if project_id is None:
        return error(
            401,
            "A valid collections token is required (Authorization: Bearer <token>): jobs get "
            "theirs in state.configuration.collections_token, good while their run runs.",
        )
    try:
        found = store.collection_named(project_id, name)
        params = request.GET.dict()
        if request.method == "GET" and key is not None:
            item = found.items.filter(key=key).first()
            return (
                HttpResponse(status=204)
                if item is None
                else JsonResponse({"key": item.key, "value": item.value})
            )
        if request.method == "GET":
            query = store.Query.from_params(params, allowed=PAGE_PARAMS)
            items, cursor = store.page(
                found, query, params.get("cursor"), store.parse_limit(params.get("limit"))
            )
            return JsonResponse({"cursor": cursor, "items": [item_out(item) for item in items]})
        if request.method == "POST" and key is None:
            return JsonResponse({"upserted": store.upsert(found, read_items(request)), "error": None})
        if request.method == "DELETE":
            if key is not None:
                return JsonResponse({"key": key, "deleted": len(store.remove(found, store.Query(key=key)))})
            removed = store.remove(found, store.Query.from_params(params))
            return JsonResponse({"deleted": len(removed), "keys": removed})
    except CollectionError as exc:
        return error(exc.status, str(exc))
    response = error(405, "Collections answer GET, POST (to a collection) and DELETE.")
    response["Allow"] = "GET, DELETE" if key is not None else "GET, POST, DELETE"
    return response
