"""The portal's Collections pages: a project's collections, their items (search by key pattern),
one item, and creating and deleting them. Every member may use them (collaborators included): jobs
of the project read and write the same data."""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from kindling.collections import store
from kindling.collections.models import Collection
from kindling.collections.store import CollectionError
from kindling.projects.access import project_for
from kindling.runs.views import pretty_json

PAGE_SIZE = 50


def collection_of(request, slug, collection_id, action="view"):
    project = project_for(request.user, slug, action)
    return project, get_object_or_404(Collection, pk=collection_id, project=project)


@login_required
def collection_list(request, slug):
    project = project_for(request.user, slug, "edit_job" if request.method == "POST" else "view")
    name = ""
    if request.method == "POST":
        name = request.POST.get("name", "")
        try:
            collection = store.create_collection(project, name, request.user)
        except CollectionError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Collection {collection.name} created.")
            return redirect("collection-detail", project.slug, collection.pk)
    context = {
        "project": project,
        "collections": project.collections.annotate(item_count=Count("items")).order_by("name"),
        "name": name,
        "used": store.megabytes(store.project_bytes(project.pk)),
        "limit": store.megabytes(settings.COLLECTIONS_PROJECT_MAX_BYTES),
        "item_limit": store.megabytes(settings.COLLECTIONS_ITEM_MAX_BYTES),
    }
    return render(request, "collections/collection_list.html", context)


@login_required
def collection_detail(request, slug, collection_id):
    project, collection = collection_of(request, slug, collection_id)
    pattern = request.GET.get("key", "").strip() or "*"
    cursor = request.GET.get("cursor", "")
    error = None
    try:
        items, next_cursor = store.page(
            collection, store.Query(key=pattern), cursor or None, PAGE_SIZE, ("key", "size", "updated_at")
        )
    except CollectionError as exc:
        items, next_cursor, error = [], None, str(exc)
    context = {
        "project": project,
        "collection": collection,
        "items": items,
        "total": collection.items.count(),
        "pattern": "" if pattern == "*" else pattern,
        "next_cursor": next_cursor,
        "paged": bool(cursor),
        "error": error,
    }
    return render(request, "collections/collection_detail.html", context)


@login_required
@require_POST
def collection_delete(request, slug, collection_id):
    project, collection = collection_of(request, slug, collection_id, "edit_job")
    if request.POST.get("confirm") != "yes":
        messages.error(
            request, f"Tick the box to confirm that collection {collection.name} and its items go."
        )
        return redirect("collection-detail", project.slug, collection.pk)
    store.delete_collection(collection, request.user)
    messages.success(request, f"Collection {collection.name} deleted with its items.")
    return redirect("collection-list", project.slug)


@login_required
def item_detail(request, slug, collection_id, item_id):
    project, collection = collection_of(request, slug, collection_id)
    item = get_object_or_404(collection.items, pk=item_id)
    try:
        shown = pretty_json(json.loads(item.value))
    except ValueError:
        shown = item.value  # set through the API as text that is not JSON
    context = {"project": project, "collection": collection, "item": item, "value": shown}
    return render(request, "collections/item_detail.html", context)


@login_required
@require_POST
def item_delete(request, slug, collection_id, item_id):
    project, collection = collection_of(request, slug, collection_id, "edit_job")
    item = get_object_or_404(collection.items, pk=item_id)
    store.remove(collection, store.Query(key=item.key))
    messages.success(request, f"Item {item.key} deleted from {collection.name}.")
    return redirect("collection-detail", project.slug, collection.pk)
