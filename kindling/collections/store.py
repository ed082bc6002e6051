"""Collections: creating and deleting them, and setting, reading and removing their items. The one
implementation behind the HTTP API that jobs call through @openfn/language-collections (api.py) and
the portal's Collections pages (pages.py).

Keys are matched with patterns where `*` stands for any characters (`patient-*`, `*-2024-*`), as the
adaptor and Lightning do; items come back in the order they were first set, a page at a time, with
an opaque cursor for the next page.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from kindling.audit.log import record
from kindling.collections.models import Collection, Item
from kindling.projects.models import Project

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
KEY_MAX = 255
DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000
# Keys per statement: far below the bound parameters either database accepts in one statement.
CHUNK = 500


class CollectionError(ValueError):
    """A request refused, with the HTTP status that says why (400, 404, 413)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def megabytes(size: int) -> str:
    return f"{size / 2**20:,.1f} MB" if size >= 2**20 else f"{size / 1024:,.0f} KB"


def create_collection(project: Project, name: str, by=None) -> Collection:
    name = (name or "").strip()
    if not NAME.match(name):
        raise CollectionError(
            400,
            "A collection name is 1 to 100 letters, digits, '-', '_' or '.', starting with a letter or a "
            "digit (it is part of the URL the adaptor calls), e.g. patients-2024.",
        )
    try:
        with transaction.atomic():
            collection = Collection.objects.create(project=project, name=name)
    except IntegrityError:
        raise CollectionError(400, f"This project already has a collection named {name!r}.") from None
    record(project, by, "collection.created", name)
    return collection


def delete_collection(collection: Collection, by=None) -> None:
    """Delete a collection and every item in it."""
    collection.delete()
    record(collection.project, by, "collection.deleted", collection.name)


def collection_named(project_id: int, name: str) -> Collection:
    collection = Collection.objects.filter(project_id=project_id, name=name).first()
    if collection is None:
        raise CollectionError(
            404,
            f"This project has no collection named {name!r}: create it on the project's Collections page.",
        )
    return collection


def project_bytes(project_id: int) -> int:
    return Item.objects.filter(collection__project_id=project_id).aggregate(total=Sum("size"))["total"] or 0


def _items_in(items) -> dict[str, str]:
    """{key: value} of an upsert's items, checked; a key given twice keeps its last value."""
    if not isinstance(items, list):
        raise CollectionError(400, 'The body must be {"items": [{"key": "...", "value": "..."}, ...]}.')
    pairs: dict[str, str] = {}
    limit = settings.COLLECTIONS_ITEM_MAX_BYTES
    for index, item in enumerate(items):
        if not isinstance(item, dict) or set(item) - {"key", "value"}:
            raise CollectionError(400, f"Item {index} must be an object with a key and a value only.")
        key, value = item.get("key"), item.get("value")
        if not isinstance(key, str) or not key or len(key) > KEY_MAX:
            raise CollectionError(
                400, f"Item {index}: the key must be a string of 1 to {KEY_MAX} characters."
            )
        if "*" in key:
            raise CollectionError(400, f"Item {index}: a key cannot hold '*', which matches keys in queries.")
        if not isinstance(value, str):
            raise CollectionError(
                400, f"Item {index} ({key}): the value must be a string (the adaptor sends JSON text)."
            )
        try:
            size = len(value.encode())
            key.encode()
        except UnicodeEncodeError:
            size = -1
        if size < 0 or "\x00" in key or "\x00" in value:
            raise CollectionError(
                400, f"Item {index}: a NUL character or an unpaired surrogate (\\ud800) cannot be stored."
            )
        if size > limit:
            raise CollectionError(
                413,
                f"Item {key!r} is {megabytes(size)}, over the limit of {megabytes(limit)} per item: "
                "store it in smaller pieces.",
            )
        pairs[key] = value
    return pairs


def upsert(collection: Collection, items) -> int:
    """Set the items (insert new keys, replace the values of existing ones); how many were set.
    All or none: one over a limit refuses the whole batch."""
    pairs = _items_in(items)
    if not pairs:
        return 0
    keys = list(pairs)
    now = timezone.now()
    with transaction.atomic():
        # Writers of one project take turns, so that two batches cannot both pass the limit.
        Project.objects.select_for_update().filter(pk=collection.project_id).values_list("pk").first()
        replaced = 0
        for start in range(0, len(keys), CHUNK):
            found = Item.objects.filter(collection=collection, key__in=keys[start : start + CHUNK])
            replaced += found.aggregate(total=Sum("size"))["total"] or 0
        adding = sum(len(value.encode()) for value in pairs.values())
        total = project_bytes(collection.project_id) - replaced + adding
        limit = settings.COLLECTIONS_PROJECT_MAX_BYTES
        if total > limit:
            raise CollectionError(
                413,
                f"These items would bring the project's collections to {megabytes(total)}, over its limit "
                f"of {megabytes(limit)}: remove items it no longer needs first. Nothing was set.",
            )
        _write(collection, pairs, now)
    return len(pairs)


