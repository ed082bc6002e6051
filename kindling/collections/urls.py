from django.urls import path

from kindling.collections import pages

# Included under projects/<slug:slug>/
urlpatterns = [
    path("collections", pages.collection_list, name="collection-list"),
    path("collections/<int:collection_id>", pages.collection_detail, name="collection-detail"),
    path("collections/<int:collection_id>/delete", pages.collection_delete, name="collection-delete"),
    path("collections/<int:collection_id>/items/<int:item_id>", pages.item_detail, name="collection-item"),
    path(
        "collections/<int:collection_id>/items/<int:item_id>/delete",
        pages.item_delete,
        name="collection-item-delete",
    ),
]
