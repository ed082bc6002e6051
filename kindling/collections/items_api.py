"""REST API of a project's collections, as the portal's Collections pages have them: list, create and
delete collections, browse their items by key pattern, read and delete one item. Every member may
read them; creating and deleting takes `edit_job`, as on the pages. (Jobs reach the items through
@openfn/language-collections' API, kindling/collections/api.py, with their run's token.)"""

from datetime import datetime

from django.db.models import Count
from django.http import Http404
from ninja import Query, Router, Schema, Status
from pydantic import Field

from kindling.collections import store
from kindling.collections.models import Collection
from kindling.lib.paging import page
from kindling.lib.storable import UNSTORABLE
from kindling.openapi import LIMIT, BodyIn, Id, Limit, Offset, errors, links, operation_id, page_of
from kindling.projects.access import project_for
from kindling.runs.api import in_project

router = Router(tags=["collections"])
THIS = __name__


class CollectionIn(BodyIn):
    # store.NAME's rule is a 400 (an anchored pattern reads differently in Python's and JSON Schema's
    # regular expressions, at a final line break).
    name: str = Field(
        min_length=1,
        max_length=100,
        description="Letters, digits, '-', '_' or '.', starting with a letter or a digit",
    )


class CollectionOut(Schema):
    id: int
    name: str
    items: int = Field(ge=0, description="How many items it holds")
    created_at: datetime


class ItemOut(Schema):
    id: int
    key: str
    size: int = Field(ge=0, description="Bytes of its value")
    created_at: datetime
    updated_at: datetime


class ItemDetailOut(ItemOut):
    value: str = Field(description="The value as stored: the JSON text a job set, or other text")


CollectionPage = page_of(CollectionOut, "CollectionPage")
ItemPage = page_of(ItemOut, "ItemPage")


def collection_out(collection: Collection) -> dict:
    return {
        "id": collection.pk,
        "name": collection.name,
        "items": collection.item_count if hasattr(collection, "item_count") else collection.items.count(),
        "created_at": collection.created_at,
    }


def item_out(item) -> dict:
    return {
        "id": item.pk,
        "key": item.key,
        "size": item.size,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def item_of(request, collection_id: int, item_id: int, action: str):
    collection = in_project(Collection, request.user, collection_id, action, "collection")
    item = collection.items.filter(pk=item_id).first()
    if item is None:
        raise Http404("No such item in this collection.")
    return collection, item


@router.get("/projects/{slug}/collections", response=CollectionPage, summary="The project's collections")
def list_collections(request, slug: str, limit: Limit = LIMIT, offset: Offset = 0):
    project = project_for(request.user, slug)
    collections = project.collections.annotate(item_count=Count("items")).order_by("name")
    return page(collections, limit, offset, collection_out)


@router.post(
    "/projects/{slug}/collections",
    response={201: CollectionOut, **errors(400)},
    summary="Create a collection (its name is part of the URL jobs call); 400 if the name is taken",
    openapi_extra=links(
        201,
        get=(operation_id(THIS, "get_collection"), {"collection_id": "$response.body#/id"}),
        items=(operation_id(THIS, "list_items"), {"collection_id": "$response.body#/id"}),
        delete=(operation_id(THIS, "delete_collection"), {"collection_id": "$response.body#/id"}),
    ),
)
def create_collection(request, slug: str, payload: CollectionIn):
    project = project_for(request.user, slug, "edit_job")
    try:
        collection = store.create_collection(project, payload.name, request.user)
    except store.CollectionError as exc:
        return Status(exc.status, {"error": str(exc)})
    return Status(201, collection_out(collection))


@router.get("/collections/{collection_id}", response=CollectionOut, summary="One collection")
def get_collection(request, collection_id: Id):
    return collection_out(in_project(Collection, request.user, collection_id, "view", "collection"))


@router.delete(
    "/collections/{collection_id}", response={204: None}, summary="Delete a collection and all its items"
)
def delete_collection(request, collection_id: Id):
    collection = in_project(Collection, request.user, collection_id, "edit_job", "collection")
    store.delete_collection(collection, request.user)
    return Status(204, None)


@router.get(
    "/collections/{collection_id}/items",
    response={200: ItemPage, **errors(400)},
    summary="A collection's items in the order they were first set; `key` filters by a pattern (* for "
    "any characters)",
)
def list_items(
    request,
    collection_id: Id,
    key: str = Query("*", max_length=255, description="A key, or a pattern like patient-*"),
    limit: Limit = LIMIT,
    offset: Offset = 0,
):
    collection = in_project(Collection, request.user, collection_id, "view", "collection")
    if UNSTORABLE.search(key):
        return Status(400, {"error": "key: a key holds no NUL character nor unpaired surrogate."})
    items = store.Query(key=key.strip() or "*").filter(collection.items.all()).order_by("pk")
    return Status(200, page(items, limit, offset, item_out))


@router.get(
    "/collections/{collection_id}/items/{item_id}", response=ItemDetailOut, summary="One item with its value"
)
def get_item(request, collection_id: Id, item_id: Id):
    _collection, item = item_of(request, collection_id, item_id, "view")
    return {**item_out(item), "value": item.value}


@router.delete(
    "/collections/{collection_id}/items/{item_id}", response={204: None}, summary="Delete one item"
)
def delete_item(request, collection_id: Id, item_id: Id):
    collection, item = item_of(request, collection_id, item_id, "edit_job")
    store.remove(collection, store.Query(key=item.key))
    return Status(204, None)