# One statement per CHUNK items, the same on both databases (SQLite 3.24+ and PostgreSQL know ON
# CONFLICT): the ORM's bulk_create spends three times longer preparing the rows than this does.
_UPSERT_SQL = """
    INSERT INTO {table} ({collection}, {key}, {value}, {size}, {created}, {updated}) VALUES {rows}
    ON CONFLICT ({collection}, {key}) DO UPDATE
    SET {value} = excluded.{value}, {size} = excluded.{size}, {updated} = excluded.{updated}
"""


def _write(collection: Collection, pairs: dict[str, str], now) -> None:
    connection = connections[router.db_for_write(Item)]
    meta = Item._meta
    column = {name: meta.get_field(name).column for name in ("collection", "key", "value", "size")}
    created, updated = meta.get_field("created_at"), meta.get_field("updated_at")
    stamp = created.get_db_prep_value(now, connection)
    rows = [(collection.pk, key, value, len(value.encode()), stamp, stamp) for key, value in pairs.items()]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            sql = _UPSERT_SQL.format(
                table=meta.db_table,
                created=created.column,
                updated=updated.column,
                rows=", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk)),
                **column,
            )
            cursor.execute(sql, [field for row in chunk for field in row])


def parse_time(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise CollectionError(
            400, f"{name} must be an ISO 8601 date or time, like 2024-05-01 or 2024-05-01T12:00:00Z."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# Query parameters: the adaptor sends created_after/created_before (from createdAfter/createdBefore)
# and the updated ones as the job wrote them.
TIME_FILTERS = {
    "created_after": "created_at__gte",
    "createdAfter": "created_at__gte",
    "created_before": "created_at__lt",
    "createdBefore": "created_at__lt",
    "updated_after": "updated_at__gte",
    "updatedAfter": "updated_at__gte",
    "updated_before": "updated_at__lt",
    "updatedBefore": "updated_at__lt",
}


@dataclass
class Query:
    """Which items: a key pattern and date bounds (from/after inclusive, before exclusive)."""

    key: str = "*"
    bounds: dict | None = None

    @classmethod
    def from_params(cls, params: dict, allowed=()) -> "Query":
        unknown = set(params) - set(TIME_FILTERS) - {"key", *allowed}
        if unknown:
            raise CollectionError(
                400,
                f"Unknown query parameter(s): {', '.join(sorted(unknown))}. Use key, limit, cursor, "
                "created_after, created_before, updated_after or updated_before.",
            )
        bounds = {
            TIME_FILTERS[name]: parse_time(value, name)
            for name, value in params.items()
            if name in TIME_FILTERS
        }
        return cls(key=params.get("key") or "*", bounds=bounds)

    def filter(self, items):
        items = items.filter(key_matching(self.key))
        return items.filter(**self.bounds) if self.bounds else items


def key_matching(pattern: str) -> Q:
    if pattern == "*":
        return Q()
    if "*" not in pattern:
        return Q(key=pattern)
    return Q(key__regex="^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$")


def parse_limit(value: str | None) -> int:
    if value in (None, ""):
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise CollectionError(400, f"limit must be a whole number from 1 to {MAX_LIMIT} (got {value!r}).")
    return limit


def page(
    collection: Collection,
    query: Query,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
    fields=("id", "key", "value", "created_at", "updated_at"),
) -> tuple[list[dict], str | None]:
    """(items as dicts of `fields`, cursor of the next page or None): matching items in the order
    they were first set. Dicts, not models: a page of 1,000 builds in half the time."""
    items = query.filter(collection.items.all())
    if cursor:
        if not cursor.isdigit():
            raise CollectionError(400, "cursor must be the value a previous page gave.")
        items = items.filter(pk__gt=int(cursor))
    found = list(items.order_by("pk").values("id", *fields)[: limit + 1])
    more = len(found) > limit
    found = found[:limit]
    return found, (str(found[-1]["id"]) if more else None)


def remove(collection: Collection, query: Query) -> list[str]:
    """Remove the matching items; their keys."""
    with transaction.atomic():
        found = query.filter(collection.items.all())
        keys = list(found.values_list("key", flat=True))
        found.delete()
    return keys
