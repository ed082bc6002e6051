"""The token a run gets to use its project's collections: signed, naming the run and its project,
and good only while that run is running (and never longer than the instance's run timeout)."""

from django.conf import settings
from django.core import signing

from kindling.runs.models import Run

SALT = "kindling.collections.run-token"


def issue(run: Run) -> str:
    return signing.dumps({"project": run.project_id, "run": run.pk}, salt=SALT)


def project_of(token: str) -> int | None:
    """The project whose collections `token` opens, or None (forged, expired, or its run ended)."""
    try:
        claims = signing.loads(token, salt=SALT, max_age=settings.RUN_TIMEOUT_SECONDS + 60)
        project_id, run_id = int(claims["project"]), int(claims["run"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    running = Run.objects.filter(pk=run_id, project_id=project_id, status=Run.Status.RUNNING).exists()
    return project_id if running else None


def uses_collections(adaptor: str, expression: str) -> bool:
    """Whether a job calls collections: its adaptor is the collections adaptor, or its code names
    `collections.` (as Lightning decides when it gives a run the collections adaptor)."""
    return adaptor == "@openfn/language-collections" or "collections." in (expression or "")


def configuration_with_collections(configuration, run: Run) -> dict:
    """The run's configuration plus what the adaptor reads there: the endpoint and the token."""
    return {
        **(configuration if isinstance(configuration, dict) else {}),
        "collections_endpoint": settings.COLLECTIONS_URL,
        "collections_token": issue(run),
    }
