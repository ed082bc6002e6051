"""Limit/offset paging for API lists: `{"items": [...], "count": N, "limit": L, "offset": O}`."""

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def page(queryset, limit: int, offset: int, serialize) -> dict:
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, offset)
    items = [serialize(obj) for obj in queryset[offset : offset + limit]]
    count = len(queryset) if isinstance(queryset, list) else queryset.count()
    return {"items": items, "count": count, "limit": limit, "offset": offset}
