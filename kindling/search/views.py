from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from kindling.projects.access import project_for
from kindling.runs.filters import HistoryFilters
from kindling.search.console import DEFAULT_KINDS, KINDS, BadSearch, search


@dataclass
class SearchFilters(HistoryFilters):
    FULL_TEXT = False
    kinds: list[str] = field(default_factory=lambda: list(DEFAULT_KINDS))

    @classmethod
    def from_params(cls, params) -> "SearchFilters":
        filters = cls()
        filters.read_common(params)
        filters.kinds = params.getlist("kinds") or list(DEFAULT_KINDS)
        return filters


@login_required
def search_console(request, slug):
    project = project_for(request.user, slug)
    filters = SearchFilters.from_params(request.GET)
    found, error = None, None
    if "q" in request.GET:
        try:
            found = search(project, filters.text, filters.kinds, filters.span(project))
        except BadSearch as exc:
            error = str(exc)
    context = {
        "project": project,
        "filters": filters,
        "kinds": KINDS,
        "found": [(kind, KINDS[kind], hits) for kind, hits in (found or {}).items()],
        "searched": found is not None,
        "error": error,
    }
    return render(request, "search/console.html", context, status=400 if error else 200)
