"""GET /healthz, GET /readyz and GET /metrics: for load balancers, orchestrators and Prometheus.
No login (a probe has no session) and nothing secret in the answers: counts and yes/no only."""

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kindling.ops import health, metrics


@never_cache
@require_GET
def healthz(request):
    """The process answers: nothing else is looked at (a database outage is /readyz's business)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    ready, checks = health.readiness()
    return JsonResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503
    )


@never_cache
@require_GET
def metrics_view(request):
    token = settings.METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            response = JsonResponse(
                {"error": "Send the metrics token (KINDLING_METRICS_TOKEN) as `Authorization: Bearer ...`."},
                status=401,
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    return HttpResponse(metrics.exposition(), content_type=metrics.CONTENT_TYPE)
