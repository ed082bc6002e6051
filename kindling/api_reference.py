"""The API reference at /api/v1/docs: Swagger UI from the npm package swagger-ui-dist, served as
Kindling's static files (vendor/swagger-ui), started by a static script. Ninja's own page loads it from
a CDN, or runs an inline script, which the Content-Security-Policy (kindling/security.py) refuses."""

from django.shortcuts import render
from django.urls import reverse
from ninja.openapi.docs import DocsBase


class ApiReference(DocsBase):
    def render_page(self, request, api, **kwargs):
        url = reverse(f"{api.urls_namespace}:openapi-json", kwargs=kwargs)
        return render(request, "api/reference.html", {"api": api, "settings": {"url": url}})
